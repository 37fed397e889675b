# Copyright (c) mmlwgan contributors. All rights reserved.
"""Motion imitation: the source person performs the reference's motion."""
from contextlib import closing
from typing import Any, Dict, List, Optional, Union

import numpy as np
import torch

from mmlwgan.registry import INFERENCERS
from .base_lwgan_inferencer import BaseLWGANInferencer, Sink
from .camera_strategies import CAM_STRATEGIES, compose_target_thetas
from .inputs import open_reference, resize_image
from .smoothing import SMOOTH_METHODS, smooth_thetas
from .utils import InferenceRun, as_uint8

__all__ = ['MotionImitationInferencer']


@INFERENCERS.register_module()
class MotionImitationInferencer(BaseLWGANInferencer):
    """Make the source person perform the reference's motion.

    The target of each reference frame is the source's shape in the
    reference's pose, seen through a camera given by ``cam_strategy``
    (:mod:`~mmlwgan.apis.inferencers.camera_strategies`). The source(s) are
    encoded once (``generator.encode_sources``); frames are synthesized in
    batches and written as they are made (the reference is streamed: a
    long video is never held in memory). Several source images (e.g. front
    and back) are fused by the generator.

    See :class:`BaseLWGANInferencer` for the constructor.

    Examples:
        >>> inferencer = MotionImitationInferencer(
        ...     'configs/lwgan/lwgan_lwb_1xb4-30e_iper-256.py',
        ...     'checkpoints/lwgan_iper.pth')
        >>> result = inferencer('person.jpg', 'dance.mp4',
        ...                     out_dir='outputs', side_by_side=True)
        >>> result['video']
        'outputs/person-dance.mp4'
    """

    task = 'imitation'
    call_args = ('src', 'ref', 'src_smpl', 'ref_smpl', 'out_dir')
    preprocess_kwargs = BaseLWGANInferencer.preprocess_kwargs | {
        'ref', 'ref_smpl', 'ref_bbox', 'on_missing_person', 'cam_strategy',
        'smooth', 'smooth_method'
    }
    forward_kwargs = BaseLWGANInferencer.forward_kwargs | {'fast'}

    def __call__(self, src: Any, ref: Any, src_smpl: Any = None,
                 ref_smpl: Any = None, out_dir: Optional[str] = None,
                 **kwargs: Any) -> Dict[str, Any]:
        """Run motion imitation.

        Every keyword reaches one stage: ``preprocess_kwargs`` (inputs,
        targets, personalisation), ``forward_kwargs`` (synthesis),
        ``visualize_kwargs`` (``side_by_side``) or ``postprocess_kwargs``
        (``out_dir``, ``save_frames``, ``return_frames``, ``fps``); an
        unknown keyword raises a ``ValueError`` naming it.

        Args:
            src: source image path, folder of source images (front, back,
                ...), RGB array(s) or list of paths.
            ref: reference video, image, folder of images, SMPL sequence
                file (``pose_shape.pkl`` / ``.npz`` / ``.npy``) or (N, 85)
                theta array, or RGB array(s).
            src_smpl: SMPL of the source(s) ((85,) / (S, 85) array or file);
                default: the model's HMR.
            ref_smpl: SMPL of the reference frames (one per frame); default:
                HMR (or the reference itself when it is a SMPL sequence).
            out_dir (str, optional): output folder. None writes nothing and
                returns the frames.
            output_name (str, optional): base name of the outputs; default
                ``<source>-<reference>``.
            batch_size (int): frames synthesized together.
            cam_strategy (str): ``'smooth'``, ``'source'`` or ``'copy'``.
            smooth (bool | int): temporal smoothing of the reference SMPL
                (True: window 5; an int: the window in frames).
            smooth_method (str): ``'savgol'``, ``'gaussian'``, ``'mean'`` or
                ``'one_euro'``.
            background: ``'generated'`` (G_BG inpainting of the source),
                ``'original'`` (source background, G_BG inside the body),
                ``'inpainted'`` (source background, the body region filled
                by ``cv2.inpaint``) or
                an image path / RGB array.
            front_warp (bool): paste the directly warped face pixels.
            side_by_side (bool): also write ``<name>_side_by_side.mp4``
                (source | reference | result).
            save_frames (bool): also write ``<name>_frames/*.png``.
            return_frames (bool, optional): return the frames (default: only
                when ``out_dir`` is None).
            src_bbox, ref_bbox: person boxes ``(x1, y1, x2, y2)`` in pixels
                (one, or one per image / frame) for HMR crops.
            on_missing_person (str): when the detector finds nobody in a
                reference frame: ``'error'`` or ``'previous'``.
            personalize_steps (int): fine-tune the generator on the source
                first (0: off).
            personalize_lr (float, optional): its learning rate (2e-4).
            personalized_weights (str, optional): load personalised
                generator weights instead of fine-tuning.
            save_personalized (str, optional): save the fine-tuned weights.
            fps (float): output frame rate. Defaults to 30.
            fast (bool): the optimised path
                (:class:`~mmlwgan.apis.inferencers.fast_path.
                ImitationPipeline`): G_TSF through
                :class:`~mmlwgan.apis.inferencers.fast_path.FastTSF`, the
                geometry of the next batch and the writing of the previous
                one in worker threads. Same frames within float tolerance
                (at most 1 in uint8). False: the plain path, batch by batch.
                None (default): the optimised path where it pays, i.e. on
                CUDA and from 128 px up (with a tiny 64 px model the
                threads' hand-offs cost about what they save: 307 vs 275
                frames/s plain, 420 vs 620 with a side-by-side video).

        Returns:
            dict: ``video``, ``side_by_side``, ``frames_dir`` (paths or
            None), ``num_frames``, ``fps``, ``frames`` (list of (H, W, 3)
            uint8 RGB or None), ``src_smpl`` (S, 85), ``ref_smpl`` (N, 85)
            (after smoothing) and ``tgt_smpl`` (N, 85) (the synthesized
            targets).
        """
        return super().__call__(src, ref, src_smpl, ref_smpl, out_dir,
                                **kwargs)

    def preprocess(self,
                   src: Any,
                   ref: Any,
                   src_smpl: Any = None,
                   ref_smpl: Any = None,
                   output_name: Optional[str] = None,
                   batch_size: int = 8,
                   cam_strategy: str = 'smooth',
                   smooth: Union[bool, int] = False,
                   smooth_method: str = 'savgol',
                   background: Any = 'generated',
                   src_bbox: Any = None,
                   ref_bbox: Any = None,
                   on_missing_person: str = 'error',
                   personalize_steps: int = 0,
                   personalize_lr: Optional[float] = None,
                   personalized_weights: Optional[str] = None,
                   save_personalized: Optional[str] = None) -> InferenceRun:
        """Read the sources and the reference, make the target thetas and
        personalise the generator when asked (see :meth:`__call__` for the
        arguments); nothing is written."""
        if cam_strategy not in CAM_STRATEGIES:
            raise ValueError(f'unknown cam_strategy {cam_strategy!r}; choose '
                             f'one of {CAM_STRATEGIES}')
        if smooth_method not in SMOOTH_METHODS:
            raise ValueError(f'unknown smooth_method {smooth_method!r}; '
                             f'choose one of {SMOOTH_METHODS}')
        bg_opt = self.resolve_background(background)
        state = self.prepare_sources(src, src_smpl, src_bbox)
        ref_src = open_reference(ref, ref_smpl, 'reference',
                                 self.body_model.num_betas)
        ref_thetas = self.reference_thetas(ref_src, ref_bbox, batch_size,
                                           on_missing_person)
        if smooth:
            window = 5 if smooth is True else int(smooth)
            ref_thetas = smooth_thetas(ref_thetas, window, smooth_method)
        src_theta = state.theta[0].cpu().numpy()
        tgt = compose_target_thetas(src_theta, ref_thetas, cam_strategy)
        name = self._output_name(output_name, state.name, ref_src.name)
        self.apply_personalization(state, personalize_steps, personalize_lr,
                                   personalized_weights, save_personalized)
        return InferenceRun(
            name, state, bg_opt, batch_size, len(tgt),
            results=dict(src_smpl=state.theta.cpu().numpy(),
                         ref_smpl=ref_thetas, tgt_smpl=tgt),
            ref_src=ref_src, ref_thetas=ref_thetas, tgt=tgt, ref_frames=None)

    def forward(self, run: InferenceRun, sink: Sink,
                front_warp: bool = False,
                fast: Optional[bool] = None) -> None:
        """Encode the sources once, then synthesize the targets batch by
        batch into ``sink``.

        Args:
            run (InferenceRun): from :meth:`preprocess`.
            sink (callable): receives every batch (see
                :meth:`BaseLWGANInferencer.forward`).
            front_warp (bool): paste the directly warped face pixels.
            fast (bool, optional): the optimised path (see
                :meth:`__call__`); None: on CUDA and from 128 px up.
        """
        tgt, n, batch_size = run.tgt, run.num_frames, run.batch_size
        with torch.inference_mode():
            enc = self.encode_sources(run.state, run.background)
            if fast is None:
                fast = (self.device.type == 'cuda'
                        or min(self.image_size) >= 128)
            if fast:
                from .fast_path import ImitationPipeline
                pipe = ImitationPipeline(
                    self, enc, batch_size, fast=self.fast_tsf() or False,
                    overlap=True, front_warp=front_warp)
                bar = self._progress(None, n, 'imitation')

                def emit(frames, start):  # in the pipeline's emit thread
                    sink(dict(frames=frames, start=start))
                    if bar is not None:
                        bar.update(len(frames))

                try:
                    pipe.run(tgt, emit)
                finally:
                    if bar is not None:
                        bar.close()
                return
            for start in self._progress(range(0, n, batch_size),
                                        -(-n // batch_size), 'imitation'):
                stop = min(start + batch_size, n)
                theta = torch.from_numpy(tgt[start:stop]).to(self.device)
                ndc, _ = self.project(theta)
                out = self.decode(enc, ndc, front_warp)
                sink(dict(img=out['img'], start=start))

    def side_panels(self, run: InferenceRun, preds: Dict[str, Any],
                    num: int) -> List[np.ndarray]:
        """The reference frames of the batch (read in step with the
        results), or shaded renders of the reference meshes for a SMPL
        reference."""
        if run.ref_src.has_frames:
            if run.ref_frames is None:
                run.ref_frames = run.hold(closing(run.ref_src.frames()))
            return [resize_image(next(run.ref_frames), self.image_size)
                    for _ in range(num)]
        start = preds['start']
        ref_ndc, _ = self.project(torch.from_numpy(
            run.ref_thetas[start:start + num]).to(self.device))
        return as_uint8(self.render_bodies(ref_ndc))


INFERENCERS.register_module(name='motion_imitation',
                            module=MotionImitationInferencer)

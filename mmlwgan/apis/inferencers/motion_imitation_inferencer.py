# Copyright (c) mmlwgan contributors. All rights reserved.
"""Motion imitation: the source person performs the reference's motion."""
from typing import Any, Dict, Optional, Union

import torch

from mmlwgan.registry import INFERENCERS
from .base_lwgan_inferencer import BaseLWGANInferencer
from .utils import OutputWriter, as_uint8, side_by_side_frame
from .camera_strategies import CAM_STRATEGIES, compose_target_thetas
from .inputs import open_reference, resize_image
from .smoothing import SMOOTH_METHODS, smooth_thetas

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

    def __call__(self,
                 src: Any,
                 ref: Any,
                 src_smpl: Any = None,
                 ref_smpl: Any = None,
                 out_dir: Optional[str] = None,
                 *,
                 output_name: Optional[str] = None,
                 batch_size: int = 8,
                 cam_strategy: str = 'smooth',
                 smooth: Union[bool, int] = False,
                 smooth_method: str = 'savgol',
                 background: Any = 'generated',
                 front_warp: bool = False,
                 side_by_side: bool = False,
                 save_frames: bool = False,
                 return_frames: Optional[bool] = None,
                 src_bbox: Any = None,
                 ref_bbox: Any = None,
                 on_missing_person: str = 'error',
                 personalize_steps: int = 0,
                 personalize_lr: Optional[float] = None,
                 personalized_weights: Optional[str] = None,
                 save_personalized: Optional[str] = None,
                 fps: float = 30.0,
                 fast: Optional[bool] = None) -> Dict[str, Any]:
        """Run motion imitation.

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
                ``'original'`` (source background, G_BG inside the body) or
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
        self.check_common(batch_size, fps)
        if cam_strategy not in CAM_STRATEGIES:
            raise ValueError(f'unknown cam_strategy {cam_strategy!r}; choose '
                             f'one of {CAM_STRATEGIES}')
        if smooth_method not in SMOOTH_METHODS:
            raise ValueError(f'unknown smooth_method {smooth_method!r}; '
                             f'choose one of {SMOOTH_METHODS}')
        if return_frames is None:
            return_frames = out_dir is None
        # --- everything is validated before any output is opened
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

        writer = OutputWriter(out_dir, name, save_video=True,
                              side_by_side=side_by_side,
                              save_frames=save_frames, fps=fps,
                              keep_frames=return_frames)
        n = len(tgt)
        labels = (['source', 'reference', 'result']
                  if self.image_size[0] >= 96 else None)
        with torch.inference_mode(), writer:
            enc = self.encode_sources(state, bg_opt)
            ref_frames = (ref_src.frames() if side_by_side
                          and ref_src.has_frames else None)

            def emit(frames, start):
                stop = start + len(frames)
                sbs = None
                if side_by_side:
                    if ref_frames is not None:
                        panels = [resize_image(next(ref_frames),
                                               self.image_size)
                                  for _ in range(stop - start)]
                    else:
                        ref_ndc, _ = self.project(torch.from_numpy(
                            ref_thetas[start:stop]).to(self.device))
                        panels = as_uint8(self.render_bodies(ref_ndc))
                    sbs = [
                        side_by_side_frame([state.images[0], p, f], labels)
                        for p, f in zip(panels, frames)
                    ]
                writer.write(frames, sbs)

            if fast is None:
                fast = (self.device.type == 'cuda'
                        or min(self.image_size) >= 128)
            try:
                if fast:
                    from .fast_path import ImitationPipeline
                    pipe = ImitationPipeline(
                        self, enc, batch_size, fast=self.fast_tsf() or False,
                        overlap=True, front_warp=front_warp)
                    bar = self._progress(None, n, 'imitation')

                    def sink(frames, start):
                        emit(frames, start)
                        if bar is not None:
                            bar.update(len(frames))

                    try:
                        pipe.run(tgt, sink)
                    finally:
                        if bar is not None:
                            bar.close()
                else:
                    for start in self._progress(range(0, n, batch_size),
                                                -(-n // batch_size),
                                                'imitation'):
                        stop = min(start + batch_size, n)
                        theta = torch.from_numpy(tgt[start:stop]).to(
                            self.device)
                        ndc, _ = self.project(theta)
                        out = self.decode(enc, ndc, front_warp)
                        emit(self.visualize(None, out['img']), start)
            finally:
                if ref_frames is not None:
                    ref_frames.close()
        return self.postprocess(
            writer,
            dict(src_smpl=state.theta.cpu().numpy(), ref_smpl=ref_thetas,
                 tgt_smpl=tgt),
            return_frames=return_frames)


INFERENCERS.register_module(name='motion_imitation',
                            module=MotionImitationInferencer)

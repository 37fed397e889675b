# Copyright (c) mmlwgan contributors. All rights reserved.
"""Shared machinery of the Liquid Warping GAN inferencers.

The inferencers follow mmengine's ``BaseInferencer`` contract (as mmpose's
``BaseMMPoseInferencer`` does): a call's keyword arguments are split by name
into the four sets ``preprocess_kwargs``, ``forward_kwargs``,
``visualize_kwargs`` and ``postprocess_kwargs`` (mmengine's
``_dispatch_kwargs``; an unknown name is an error naming it) and run through
the four stages:

1. :meth:`~BaseLWGANInferencer.preprocess`: everything is read and validated
   before any output is opened. Source images are read and resized, their
   SMPL parameters taken from the user or estimated with the model's HMR
   (:mod:`.smpl_estimation`: on a person crop from a detector or a user box,
   else on the whole frame), every source must show a person
   (:class:`~mmlwgan.utils.errors.NoPersonError` otherwise); the task's
   targets are made (reference SMPL, views...), the generator personalised
   when asked. The result is an :class:`InferenceRun`.
2. :meth:`~BaseLWGANInferencer.forward`: the source stream G_SID runs once
   (``generator.encode_sources``), the background is made once, then the
   targets are decoded in batches (one batched rasterization, the flows to
   every source, the condition maps, I_syn and G_TSF); every batch goes to a
   sink as soon as it is made (the optimised imitation path emits from a
   worker thread).
3. :meth:`~BaseLWGANInferencer.visualize`: a batch's predictions -> uint8
   frames, and the side-by-side composites (source | reference or view |
   result) when asked.
4. :meth:`~BaseLWGANInferencer.postprocess`: the result dict (output paths,
   frame count, frames, SMPL parameters).

Between 2 and 3 the frames are streamed to an :class:`OutputWriter` (an
mp4, 30 fps, :class:`~mmlwgan.utils.AtomicVideoWriter`; an optional
side-by-side mp4 and PNG folder): a long reference is never held in memory,
and nothing appears on disk unless the whole run succeeds.

What 'no person' means: with a detector (``detector='hog'``, OpenCV's HOG
people detector, the CLIs' default; or an mmdet model), no person box scoring
at least ``det_score_thr`` in a source image (also when its SMPL is given) or
in a reference frame whose SMPL is estimated; whatever the SMPL source, a
source body mesh that covers
less than ``min_person_area`` of the image (off-screen, degenerate camera),
or an HMR camera scale that is not positive.
"""
import copy
import inspect
import os
import os.path as osp
from abc import abstractmethod
from typing import (Any, Callable, Dict, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.infer import BaseInferencer
from torch import Tensor, nn

from mmlwgan.models.editors.background import BACKGROUNDS
from mmlwgan.preprocessing.detector_builder import build_person_detector
from mmlwgan.utils.errors import InferenceInputError, NoPersonError
from ..inference import _load_config, init_model, load_model_weights
from ..personalization import load_personalized, personalize
from .body_parts import BodyPartsMixin
from .inputs import load_smpl, load_source_images, read_image, resize_image
from .smpl_estimation import SMPLEstimationMixin
from .utils import (InferenceRun, OutputWriter, SourceState, as_uint8,
                    side_by_side_frame)

__all__ = ['BaseLWGANInferencer', 'SourceState', 'InferenceRun']

BackgroundType = Union[str, np.ndarray, None]
Sink = Callable[[Dict[str, Any]], None]
_STAGES = ('preprocess', 'forward', 'visualize', 'postprocess')


# ----------------------------------------------------------------------
# the inferencer
# ----------------------------------------------------------------------
class BaseLWGANInferencer(SMPLEstimationMixin, BodyPartsMixin,
                          BaseInferencer):
    """Base of the Liquid Warping GAN inferencers (mmengine
    ``BaseInferencer``).

    Args:
        model (str | Config | dict | nn.Module): config file / object of a
            ``LiquidWarpingGAN``, or a built model.
        weights (str, optional): checkpoint path (see
            :func:`~mmlwgan.apis.init_model`).
        device (str, optional): defaults to CUDA when available, else CPU.
        scope (str): registry scope. Defaults to ``'mmlwgan'``.
        show_progress (bool): tqdm progress bars. Defaults to True.
        progress_callback (callable, optional): also told the progress of
            every stage as ``callback(stage, done, total)``
            (:mod:`mmlwgan.apis.progress`); settable later as the
            attribute of the same name.
        cfg_options (dict, optional): config overrides.
        detector: person detector for HMR crops (see
            :func:`mmlwgan.preprocessing.build_person_detector`): ``'hog'``
            is OpenCV's HOG people detector (nothing to download; the
            default of the demo CLIs), an mmdet ``dict(config=...,
            checkpoint=...)`` the accurate option, or a callable. With a
            detector every source image must show a person, even when its
            SMPL parameters are given (a user box, ``src_bbox``, skips
            that). None: no detection; HMR sees the whole frame (or the
            user's boxes).
        det_score_thr (float): detector threshold ('no person' below it).
        det_cat_id (int): person class of an mmdet detector.
        part_file (str, optional): the release's ``smpl_part_info.json``
            (``{part: {'face': [...]}}``) for a body model file without
            ``face_part_labels``.
        front_face_file (str, optional): the release's
            ``front_facial.json`` (``{'face': [...]}``): faces pasted by the
            front-face warp. Default: head faces looking forward.
        min_person_area (float): smallest fraction of the image a source
            body must cover. Defaults to 0.002.
        retain_freed_memory (bool): on the CPU, make glibc keep freed
            memory for reuse instead of re-faulting every activation's pages
            each frame (:func:`mmlwgan.utils.retain_freed_memory`: ~1.2x
            faster at 256 px). It is process-wide and stays once made (the
            process keeps its peak heap); ``MMLWGAN_RETAIN_FREED_MEMORY=0``
            also refuses it. No effect on CUDA. Defaults to True (CLI:
            ``--no-retain-memory``).

    Calling an inferencer runs the task (see the task classes for the
    arguments): the positional arguments are named by ``call_args``, and
    every keyword belongs to exactly one of the four ``*_kwargs`` sets
    (mmengine's contract), which say which stage it reaches.
    """

    #: name used in output file names
    task = 'lwgan'
    #: the names of the positional call arguments, in order
    call_args: Tuple[str, ...] = ('src', 'src_smpl', 'out_dir')
    #: keyword names of :meth:`preprocess` (inputs and targets)
    preprocess_kwargs = {
        'src', 'src_smpl', 'src_bbox', 'output_name', 'batch_size',
        'background', 'personalize_steps', 'personalize_lr',
        'personalized_weights', 'save_personalized'
    }
    #: keyword names of :meth:`forward` (synthesis)
    forward_kwargs = {'front_warp'}
    #: keyword names of :meth:`visualize` (the frames shown)
    visualize_kwargs = {'side_by_side'}
    #: keyword names of :meth:`postprocess` (outputs written and returned)
    postprocess_kwargs = {'out_dir', 'save_frames', 'return_frames', 'fps'}
    #: labels of the side-by-side panels (images of at least 96 px)
    panel_labels: Tuple[str, ...] = ('source', 'reference', 'result')

    def __init__(self,
                 model: Union[str, Config, dict, nn.Module],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = 'mmlwgan',
                 show_progress: bool = True,
                 cfg_options: Optional[dict] = None,
                 detector: Any = None,
                 det_score_thr: float = 0.5,
                 det_cat_id: int = 0,
                 part_file: Optional[str] = None,
                 front_face_file: Optional[str] = None,
                 min_person_area: float = 0.002,
                 progress_callback: Optional[Callable] = None,
                 retain_freed_memory: bool = True) -> None:
        from mmlwgan.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        if device is None:
            device = 'cuda' if torch.cuda.is_available() else 'cpu'
        if isinstance(model, nn.Module):
            self._prebuilt = model
            cfg = copy.deepcopy(getattr(model, 'cfg', None) or ConfigDict())
            if not isinstance(cfg, (Config, ConfigDict)):
                cfg = ConfigDict(cfg)
        else:
            self._prebuilt = None
            cfg = _load_config(model, cfg_options)
        if weights is not None and not osp.isfile(os.fspath(weights)):
            raise FileNotFoundError(
                f'checkpoint file {os.fspath(weights)!r} does not exist '
                '(mmlwgan never downloads weights: give the path of a file '
                'you have)')
        super().__init__(model=cfg, weights=weights, device=device,
                         scope=scope, show_progress=show_progress)
        self.device = torch.device(device)
        if self.device.type == 'cpu' and retain_freed_memory:
            from mmlwgan.utils import retain_freed_memory as retain
            retain()  # the documented option above
        self.detector = build_person_detector(detector, str(device),
                                              det_score_thr, det_cat_id)
        self.det_score_thr = det_score_thr
        self.min_person_area = min_person_area
        self.progress_callback = progress_callback
        self.part_file = part_file
        self.front_face_file = front_face_file
        self._part_labels = None
        self._front_faces = None
        self._base_generator_state = None
        self._personalized = False
        self._fast_tsf = None

    # ---------------------------------------------------- BaseInferencer
    def _init_model(self, cfg, weights, device) -> nn.Module:
        if self._prebuilt is not None:
            model = self._prebuilt
            if weights is not None:
                load_model_weights(model, weights)
            return model.to(device).eval()
        return init_model(cfg, weights, device)

    def _init_pipeline(self, cfg) -> Callable:
        size = tuple(self.model.flow_composer.rasterizer.image_size)

        def load(img):
            return resize_image(read_image(img), size)

        return load

    def _init_collate(self, cfg) -> Callable:
        return pseudo_collate

    def _init_visualizer(self, cfg):
        return None

    # ------------------------------------------------------------ basics
    @property
    def image_size(self) -> Tuple[int, int]:
        """(H, W) of the model's images."""
        return tuple(self.model.flow_composer.rasterizer.image_size)

    @property
    def body_model(self) -> nn.Module:
        return self.model.body_model

    @property
    def faces(self) -> Tensor:
        return self.model.body_model.faces

    def _progress(self, iterable, total: Optional[int] = None,
                  desc: str = ''):
        """``iterable`` with a tqdm bar (``show_progress``) and/or the
        ``progress_callback`` told of every step; with ``iterable=None`` a
        bar to ``update()`` / ``close()`` by hand (None when nothing
        reports progress)."""
        from ..progress import progress_bar
        return progress_bar(iterable, total, desc, self.show_progress,
                            self.progress_callback)

    def to_tensor(self, images: Sequence[np.ndarray]) -> Tensor:
        """uint8 RGB images (resized) -> (N, 3, H, W) in [-1, 1] on the
        device."""
        arr = np.stack([resize_image(i, self.image_size) for i in images])
        t = torch.from_numpy(arr).to(self.device).permute(0, 3, 1, 2)
        return t.float() / 127.5 - 1.0

    # ---------------------------------------------------------- geometry
    def project(self, theta: Tensor,
                pose: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """(N, 85) thetas -> NDC vertices (N, V, 3) and NDC keypoints
        (:meth:`LiquidWarpingGAN.project`; ``pose`` overrides the
        theta's)."""
        return self.model.project(theta, pose=pose)

    def rasterize(self, ndc: Tensor):
        """Fragments of (N, V, 3) NDC meshes (the model's rasterizer)."""
        return self.model.flow_composer.rasterize(ndc, self.faces)

    def source_inputs(self, imgs: Tensor, theta: Tensor) -> Dict[str, Tensor]:
        """Each image as a one-source set: :meth:`LiquidWarpingGAN.
        source_geometry` and ``source_inputs`` with N = len(imgs), S = 1
        (``src_ndc`` (N, 1, V, 3), ``src_fragments``, ``src_visible``,
        ``src_body`` (N, 1, 1, H, W), ``src_inputs`` (N, 1, 6, H, W)...).
        """
        ndc, _ = self.project(theta)
        geo = self.model.source_geometry(ndc[:, None])
        geo.update(self.model.source_inputs(imgs[:, None], geo))
        return geo

    def check_person(self, body: Tensor, what: str, smpl_from: str) -> None:
        """Raise :class:`NoPersonError` for silhouettes (N, 1, H, W) that
        cover less than ``min_person_area`` of the image."""
        H, W = body.shape[-2:]
        need = max(1, int(np.ceil(self.min_person_area * H * W)))
        counts = body.flatten(1).sum(1)
        for k, c in enumerate(counts.tolist()):
            if c < need:
                raise NoPersonError(
                    f'no person in {what} {k}: the body mesh (SMPL from '
                    f'{smpl_from}) covers {int(c)} of {H * W} pixels (needs '
                    f'{need}); check the SMPL camera or the person box')

    # ---------------------------------------------------------- sources
    def prepare_sources(self, src: Any, src_smpl: Any = None,
                        src_bbox: Any = None) -> SourceState:
        """Read the source image(s) and get their SMPL parameters; check
        that each shows a person."""
        images, name = load_source_images(src)
        S = len(images)
        if src_smpl is not None:
            theta = load_smpl(src_smpl, 'source SMPL',
                              self.body_model.num_betas)
            if theta.shape[0] != S:
                raise InferenceInputError(
                    f'source SMPL has {theta.shape[0]} entries but there '
                    f'are {S} source images: give one theta per source')
            smpl_from = 'the given source SMPL'
            if src_bbox is None:  # a user box says where the person is
                self.detect_persons(images, 'source image', 'src_bbox')
        else:
            boxes = self._boxes(src_bbox, S, 'source image', 'src_bbox')
            theta = self.estimate_smpl(images, boxes, 'source image',
                                       'src_smpl')
            smpl_from = 'HMR'
        resized = [resize_image(i, self.image_size) for i in images]
        imgs = self.to_tensor(resized)
        theta_t = torch.from_numpy(theta).to(self.device)
        with torch.no_grad():
            ndc, _ = self.project(theta_t)
            body = (self.rasterize(ndc).face_idx >= 0).unsqueeze(1)
        self.check_person(body, 'source image', smpl_from)
        return SourceState(name, resized, imgs, theta_t, smpl_from)

    def resolve_background(self, background: BackgroundType
                           ) -> Union[str, Tensor]:
        """Validate the background option: ``'generated'`` (G_BG, default),
        ``'original'`` (the source's own background, G_BG inside the body
        region), ``'inpainted'`` (the source's own background, the body
        region filled by ``cv2.inpaint``) or an image path / RGB array
        (resized)."""
        if background is None or (isinstance(background, str)
                                  and background in BACKGROUNDS):
            return background or 'generated'
        img = read_image(background, 'background image')
        return self.to_tensor([img])

    @torch.no_grad()
    def encode_sources(self, state: SourceState,
                       background: Union[str, Tensor] = 'generated'
                       ) -> Dict[str, Any]:
        """The model's :meth:`~LiquidWarpingGAN.encode_sources` of the
        source set: geometry rasterized once, G_SID's cache, background."""
        return self.model.encode_sources(state.imgs, state.theta, background)

    @torch.no_grad()
    def decode(self, enc: Dict[str, Any], tgt_ndc: Tensor,
               front_warp: bool = False, tsf=None) -> Dict[str, Tensor]:
        """Synthesize N target frames against the encoded sources.

        Args:
            enc (dict): output of :meth:`encode_sources`.
            tgt_ndc (Tensor): (N, V, 3) target NDC vertices.
            front_warp (bool): paste the directly warped face pixels.
            tsf (callable, optional): G_TSF runner (e.g. :meth:`fast_tsf`).

        Returns:
            dict: ``img`` (N, 3, H, W) in [-1, 1], ``mask`` (N, 1, H, W),
            ``warped`` (N, 3, H, W), ``fragments`` and the rest of
            :meth:`LiquidWarpingGAN.decode_targets`'s output.
        """
        out = self.model.decode_targets(enc, tgt_ndc, tsf)
        out['fragments'] = out['tgt_fragments']
        if front_warp:
            out['img'] = self.paste_region(
                out['img'], out['warped'], out['mask'],
                out['fragments'].face_idx, self.front_faces(),
                out['flow'][:, 0])
        return out

    def fast_tsf(self):
        """The :class:`~mmlwgan.models.generators.FastTSF` of the
        model's generator (built once; it follows weight changes), or None
        when the generator is not one it can run."""
        from mmlwgan.models.generators import FastTSF
        gen = self.model.generator
        if self._fast_tsf is None or self._fast_tsf.gen is not gen:
            self._fast_tsf = FastTSF(gen) if FastTSF.supports(gen) else None
        return self._fast_tsf

    @torch.no_grad()
    def render_bodies(self, ndc: Tensor) -> Tensor:
        """Shaded renders (N, 3, H, W) in [-1, 1] of NDC meshes (white
        background), for the side-by-side panels."""
        from mmlwgan.models.renderers import shade_vertex_colors
        from mmlwgan.visualization import vertex_part_colors
        frags = self.rasterize(ndc)
        labels = getattr(self.body_model, 'face_part_labels', None)
        if labels is not None:
            colors = vertex_part_colors(self.faces, labels,
                                        self.body_model.num_verts)
        else:
            colors = torch.full((self.body_model.num_verts, 3), 0.8,
                                device=ndc.device)
        img = shade_vertex_colors(frags, self.faces, ndc, colors,
                                  background=1.0)
        return img * 2 - 1

    # ---------------------------------------------------- personalisation
    def apply_personalization(self, state: SourceState, steps: int = 0,
                              lr: Optional[float] = None,
                              weights_path: Optional[str] = None,
                              save_path: Optional[str] = None,
                              **kwargs) -> None:
        """Restore the base generator, then load personalised weights
        (``weights_path``) or fine-tune for ``steps`` on the sources."""
        gen = self.model.generator
        if self._personalized and self._base_generator_state is not None:
            gen.load_state_dict(self._base_generator_state)
            self._personalized = False
        if weights_path is None and not steps:
            return
        if self._base_generator_state is None:
            self._base_generator_state = {
                k: v.detach().clone()
                for k, v in gen.state_dict().items()
            }
        self._personalized = True
        if weights_path is not None:
            load_personalized(self.model, weights_path)
            return
        personalize(self.model, state.imgs, state.theta, steps=steps,
                    lr=2e-4 if lr is None else lr, save_path=save_path,
                    show_progress=self.show_progress,
                    progress_callback=self.progress_callback, **kwargs)

    @staticmethod
    def check_common(batch_size: int, fps: float) -> None:
        if int(batch_size) < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if fps <= 0:
            raise ValueError(f'fps must be > 0, got {fps}')

    def _output_name(self, output_name: Optional[str], *parts: str) -> str:
        if output_name:
            return output_name
        return '-'.join(p for p in parts if p)

    # ------------------------------------------------------- the contract
    def __call__(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        """Run the task: :meth:`preprocess`, then :meth:`forward` with every
        batch through :meth:`visualize` into the output writer, then
        :meth:`postprocess`.

        Args:
            *args: the first arguments by position (``call_args``).
            **kwargs: the task's arguments by name (see the task class);
                each reaches the stage whose ``*_kwargs`` set holds it.

        Returns:
            dict: see :meth:`postprocess`.

        Raises:
            ValueError: an unknown argument (the message names it).
            TypeError: too many positional arguments, one given twice, or
                a required one missing.
        """
        kwargs = self._bind_call_args(args, kwargs)
        pre, fwd, vis, post = self._dispatch_kwargs(**kwargs)
        self.check_common(pre['batch_size'], post['fps'])
        if post['return_frames'] is None:
            post['return_frames'] = post['out_dir'] is None
        run = self.preprocess(**pre)
        try:
            writer = OutputWriter(
                post['out_dir'], run.name, save_video=True,
                side_by_side=vis['side_by_side'],
                save_frames=post['save_frames'],
                save_image=run.single_frame, fps=post['fps'],
                keep_frames=post['return_frames'])
            with writer:

                def sink(preds: Dict[str, Any]) -> None:
                    writer.write(*self.visualize(run, preds, **vis))

                self.forward(run, sink, **fwd)
        finally:
            run.close()
        return self.postprocess(run, writer, **post)

    def _bind_call_args(self, args: Sequence[Any],
                        kwargs: Dict[str, Any]) -> Dict[str, Any]:
        """Name the positional arguments after ``call_args``."""
        name = type(self).__name__
        if len(args) > len(self.call_args):
            raise TypeError(
                f'{name} takes at most {len(self.call_args)} positional '
                f'arguments ({", ".join(self.call_args)}), got {len(args)}')
        kwargs = dict(kwargs)
        for key, value in zip(self.call_args, args):
            if key in kwargs:
                raise TypeError(f'{name} got multiple values for argument '
                                f'{key!r}')
            kwargs[key] = value
        return kwargs

    def _dispatch_kwargs(self, **kwargs) -> Tuple[Dict, Dict, Dict, Dict]:
        """mmengine's split of the keyword arguments into the four stages'
        (an unknown name raises a ``ValueError`` naming it), then every
        stage's keywords not given take the defaults of its signature."""
        known = (self.preprocess_kwargs | self.forward_kwargs
                 | self.visualize_kwargs | self.postprocess_kwargs)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(
                f'{type(self).__name__} got unknown argument(s) '
                f'{", ".join(map(repr, unknown))}; its arguments are '
                f'{", ".join(sorted(known))}')
        groups = super()._dispatch_kwargs(**kwargs)
        names = (self.preprocess_kwargs, self.forward_kwargs,
                 self.visualize_kwargs, self.postprocess_kwargs)
        for stage, keys, group in zip(_STAGES, names, groups):
            # the defaults of the class's stage (an instance may wrap it)
            params = inspect.signature(getattr(type(self), stage)).parameters
            for key in sorted(keys - set(group)):
                default = params[key].default
                if default is inspect.Parameter.empty:
                    raise TypeError(f'{type(self).__name__} is missing the '
                                    f'argument {key!r}')
                group[key] = default
        return groups

    @abstractmethod
    def preprocess(self, **kwargs: Any) -> InferenceRun:
        """Read and validate the inputs of one call (``preprocess_kwargs``)
        and make the task's targets; nothing is written."""

    @abstractmethod
    def forward(self, run: InferenceRun, sink: Sink, **kwargs: Any) -> None:
        """Synthesize the frames of ``run`` (``forward_kwargs``), handing
        every batch to ``sink`` as a dict with ``start`` (index of its first
        frame) and ``img`` ((N, 3, H, W) in [-1, 1]) or ``frames`` (uint8
        RGB), plus what :meth:`side_panels` needs."""

    def visualize(self, run: InferenceRun, preds: Dict[str, Any],
                  side_by_side: bool = False
                  ) -> Tuple[List[np.ndarray], Optional[List[np.ndarray]]]:
        """The frames of one batch of predictions.

        Args:
            run (InferenceRun): the call.
            preds (dict): a batch from :meth:`forward`.
            side_by_side (bool): also make the source | reference (or view)
                | result composites.

        Returns:
            tuple: (H, W, 3) uint8 RGB result frames, and their composites
            (None without ``side_by_side``).
        """
        frames = preds['frames'] if 'frames' in preds else as_uint8(
            preds['img'])
        if not side_by_side:
            return frames, None
        panels = self.side_panels(run, preds, len(frames))
        labels = list(self.panel_labels) if self.image_size[0] >= 96 \
            else None
        return frames, [
            side_by_side_frame([run.state.images[0], p, f], labels)
            for p, f in zip(panels, frames)
        ]

    def side_panels(self, run: InferenceRun, preds: Dict[str, Any],
                    num: int) -> List[np.ndarray]:
        """The middle panels of a batch's side-by-side frames: the batch's
        ``panels`` (uint8 RGB), else shaded renders of its ``ndc``
        meshes."""
        if 'panels' in preds:
            return preds['panels']
        return as_uint8(self.render_bodies(preds['ndc']))

    def postprocess(self, run: InferenceRun, writer: OutputWriter,
                    out_dir: Optional[str] = None, save_frames: bool = False,
                    return_frames: Optional[bool] = None,
                    fps: float = 30.0) -> Dict[str, Any]:
        """The result dict of a call.

        Args:
            run (InferenceRun): the call.
            writer (OutputWriter): the writer the frames went to (opened by
                :meth:`__call__` with these options).
            out_dir (str, optional): output folder; None writes nothing.
            save_frames (bool): a PNG folder was written too.
            return_frames (bool, optional): return the frames (None: when
                ``out_dir`` is None).
            fps (float): frame rate of the videos.

        Returns:
            dict: ``video``, ``side_by_side``, ``frames_dir``, ``image``
            (paths or None), ``num_frames``, ``fps``, ``frames`` (list of
            (H, W, 3) uint8 RGB or None) and the task's entries
            (``src_smpl``...).
        """
        if return_frames is None:
            return_frames = out_dir is None
        result = dict(writer.paths)
        result.update(num_frames=writer.num_frames, fps=writer.fps,
                      frames=writer.frames if return_frames else None)
        result.update(run.results)
        return result

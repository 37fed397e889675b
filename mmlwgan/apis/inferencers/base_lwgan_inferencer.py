# Copyright (c) mmlwgan contributors. All rights reserved.
"""Shared machinery of the Liquid Warping GAN inferencers.

The three tasks share one pipeline (the release's ``personalize`` +
``inference`` split):

1. **Sources** (:meth:`BaseLWGANInferencer.prepare_sources`): images are read,
   resized to the model's size, their SMPL parameters are taken from the
   user or estimated with the model's HMR (on a person crop from a detector
   or a user box, else on the whole frame), and every source must show a
   person (:class:`NoPersonError` otherwise).
2. **Encoding once** (:meth:`~BaseLWGANInferencer.encode_sources`): the
   source stream G_SID runs once per video (``generator.encode_sources``),
   the background is made once (G_BG, the original background or a user
   image), the source meshes are projected once.
3. **Decoding in batches** (:meth:`~BaseLWGANInferencer.decode`): per batch
   of target meshes, one batched rasterization, the flows to every source,
   the condition maps, I_syn and G_TSF (``generator.decode_targets``).
4. **Streaming outputs** (:class:`OutputWriter`): frames go to an mp4 (30
   fps, :class:`~mmlwgan.utils.AtomicVideoWriter`), an optional side-by-side
   mp4 (source | reference | result) and an optional PNG folder as they are
   made; nothing appears on disk unless the whole run succeeds.

What 'no person' means: with a detector (``detector='hog'``, OpenCV's HOG
people detector, the CLIs' default; or an mmdet model), no person box scoring
at least ``det_score_thr`` in a source image (also when its SMPL is given) or
in a reference frame whose SMPL is estimated; whatever the SMPL source, a
source body mesh that covers
less than ``min_person_area`` of the image (off-screen, degenerate camera),
or an HMR camera scale that is not positive.
"""
import copy
import os
import os.path as osp
from typing import (Any, Callable, Dict, List, Optional, Sequence, Tuple,
                    Union)

import numpy as np
import torch
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.infer import BaseInferencer
from torch import Tensor, nn

from ..inference import _load_config, init_model, load_model_weights
from ..personalization import load_personalized, personalize
from .inputs import (InferenceInputError, NoPersonError, ReferenceSource,
                     load_smpl, load_source_images, read_image, resize_image)
from .utils import OutputWriter, as_uint8, build_person_detector

__all__ = ['BaseLWGANInferencer', 'SourceState']

BackgroundType = Union[str, np.ndarray, None]


# ----------------------------------------------------------------------
# sources
# ----------------------------------------------------------------------
class SourceState:
    """The sources of one call (images, SMPL, names)."""

    def __init__(self, name: str, images: List[np.ndarray], imgs: Tensor,
                 theta: Tensor, smpl_from: str) -> None:
        self.name = name
        self.images = images  # resized uint8 RGB
        self.imgs = imgs  # (S, 3, H, W) in [-1, 1]
        self.theta = theta  # (S, 85)
        self.smpl_from = smpl_from

    @property
    def num_sources(self) -> int:
        return self.imgs.shape[0]


# ----------------------------------------------------------------------
# the inferencer
# ----------------------------------------------------------------------
class BaseLWGANInferencer(BaseInferencer):
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
            :func:`build_person_detector`): ``'hog'`` is OpenCV's HOG
            people detector (nothing to download; the default of the demo
            CLIs), an mmdet ``dict(config=..., checkpoint=...)`` the
            accurate option. With a detector every source image must show a
            person, even when its SMPL parameters are given (a user box,
            ``src_bbox``, skips that). None: no detection; HMR sees the
            whole frame (or the user's boxes).
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
    """

    #: name used in output file names
    task = 'lwgan'

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

    # ------------------------------------------------------------- SMPL
    def _boxes(self, boxes: Any, n: int, what: str,
               arg: str) -> Optional[np.ndarray]:
        if boxes is None:
            return None
        arr = np.asarray(boxes, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[1] < 4 or arr.shape[0] not in (1, n):
            raise InferenceInputError(
                f'{arg}: expected one (x1, y1, x2, y2) box or one per '
                f'{what} ({n}), got shape {arr.shape}')
        if arr.shape[0] == 1:
            arr = np.repeat(arr, n, axis=0)
        bad = (arr[:, 2] <= arr[:, 0]) | (arr[:, 3] <= arr[:, 1])
        if bad.any():
            raise InferenceInputError(
                f'{arg}: box {arr[int(np.argmax(bad))].tolist()} is empty '
                '(needs x2 > x1 and y2 > y1)')
        return arr[:, :4]

    @torch.no_grad()
    def estimate_smpl(self, frames: Sequence[np.ndarray],
                      boxes: Optional[np.ndarray] = None,
                      what: str = 'image', arg: str = 'src_smpl',
                      start: int = 0,
                      missed: Optional[List[int]] = None) -> np.ndarray:
        """SMPL parameters of images with the model's HMR.

        The person crop comes from ``boxes`` (pixels of the given frames),
        else from the detector, else the whole frame (resized) is used.
        Cameras are returned in the NDC of the whole (resized) frame.

        Args:
            frames (Sequence[np.ndarray]): uint8 RGB frames (any size).
            boxes (np.ndarray, optional): (N, 4) person boxes.
            what (str): name of the frames in messages.
            arg (str): the argument that would give SMPL directly.
            start (int): index of the first frame (messages).
            missed (list, optional): when given, a frame in which the
                detector finds nobody is not an error: HMR sees the whole
                frame and its index is appended to ``missed``.

        Returns:
            np.ndarray: (N, 85) float32.

        Raises:
            InferenceInputError: the model has no HMR.
            NoPersonError: the detector finds no person, or HMR returns no
                usable camera.
        """
        from mmlwgan.models.body import crop_person, prepare_hmr_inputs
        hmr = getattr(self.model, 'hmr', None)
        if hmr is None:
            raise InferenceInputError(
                f'the {what} has no SMPL parameters and the model has no '
                f'HMR to estimate them: pass {arg}= (CLI: --'
                f'{arg.replace("_", "-")}): a theta array (85,) / (N, 85), '
                'or a SMPL file .pkl/.npz with cams, pose, shape; '
                'or use a config whose model has an `hmr` with its weights')
        H, W = self.image_size
        crops, infos = [], []
        for k, frame in enumerate(frames):
            fh, fw = frame.shape[:2]
            resized = resize_image(frame, (H, W))
            box = None
            if boxes is not None:
                box = boxes[k]
            elif self.detector is not None:
                det = self.detector(frame)
                if det is None and missed is not None:
                    missed.append(start + k)
                elif det is None:
                    raise NoPersonError(self._no_person_message(
                        what, start + k, arg.replace('smpl', 'bbox')))
                else:
                    box = det[:4]
            if box is None:
                crops.append(resized)
                infos.append(None)
                continue
            box = np.asarray(box, dtype=np.float32) * np.array(
                [W / fw, H / fh, W / fw, H / fh], dtype=np.float32)
            crop, info = crop_person(resized, box)
            crops.append(crop)
            infos.append(info)
        hmr_device = next(iter(hmr.parameters()), torch.empty(0)).device
        inputs = prepare_hmr_inputs(crops, device=hmr_device)
        theta = hmr(inputs)[-1].float().cpu().numpy().copy()
        for k, info in enumerate(infos):
            if info is None:
                continue
            side = info['side']
            cx, cy = info['center']
            s = theta[k, 0] * side / W
            off = np.array([(2 * cx + 1) / W - 1, (2 * cy + 1) / H - 1])
            theta[k, 1:3] = theta[k, 1:3] + off / max(s, 1e-8)
            theta[k, 0] = s
        bad = ~np.isfinite(theta).all(1) | (theta[:, 0] <= 0)
        if bad.any():
            k = int(np.argmax(bad))
            raise NoPersonError(
                f'no person found in {what} {start + k}: HMR gives no usable '
                f'body (camera scale {theta[k, 0]:g})')
        return theta.astype(np.float32)

    def _no_person_message(self, what: str, index: int, bbox_arg: str) -> str:
        desc = getattr(self.detector, 'description', 'the person detector')
        flag = bbox_arg.replace('_', '-')
        return (f'no person found in {what} {index}: {desc} found no box '
                f'with score >= {self.det_score_thr}; if it shows a person, '
                f'give its box ({bbox_arg}=, CLI: --{flag}) or another '
                'detector (an mmdet model: --detector-config and '
                '--detector-checkpoint; none: --detector none)')

    def detect_persons(self, images: Sequence[np.ndarray], what: str,
                       bbox_arg: str, start: int = 0) -> None:
        """Raise :class:`NoPersonError` for the first image in which the
        person detector (when there is one) finds nobody; used when the SMPL
        parameters are given, so that a picture without a person is refused
        whatever the SMPL says."""
        if self.detector is None:
            return
        for k, img in enumerate(images):
            if self.detector(img) is None:
                raise NoPersonError(
                    self._no_person_message(what, start + k, bbox_arg))

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

    # ---------------------------------------------------------- parts
    def part_labels(self) -> Tuple[Tensor, List[str]]:
        """Per-face part labels (F,) and part names, from the body model
        file or ``part_file``."""
        if self._part_labels is not None:
            return self._part_labels
        F = self.faces.shape[0]
        if self.part_file is not None:
            import json
            if not osp.isfile(self.part_file):
                raise FileNotFoundError(
                    f'part file {self.part_file!r} does not exist')
            with open(self.part_file) as f:
                data = json.load(f)
            names = sorted(data)
            labels = torch.full((F, ), -1, dtype=torch.long)
            for i, name in enumerate(names):
                ids = data[name]['face'] if isinstance(data[name],
                                                       dict) else data[name]
                labels[torch.as_tensor(ids, dtype=torch.long)] = i
            if (labels < 0).any():
                raise InferenceInputError(
                    f'part file {self.part_file!r} leaves '
                    f'{int((labels < 0).sum())} of {F} faces without a part')
        else:
            labels = getattr(self.body_model, 'face_part_labels', None)
            names = list(getattr(self.body_model, 'part_names', []) or [])
            if labels is None or not names:
                raise InferenceInputError(
                    'the body model file has no per-face part labels '
                    "('face_part_labels', 'part_names'): give "
                    "part_file=<the release's smpl_part_info.json>")
        self._part_labels = (labels.to(self.faces.device), names)
        return self._part_labels

    def faces_of_parts(self, parts: Sequence[str]) -> Tensor:
        """(F,) bool mask of the faces of the named parts (names match
        exactly or after a numeric prefix, e.g. ``'head'`` = ``'00_head'``).
        """
        labels, names = self.part_labels()

        def norm(n: str) -> str:
            head, _, tail = n.partition('_')
            return tail.lower() if head.isdigit() and tail else n.lower()

        index = {}
        for i, n in enumerate(names):
            index[n.lower()] = i
            index.setdefault(norm(n), i)
        mask = torch.zeros_like(labels, dtype=torch.bool)
        for p in parts:
            i = index.get(p.lower(), index.get(norm(p)))
            if i is None:
                raise InferenceInputError(
                    f'unknown body part {p!r}; the body model has {names}')
            mask |= labels == i
        return mask

    def front_faces(self) -> Tensor:
        """(F,) bool: faces pasted by the front-face warp (the face: head
        faces whose rest-pose normal looks forward, or the release's
        ``front_face_file``)."""
        if self._front_faces is not None:
            return self._front_faces
        F = self.faces.shape[0]
        if self.front_face_file is not None:
            import json
            if not osp.isfile(self.front_face_file):
                raise FileNotFoundError(
                    f'front face file {self.front_face_file!r} does not '
                    'exist')
            with open(self.front_face_file) as f:
                ids = json.load(f)['face']
            mask = torch.zeros(F, dtype=torch.bool)
            mask[torch.as_tensor(ids, dtype=torch.long)] = True
        else:
            try:
                head = self.faces_of_parts(['head'])
            except InferenceInputError:
                # skinning: faces whose vertices follow the head joint
                weights = self.body_model.body.lbs_weights
                vert_head = weights.argmax(1) == 15
                head = vert_head[self.faces].all(1)
            v = self.body_model.v_template
            tri = v[self.faces]
            normal = torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0],
                                 dim=1)
            normal = normal / normal.norm(dim=1, keepdim=True).clamp_min(
                1e-12)
            mask = head & (normal[:, 2] > 0.3)  # SMPL faces +z at rest
        self._front_faces = mask.to(self.faces.device)
        return self._front_faces

    def paste_region(self, pred: Tensor, warped: Tensor, tsf_mask: Tensor,
                     face_idx: Tensor, faces_mask: Tensor,
                     flow: Tensor) -> Tensor:
        """Paste ``warped`` pixels over ``pred`` where the target shows a
        face of ``faces_mask`` that the flow can sample (the release's
        front-face warp); blended by ``1 - tsf_mask``."""
        region = faces_mask[face_idx.clamp(min=0)] & (face_idx >= 0)
        valid = (flow.abs() <= 1).all(-1)
        alpha = (region & valid).unsqueeze(1).to(pred.dtype) * (1 - tsf_mask)
        return pred * (1 - alpha) + warped * alpha

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
        region) or an image path / RGB array (resized)."""
        if background is None or (isinstance(background, str)
                                  and background in ('generated',
                                                     'original')):
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

    # ------------------------------------------------------------ helpers
    @staticmethod
    def check_common(batch_size: int, fps: float) -> None:
        if int(batch_size) < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        if fps <= 0:
            raise ValueError(f'fps must be > 0, got {fps}')

    def reference_thetas(self, ref: ReferenceSource, ref_bbox: Any = None,
                         batch_size: int = 8,
                         on_missing_person: str = 'error') -> np.ndarray:
        """SMPL parameters of every reference frame: given, or estimated
        with HMR in a first streaming pass over the frames (only the
        (N, 85) parameters are kept).

        Args:
            on_missing_person (str): ``'error'`` (default) or ``'previous'``
                (reuse the last frame's parameters when the detector finds
                nobody; the first frame must have a person). With the HOG
                detector (which misses some people: profile views, unusual
                poses), ``'error'`` means: frames where it finds nobody are
                given to HMR whole, and only a reference in which it finds
                nobody at all is refused.
        """
        if ref.thetas is not None:
            return ref.thetas
        if on_missing_person not in ('error', 'previous'):
            raise ValueError("on_missing_person must be 'error' or "
                             f"'previous', got {on_missing_person!r}")
        boxes = self._boxes(ref_bbox, ref.num_frames, 'reference frame',
                            'ref_bbox')
        out: List[np.ndarray] = []
        chunk: List[np.ndarray] = []
        lenient = on_missing_person == 'error' and boxes is None and getattr(
            self.detector, 'lenient', False)
        missed: Optional[List[int]] = [] if lenient else None

        def flush(start: int) -> None:
            b = None if boxes is None else boxes[start:start + len(chunk)]
            if on_missing_person == 'error':
                out.append(self.estimate_smpl(chunk, b, 'reference frame',
                                              'ref_smpl', start, missed))
            else:
                for k, frame in enumerate(chunk):
                    bb = None if b is None else b[k:k + 1]
                    try:
                        out.append(self.estimate_smpl(
                            [frame], bb, 'reference frame', 'ref_smpl',
                            start + k))
                    except NoPersonError:
                        if not out:
                            raise
                        out.append(out[-1][-1:])
            chunk.clear()

        start = 0
        for frame in self._progress(ref.frames(), ref.num_frames,
                                    'SMPL of the reference'):
            chunk.append(frame)
            if len(chunk) == batch_size:
                flush(start)
                start += batch_size
        if chunk:
            flush(start)
        if missed is not None and len(missed) == ref.num_frames:
            raise NoPersonError(
                self._no_person_message('reference frame', 0, 'ref_bbox') +
                f' (nor in any of the {ref.num_frames} reference frames)')
        thetas = np.concatenate(out, 0)
        if len(thetas) != ref.num_frames:
            raise InferenceInputError(
                f'the reference gave {len(thetas)} frames, expected '
                f'{ref.num_frames}')
        return thetas

    # mmengine's abstract stages; the streaming ``__call__`` of each task
    # drives the same steps batch by batch.
    def preprocess(self, inputs, batch_size: int = 1, **kwargs):
        raise NotImplementedError(
            f'{type(self).__name__} streams its inputs: call the inferencer')

    def visualize(self, inputs, preds, **kwargs) -> List[np.ndarray]:
        """Result tensors (N, 3, H, W) in [-1, 1] -> uint8 RGB frames."""
        return as_uint8(preds)

    def postprocess(self, writer: OutputWriter, extra: Optional[dict] = None,
                    return_frames: bool = False, **kwargs) -> Dict[str, Any]:
        """The result dict of a call: output paths, frame count, frames."""
        result = dict(writer.paths)
        result.update(num_frames=writer.num_frames, fps=writer.fps,
                      frames=writer.frames if return_frames else None)
        result.update(extra or {})
        return result

    def _output_name(self, output_name: Optional[str], *parts: str) -> str:
        if output_name:
            return output_name
        return '-'.join(p for p in parts if p)


# ----------------------------------------------------------------------
# command-line helpers shared by demo/*.py
# ----------------------------------------------------------------------

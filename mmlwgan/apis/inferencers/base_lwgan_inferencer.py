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
import contextlib
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

from mmlwgan.utils import AtomicVideoWriter, write_image
from ..inference import _load_config, init_model, load_model_weights
from ..personalization import load_personalized, personalize
from .inputs import (InferenceInputError, NoPersonError, ReferenceSource,
                     load_smpl, load_source_images, read_image, resize_image)

__all__ = ['BaseLWGANInferencer', 'OutputWriter', 'SourceState',
           'build_person_detector']

BackgroundType = Union[str, np.ndarray, None]


# ----------------------------------------------------------------------
# person detection
# ----------------------------------------------------------------------
#: name of the zero-download default detector (OpenCV's HOG people detector)
HOG_DETECTOR = 'hog'


def build_person_detector(detector: Any, device: str = 'cpu',
                          score_thr: float = 0.5,
                          cat_id: int = 0) -> Optional[Callable]:
    """A function ``(H, W, 3) uint8 RGB -> [x1, y1, x2, y2, score]`` of the
    best person box, or None when there is no person.

    Args:
        detector: None (no detector); ``'hog'`` (or ``dict(type='hog',
            **kwargs)``, or an mmdet dict whose config and checkpoint are
            both None): OpenCV's HOG people detector
            (:class:`~mmlwgan.preprocessing.HOGPersonDetector`, nothing to
            download); a callable returning boxes (K, 4) / (K, 5), or a
            ``(boxes, scores)`` pair like the detectors of
            :mod:`mmlwgan.preprocessing`, for an RGB image; or an mmdet
            model given as ``dict(config=..., checkpoint=...)`` /
            ``(config, checkpoint)`` (built with
            ``mmdet.apis.init_detector`` in the ``mmdet`` scope, COCO person
            = class ``cat_id``).
        device (str): device of an mmdet model.
        score_thr (float): boxes below it are dropped (for the HOG detector
            0.5 is its tuned operating point).
        cat_id (int): the person class of an mmdet model.

    The returned function has a ``description`` attribute naming the
    detector for messages.
    """
    if detector is None or (isinstance(detector, str)
                            and detector.lower() == 'none'):
        return None
    description = 'the person detector'
    if isinstance(detector, dict) and detector.get('config') is None \
            and detector.get('checkpoint') is None and \
            str(detector.get('type', HOG_DETECTOR)).lower() == HOG_DETECTOR:
        kwargs = {k: v for k, v in detector.items()
                  if k not in ('type', 'config', 'checkpoint')}
        detector = HOG_DETECTOR
    else:
        kwargs = {}
    if isinstance(detector, str):
        if detector.lower() != HOG_DETECTOR:
            raise ValueError(f"unknown person detector {detector!r}: give "
                             f"'{HOG_DETECTOR}', None, a callable or an "
                             'mmdet dict(config=..., checkpoint=...)')
        from mmlwgan.preprocessing.hog_detector import HOGPersonDetector
        hog = HOGPersonDetector(score_thr=score_thr, **kwargs)
        fn = hog
        description = (
            "the HOG people detector (OpenCV's, for upright people filling "
            f'at least {hog.min_height:.0%} of the image height)')
    elif callable(detector) and not isinstance(detector,
                                               (dict, tuple, list)):
        fn = detector
    else:
        if isinstance(detector, dict):
            config, ckpt = detector.get('config'), detector.get('checkpoint')
        else:
            config, ckpt = detector
        for what, path in (('detector config', config),
                           ('detector checkpoint', ckpt)):
            if path is None or not osp.isfile(os.fspath(path)):
                raise FileNotFoundError(f'{what} {path!r} does not exist')
        try:
            from mmdet.apis import inference_detector, init_detector
            from mmengine.registry import DefaultScope
        except ImportError as e:  # pragma: no cover - mmdet is installed
            raise ImportError('a detector config needs mmdet (`mim install '
                              'mmdet`)') from e
        from mmlwgan.utils.checkpoint import use_safe_checkpoint_loader
        use_safe_checkpoint_loader()  # mmdet reads the file allow-listed
        with DefaultScope.overwrite_default_scope('mmdet'):
            det_model = init_detector(os.fspath(config), os.fspath(ckpt),
                                      device=device)

        def fn(img: np.ndarray) -> np.ndarray:
            import cv2
            with DefaultScope.overwrite_default_scope('mmdet'):
                res = inference_detector(det_model,
                                         cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
            inst = res.pred_instances
            keep = inst.labels == cat_id
            boxes = inst.bboxes[keep].cpu().numpy()
            scores = inst.scores[keep].cpu().numpy()
            return np.concatenate([boxes, scores[:, None]], axis=1)

    def detect(img: np.ndarray) -> Optional[np.ndarray]:
        out = fn(img)
        if isinstance(out, tuple) and len(out) == 2:  # (boxes, scores)
            b, sc = (np.asarray(x, dtype=np.float32) for x in out)
            out = np.concatenate([b.reshape(-1, 4), sc.reshape(-1, 1)], 1)
        boxes = np.asarray(out, dtype=np.float32)
        if boxes.size == 0:
            return None
        boxes = boxes.reshape(-1, boxes.shape[-1])
        if boxes.shape[1] == 4:
            boxes = np.concatenate([boxes, np.ones((len(boxes), 1),
                                                   np.float32)], 1)
        boxes = boxes[boxes[:, 4] >= score_thr]
        if len(boxes) == 0:
            return None
        return boxes[int(np.argmax(boxes[:, 4]))]

    detect.score_thr = score_thr
    detect.description = description
    # the HOG detector misses some people: reference frames it finds nobody
    # in go to HMR whole (see BaseLWGANInferencer.reference_thetas)
    from mmlwgan.preprocessing.hog_detector import HOGPersonDetector
    detect.lenient = isinstance(fn, HOGPersonDetector)
    return detect


# ----------------------------------------------------------------------
# outputs
# ----------------------------------------------------------------------
def _atomic_dir(path: str):
    """A temporary folder beside ``path`` renamed to it on success, removed
    on failure (:func:`mmlwgan.utils.atomic_dir`)."""
    from mmlwgan.utils import atomic_dir
    return atomic_dir(path)


class OutputWriter:
    """Write result frames (and side-by-side frames) as they come.

    Everything is written to temporary files and moved into place only when
    the ``with`` block ends without an exception, so a failed run leaves no
    partial mp4 or png behind. An output folder that cannot be written
    fails at once (:func:`~mmlwgan.utils.check_output_dir`); temporary files
    of killed runs in it are removed; outputs get the umask's permissions
    (see :mod:`mmlwgan.utils.io`).

    Args:
        out_dir (str, optional): output folder; None writes nothing.
        name (str): base name of the outputs.
        save_video (bool): ``<name>.mp4``.
        side_by_side (bool): ``<name>_side_by_side.mp4``.
        save_frames (bool): ``<name>_frames/000000.png`` ...
        save_image (bool): ``<name>.png`` (single-frame results).
        fps (float): video frame rate (30 as in the release).
        keep_frames (bool): also keep the result frames in memory.
    """

    def __init__(self, out_dir: Optional[str], name: str,
                 save_video: bool = True, side_by_side: bool = False,
                 save_frames: bool = False, save_image: bool = False,
                 fps: float = 30.0, keep_frames: bool = False) -> None:
        self.out_dir = out_dir
        self.fps = fps
        self.keep_frames = keep_frames
        self.frames: List[np.ndarray] = []
        self.num_frames = 0
        self.paths: Dict[str, Optional[str]] = dict(
            video=None, side_by_side=None, frames_dir=None, image=None)
        if out_dir is not None:
            from mmlwgan.utils import check_output_dir
            check_output_dir(out_dir)  # one clear error before any frame
            base = osp.join(out_dir, name)
            if save_video:
                self.paths['video'] = base + '.mp4'
            if side_by_side:
                self.paths['side_by_side'] = base + '_side_by_side.mp4'
            if save_frames:
                self.paths['frames_dir'] = base + '_frames'
            if save_image:
                self.paths['image'] = base + '.png'
        self._stack = None
        self._video = self._sbs = None
        self._frames_tmp = None
        self._first: Optional[np.ndarray] = None

    def __enter__(self) -> 'OutputWriter':
        stack = contextlib.ExitStack()
        try:
            if self.paths['video']:
                self._video = stack.enter_context(
                    AtomicVideoWriter(self.paths['video'], self.fps))
            if self.paths['side_by_side']:
                self._sbs = stack.enter_context(
                    AtomicVideoWriter(self.paths['side_by_side'], self.fps))
            if self.paths['frames_dir']:
                self._frames_tmp = stack.enter_context(
                    _atomic_dir(self.paths['frames_dir']))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def write(self, frames: Sequence[np.ndarray],
              side_by_side: Optional[Sequence[np.ndarray]] = None) -> None:
        """Append (H, W, 3) uint8 RGB result frames (and their side-by-side
        composites)."""
        for k, frame in enumerate(frames):
            if self._video is not None:
                self._video.write(frame)
            if self._sbs is not None and side_by_side is not None:
                self._sbs.write(side_by_side[k])
            if self._frames_tmp is not None:
                write_image(osp.join(self._frames_tmp,
                                     f'{self.num_frames:06d}.png'), frame)
            if self.num_frames == 0:
                self._first = frame
            if self.keep_frames:
                self.frames.append(frame)
            self.num_frames += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack = self._stack, None
        if exc_type is None and self.paths['image'] and \
                self._first is not None:
            try:
                # inside the stack's protection: a failure here removes the
                # videos too
                write_image(self.paths['image'], self._first)
            except BaseException as e:  # noqa: BLE001
                stack.__exit__(type(e), e, e.__traceback__)
                raise
        return bool(stack.__exit__(exc_type, exc, tb))


def _as_uint8(imgs: Tensor) -> List[np.ndarray]:
    """(N, 3, H, W) in [-1, 1] -> list of (H, W, 3) uint8."""
    arr = ((imgs.detach().float().clamp(-1, 1) + 1) * 127.5 + 0.5).to(
        torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return list(arr)


def _side_by_side(panels: Sequence[np.ndarray],
                  labels: Optional[Sequence[str]] = None) -> np.ndarray:
    from mmlwgan.visualization import hstack_labelled
    return hstack_labelled([p.copy() for p in panels], labels)


# ----------------------------------------------------------------------
# state of one source set
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
        return _as_uint8(preds)

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
def add_common_cli_args(parser, with_ref: bool = True) -> None:
    """Arguments shared by the demo CLIs (``demo/*.py``)."""
    parser.add_argument('--config', required=True, help='model config file')
    parser.add_argument('--checkpoint', default=None,
                        help='model checkpoint (mmengine .pth)')
    parser.add_argument('--src', required=True,
                        help='source image, or a folder of source images '
                        '(front, back, ...)')
    parser.add_argument('--src-smpl', default=None,
                        help='SMPL of the source(s): .pkl / .npz (cams, '
                        'pose, shape) or .npy (S, 85); default: HMR')
    if with_ref:
        parser.add_argument('--ref', required=True,
                            help='reference video, image, folder of images '
                            'or SMPL sequence (.pkl / .npz / .npy)')
        parser.add_argument('--ref-smpl', default=None,
                            help='SMPL of the reference frames (one per '
                            'frame); default: HMR')
    parser.add_argument('--out-dir', default='outputs', help='output folder')
    parser.add_argument('--output-name', default=None,
                        help='base name of the outputs')
    parser.add_argument('--device', default=None,
                        help="'cpu', 'cuda', 'cuda:1' (default: cuda if "
                        'available)')
    parser.add_argument('--no-retain-memory', action='store_true',
                        help='on the CPU, let glibc return freed memory to '
                        'the system (by default it is kept for reuse: '
                        'faster, but the process keeps its peak memory)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='frames synthesized together')
    parser.add_argument('--background', default='generated',
                        help="'generated' (G_BG inpainting), 'original' "
                        '(the source background) or an image path')
    parser.add_argument('--front-warp', action='store_true',
                        help='paste the directly warped face pixels')
    parser.add_argument('--side-by-side', action='store_true',
                        help='also write source | reference | result')
    parser.add_argument('--save-frames', action='store_true',
                        help='also write the frames as PNG files')
    parser.add_argument('--personalize-steps', type=int, default=0,
                        help='fine-tune the generator on the source first')
    parser.add_argument('--personalize-lr', type=float, default=None,
                        help='learning rate of the fine-tuning (2e-4)')
    parser.add_argument('--personalized-weights', default=None,
                        help='load personalised generator weights')
    parser.add_argument('--save-personalized', default=None,
                        help='save the personalised generator weights')
    parser.add_argument('--src-bbox', type=float, nargs=4, default=None,
                        metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help='person box in the source image (HMR crop)')
    parser.add_argument('--detector', default=HOG_DETECTOR,
                        choices=(HOG_DETECTOR, 'none'),
                        help="person detector when no mmdet model is given: "
                        "'hog' (OpenCV's HOG people detector, nothing to "
                        'download; every source image must show an upright '
                        "person, also with --src-smpl) or 'none'")
    parser.add_argument('--detector-config', default=None,
                        help='mmdet config of a person detector (HMR crops '
                        "and the 'no person' check; the accurate option)")
    parser.add_argument('--detector-checkpoint', default=None,
                        help='its checkpoint')
    parser.add_argument('--det-score-thr', type=float, default=0.5,
                        help="detector score below which there is 'no "
                        "person'")
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bars')
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default=None, metavar='KEY=VALUE',
                        help='config overrides, e.g. '
                        'model.hmr.pretrained=checkpoints/hmr.pth')
    from mmlwgan.utils.cli import add_debug_arg
    add_debug_arg(parser)


def cli_epilog(doc: str) -> str:
    """The ``Examples:`` section of a CLI module's docstring, for
    ``argparse``'s ``epilog`` (shown by ``--help``)."""
    if 'Examples:' not in doc:
        return ''
    body = doc.split('Examples:', 1)[1]
    lines = body.split('\n')
    out = ['examples:']
    for line in lines[1:]:
        if line and not line.startswith(' '):
            break  # the next paragraph
        out.append(line)
    return '\n'.join(out).rstrip() + '\n'


def build_cli_inferencer(cls, args, **kwargs) -> 'BaseLWGANInferencer':
    """Build an inferencer from :func:`add_common_cli_args` arguments (the
    output folder is checked first, so that an unusable one fails before
    the model is loaded)."""
    from mmlwgan.utils import check_output_dir
    if getattr(args, 'out_dir', None):
        check_output_dir(args.out_dir)
    cfg_options = args.cfg_options or None
    detector = getattr(args, 'detector', None)
    if detector == 'none':
        detector = None
    if args.detector_config or args.detector_checkpoint:
        detector = dict(config=args.detector_config,
                        checkpoint=args.detector_checkpoint)
    return cls(args.config, args.checkpoint, device=args.device,
               show_progress=not args.no_progress, cfg_options=cfg_options,
               detector=detector, det_score_thr=args.det_score_thr,
               retain_freed_memory=not args.no_retain_memory, **kwargs)


def common_call_kwargs(args) -> Dict[str, Any]:
    """The call arguments shared by the three tasks, from the CLI."""
    return dict(
        out_dir=args.out_dir, output_name=args.output_name,
        batch_size=args.batch_size, background=args.background,
        front_warp=args.front_warp, side_by_side=args.side_by_side,
        save_frames=args.save_frames, src_bbox=args.src_bbox,
        personalize_steps=args.personalize_steps,
        personalize_lr=args.personalize_lr,
        personalized_weights=args.personalized_weights,
        save_personalized=args.save_personalized)


def run_cli(fn: Callable[[], Dict[str, Any]], debug: bool = False) -> int:
    """Run a demo; print the output path(s), or one ``error:`` line on
    stderr (exit status 1; ``debug``: the full traceback instead, see
    :mod:`mmlwgan.utils.cli`)."""
    from mmlwgan.utils.cli import run_main
    result = run_main(fn, debug)
    if isinstance(result, int):
        return result
    for key in ('video', 'image', 'side_by_side', 'frames_dir'):
        if result.get(key):
            print(result[key])
    return 0

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Person boxes for preprocessing videos: detectors and a one-person tracker.

Box convention: ``(x1, y1, x2, y2)`` in mmlwgan's pixel coordinates (OpenCV's:
pixel centres at integers, an image ``W`` pixels wide covers
``[-0.5, W - 0.5]``), the convention of
:func:`mmlwgan.models.body.crop_person`. mmdet's boxes (an image covers
``[0, W]``) are shifted by -0.5 on the way out.

* :class:`PersonDetector`: an mmdet detector built from the user's config and
  checkpoint path (scope ``'mmdet'``), keeping the person class.
* :class:`PersonSegmenter`: an mmdet instance-segmentation model (e.g.
  RTMDet-Ins, Mask R-CNN) giving the mask of the person in a box.
* :class:`FixedBoxDetector`: one user-given box in every frame.
* :class:`WholeFrameDetector`: the whole frame is the person's box (the
  release resized whole, person-centred frames for HMR).
* :class:`PersonTracker`: keeps ONE person over a video (the largest box of
  the first frame with a person, then IoU continuity), fills short gaps and
  raises :class:`NoPersonError` naming the frame otherwise.

Nothing is downloaded: configs are local files (or ``'mmdet::path'`` inside
the installed package's ``.mim/configs``), ``init_cfg`` entries naming
pretrained weights are removed before building, checkpoints must be local
paths; without a checkpoint the network is random and a warning says so
once.
"""
import copy
import importlib
import os.path as osp
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np

from mmlwgan.utils import print_once_warning
from mmlwgan.utils.errors import NoPersonError

__all__ = [
    'NoPersonError', 'BasePersonDetector', 'PersonDetector',
    'PersonSegmenter', 'FixedBoxDetector', 'WholeFrameDetector',
    'PersonTracker', 'box_iou', 'load_mm_config', 'strip_pretrained_init_cfg'
]

Detections = Tuple[np.ndarray, np.ndarray]
ConfigLike = Union[str, dict, Any]


# ---------------------------------------------------------------------------
# OpenMMLab config helpers (shared with keypoint_estimator.py)
# ---------------------------------------------------------------------------
def _is_url(path: str) -> bool:
    return isinstance(path, str) and path.startswith(
        ('http://', 'https://', 's3://', 'open-mmlab://', 'mmcls://',
         'torchvision://', 'modelzoo://', 'pavi://'))


def resolve_config_path(path: str) -> str:
    """A local config path; ``'mmdet::rtmdet/x.py'`` names a config shipped
    with an installed package (``<package>/.mim/configs/rtmdet/x.py``).

    Raises:
        FileNotFoundError: the file does not exist.
    """
    if '::' in path and not osp.isfile(path):
        package, rel = path.split('::', 1)
        try:
            module = importlib.import_module(package)
        except ImportError as e:
            raise FileNotFoundError(
                f'config {path}: package {package!r} is not installed') from e
        path = osp.join(osp.dirname(module.__file__), '.mim', 'configs', rel)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} not found')
    return path


def strip_pretrained_init_cfg(cfg: Any) -> Any:
    """Remove every way a model config could fetch pretrained weights.

    Walks the (nested) config: ``init_cfg`` entries of type ``'Pretrained'``
    (or with a ``checkpoint``) are dropped (an emptied ``init_cfg`` becomes
    None) and string ``pretrained=`` values become None. Works in place on
    dicts / lists (mmengine ``ConfigDict`` included) and returns ``cfg``.
    """
    if isinstance(cfg, dict):
        for key in list(cfg.keys()):
            value = cfg[key]
            if key == 'init_cfg':
                entries = value if isinstance(value, (list, tuple)) else [
                    value
                ]
                kept = [
                    e for e in entries if isinstance(e, dict)
                    and e.get('type') != 'Pretrained' and 'checkpoint' not in e
                ]
                if not kept:
                    cfg[key] = None
                elif isinstance(value, (list, tuple)):
                    cfg[key] = kept
                else:
                    cfg[key] = kept[0]
            elif key == 'pretrained' and isinstance(value, str):
                cfg[key] = None
            else:
                strip_pretrained_init_cfg(value)
    elif isinstance(cfg, (list, tuple)):
        for item in cfg:
            strip_pretrained_init_cfg(item)
    return cfg


def load_mm_config(config: ConfigLike,
                   cfg_options: Optional[dict] = None) -> Any:
    """Load an OpenMMLab config (path, ``'pkg::rel/path.py'``, dict or
    Config), apply ``cfg_options`` and strip pretrained ``init_cfg``s.

    Returns:
        mmengine.Config: a copy, safe to modify.
    """
    from mmengine.config import Config
    if isinstance(config, str):
        cfg = Config.fromfile(resolve_config_path(config))
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, dict):
        cfg = Config(copy.deepcopy(dict(config)))
    else:
        raise TypeError('config should be a path, a dict or an mmengine '
                        f'Config, got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError('the config has no `model`')
    strip_pretrained_init_cfg(cfg.model)
    return cfg


def check_checkpoint(checkpoint: Optional[str], what: str) -> Optional[str]:
    """Local checkpoint path or None (then warn once: random weights).

    mmengine's local checkpoint loader is set to mmlwgan's allow-listed one
    (:func:`mmlwgan.utils.checkpoint.use_safe_checkpoint_loader`), so that
    mmdet / mmpose read the file without running code in it.

    Raises:
        ValueError: a URL (nothing is downloaded at run time).
        FileNotFoundError: a missing file.
    """
    if checkpoint is None:
        print_once_warning(
            f'{what} has no checkpoint: it is initialised randomly and its '
            'predictions are meaningless. Give the path of its weights.',
            key=f'mmlwgan.preprocessing.{what}.random')
        return None
    checkpoint = str(checkpoint)
    if _is_url(checkpoint):
        raise ValueError(
            f'{what}: checkpoint {checkpoint} is a URL; mmlwgan downloads '
            'nothing at run time. Download the file yourself and give its '
            'local path.')
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{what}: checkpoint {checkpoint} not found')
    from mmlwgan.utils.checkpoint import use_safe_checkpoint_loader
    use_safe_checkpoint_loader()
    return checkpoint


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or (
            image.ndim != 3 or image.shape[2] != 3):
        raise ValueError('images should be (H, W, 3) uint8 RGB arrays, got '
                         f'{getattr(image, "dtype", type(image))} '
                         f'{getattr(image, "shape", "")}')
    return image


def _empty() -> Detections:
    return np.zeros((0, 4), np.float32), np.zeros((0, ), np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (N, 4) and (M, 4) xyxy boxes -> (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(-1)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(-1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


# ---------------------------------------------------------------------------
# Detectors
# ---------------------------------------------------------------------------
class BasePersonDetector:
    """Interface: ``detector(image) -> (boxes (N, 4) float32 xyxy, scores
    (N,) float32)``, best first; ``image`` is (H, W, 3) uint8 RGB.

    ``hmr_crop`` tells :class:`~mmlwgan.preprocessing.VideoPreprocessor`
    how HMR's crop should be taken from the box when it is left to choose:
    ``'diag'`` (TF-HMR's: the box diagonal spans 150 of 224 pixels) or
    ``'box'`` (a square on the box's longer side). ``frame_mode`` likewise
    suggests how frames are cropped to squares.
    """

    hmr_crop = 'diag'
    frame_mode = 'person'

    def __call__(self, image: np.ndarray) -> Detections:
        raise NotImplementedError

    def detect_batch(self, images: Sequence[np.ndarray]) -> List[Detections]:
        """Detect in several images (a list of per-image results)."""
        return [self(img) for img in images]


class WholeFrameDetector(BasePersonDetector):
    """The whole frame is the person's box (score 1), for person-centred
    videos; HMR then sees the whole (square) frame, as in the release."""

    hmr_crop = 'box'
    frame_mode = 'pad'

    def __call__(self, image: np.ndarray) -> Detections:
        h, w = _as_rgb_uint8(image).shape[:2]
        box = np.array([[-0.5, -0.5, w - 0.5, h - 0.5]], np.float32)
        return box, np.ones((1, ), np.float32)


class FixedBoxDetector(BasePersonDetector):
    """One user-given box in every frame (score 1).

    Args:
        box (Sequence[float]): ``(x1, y1, x2, y2)`` in pixels of the input
            frames.
        clip (bool): Clip the box to the image. Defaults to True.
    """

    def __init__(self, box: Sequence[float], clip: bool = True) -> None:
        box = np.asarray(box, np.float32).reshape(-1)
        if box.size != 4 or not np.isfinite(box).all() or (
                box[2] <= box[0] or box[3] <= box[1]):
            raise ValueError('box should be (x1, y1, x2, y2) with x2 > x1 and '
                             f'y2 > y1, got {box.tolist()}')
        self.box = box
        self.clip = clip

    def __call__(self, image: np.ndarray) -> Detections:
        h, w = _as_rgb_uint8(image).shape[:2]
        box = self.box.copy()
        if self.clip:
            box[0::2] = np.clip(box[0::2], -0.5, w - 0.5)
            box[1::2] = np.clip(box[1::2], -0.5, h - 0.5)
        if box[2] <= box[0] or box[3] <= box[1]:
            return _empty()  # the box lies outside this image
        return box[None], np.ones((1, ), np.float32)


class _MMDetModel(BasePersonDetector):
    """An mmdet model built and run in the ``'mmdet'`` default scope."""

    _what = 'PersonDetector'

    def __init__(self,
                 config: ConfigLike,
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 score_thr: float = 0.5,
                 person_label: Union[int, str] = 'person',
                 input_size: Optional[int] = None,
                 cfg_options: Optional[dict] = None) -> None:
        from mmengine.registry import DefaultScope
        self.score_thr = float(score_thr)
        self.device = str(device)
        cfg = load_mm_config(config, cfg_options)
        checkpoint = check_checkpoint(checkpoint, self._what)
        with DefaultScope.overwrite_default_scope('mmdet'):
            from mmdet.apis import init_detector
            from mmdet.utils import get_test_pipeline_cfg
            self.model = init_detector(
                cfg, checkpoint, palette='none', device=self.device)
            pipeline = copy.deepcopy(get_test_pipeline_cfg(cfg))
            self._pipeline_cfg = self._adapt_pipeline(pipeline, input_size)
            from mmcv.transforms import Compose
            self._pipeline = Compose(self._pipeline_cfg)
        self.label = self._find_label(person_label)

    @staticmethod
    def _adapt_pipeline(pipeline: list, input_size: Optional[int]) -> list:
        """ndarray input, no annotation loading, optional smaller size."""
        out = []
        for step in pipeline:
            step = dict(step)
            kind = str(step.get('type', '')).split('.')[-1]
            if kind in ('LoadImageFromFile', 'LoadImageFromNDArray'):
                step = dict(type='mmdet.LoadImageFromNDArray')
            elif kind == 'LoadAnnotations':
                continue
            elif input_size is not None and kind == 'Resize':
                step['scale'] = (int(input_size), int(input_size))
            elif input_size is not None and kind == 'Pad' and 'size' in step:
                step['size'] = (int(input_size), int(input_size))
            out.append(step)
        return out

    def _find_label(self, person_label: Union[int, str]) -> int:
        if isinstance(person_label, (int, np.integer)):
            return int(person_label)
        classes = [
            str(c).lower() for c in (getattr(self.model, 'dataset_meta', None)
                                     or {}).get('classes', ())
        ]
        name = str(person_label).lower()
        if name in classes:
            return classes.index(name)
        raise ValueError(f'class {person_label!r} is not among the '
                         f"detector's classes {classes[:10]}...; give "
                         'person_label as an int')

    def _run(self, images: Sequence[np.ndarray]) -> list:
        import torch
        from mmengine.dataset import pseudo_collate
        from mmengine.registry import DefaultScope
        results = []
        with DefaultScope.overwrite_default_scope('mmdet'):
            for img in images:
                data = self._pipeline(
                    dict(img=_as_rgb_uint8(img)[..., ::-1].copy(), img_id=0))
                # mmdet's pipelines take BGR like cv2.imread gives.
                batch = pseudo_collate([data])
                with torch.no_grad():
                    results.append(self.model.test_step(batch)[0])
        return results

    def _person_instances(
            self, result) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        inst = result.pred_instances
        labels = inst.labels.detach().cpu().numpy()
        scores = inst.scores.detach().cpu().numpy().astype(np.float32)
        keep = (labels == self.label) & (scores >= self.score_thr)
        idx = np.nonzero(keep)[0]
        idx = idx[np.argsort(-scores[idx], kind='stable')]
        boxes = inst.bboxes.detach().cpu().numpy().astype(np.float32)[idx]
        return boxes - 0.5, scores[idx], idx  # mmdet -> pixel centres

    def detect_batch(self, images: Sequence[np.ndarray]) -> List[Detections]:
        out = []
        for result in self._run(images):
            boxes, scores, _ = self._person_instances(result)
            out.append((boxes.reshape(-1, 4), scores))
        return out

    def __call__(self, image: np.ndarray) -> Detections:
        return self.detect_batch([image])[0]


class PersonDetector(_MMDetModel):
    """Person boxes from an mmdet detector (e.g. RTMDet, Faster R-CNN).

    Args:
        config (str | dict | Config): the detector's config: a path, or
            ``'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'`` for a config
            shipped with mmdet. ``init_cfg``s naming pretrained weights are
            removed (nothing is downloaded).
        checkpoint (str, optional): local path of its weights. None: random
            weights (a warning says so once).
        device (str): Defaults to ``'cpu'``.
        score_thr (float): minimum score of a kept box. Defaults to 0.5.
        person_label (int | str): the person class, by index or name (looked
            up in the model's ``dataset_meta['classes']``; COCO's without a
            checkpoint). Defaults to ``'person'``.
        input_size (int, optional): replace the test pipeline's resize / pad
            size (e.g. 320 for speed). Defaults to the config's.
        cfg_options (dict, optional): overrides merged into the config.

    Calling it with an (H, W, 3) uint8 RGB image returns ``(boxes, scores)``:
    (N, 4) float32 xyxy boxes (pixel centres at integers) and (N,) scores,
    best first. The model is built and run in the ``'mmdet'`` default scope;
    the caller's scope is restored afterwards.

    Examples:
        >>> det = PersonDetector(
        ...     'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        ...     'checkpoints/rtmdet_tiny.pth')
        >>> boxes, scores = det(frame_rgb)
    """


class PersonSegmenter(_MMDetModel):
    """Person masks from an mmdet instance-segmentation model (RTMDet-Ins,
    Mask R-CNN...): ``segmenter(image, box) -> (H, W) bool`` mask of the
    person instance overlapping ``box`` best, or None if none does
    (``iou_thr``).

    Args:
        config, checkpoint, device, score_thr, person_label, input_size,
        cfg_options: see :class:`PersonDetector`.
        iou_thr (float): minimum IoU between the instance's box and the
            given box. Defaults to 0.3.
    """

    _what = 'PersonSegmenter'

    def __init__(self, *args, iou_thr: float = 0.3, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.iou_thr = float(iou_thr)

    def __call__(self, image: np.ndarray,
                 box: Optional[Sequence[float]] = None
                 ) -> Optional[np.ndarray]:
        result = self._run([image])[0]
        boxes, scores, idx = self._person_instances(result)
        if len(idx) == 0 or 'masks' not in result.pred_instances:
            return None
        if box is None:
            best = 0
        else:
            ious = box_iou(np.asarray(box, np.float32)[None], boxes)[0]
            best = int(np.argmax(ious))
            if ious[best] < self.iou_thr:
                return None
        masks = result.pred_instances.masks[int(idx[best])]
        return np.asarray(masks.detach().cpu().numpy(), dtype=bool)


# ---------------------------------------------------------------------------
# Tracking one person
# ---------------------------------------------------------------------------
class PersonTracker:
    """Keep ONE person over the frames of a video.

    The person is the largest box of the first frame where one is detected;
    in each following frame the box overlapping the previous one most
    (IoU >= ``iou_thr``) continues the track. Frames without such a box are
    gaps: runs of at most ``max_gap`` frames (also at the start and the end)
    are filled by linear interpolation of the neighbouring boxes (score 0);
    a longer run raises :class:`NoPersonError` naming its first frame.

    Args:
        iou_thr (float): Defaults to 0.3.
        max_gap (int): Longest run of frames without the person that is
            filled. Defaults to 5; 0 requires the person in every frame.
    """

    def __init__(self, iou_thr: float = 0.3, max_gap: int = 5) -> None:
        if max_gap < 0:
            raise ValueError(f'max_gap must be >= 0, got {max_gap}')
        self.iou_thr = float(iou_thr)
        self.max_gap = int(max_gap)

    @staticmethod
    def _largest(boxes: np.ndarray) -> int:
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return int(np.argmax(area))

    def track(self, detections: Sequence[Detections]
              ) -> Tuple[np.ndarray, np.ndarray]:
        """Pick one box per frame.

        Args:
            detections (Sequence[tuple]): per frame ``(boxes (N, 4),
                scores (N,))``.

        Returns:
            tuple: boxes (T, 4) float32 and scores (T,) float32 (0 for
            filled frames).

        Raises:
            NoPersonError: no person in any frame, or a gap longer than
            ``max_gap`` (``frame_index`` is its first frame).
        """
        num = len(detections)
        if num == 0:
            raise NoPersonError('no frames to track a person in')
        out_boxes = np.zeros((num, 4), np.float32)
        out_scores = np.zeros((num, ), np.float32)
        found = np.zeros((num, ), bool)
        prev = None
        for t, (boxes, scores) in enumerate(detections):
            boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
            scores = np.asarray(scores, np.float32).reshape(-1)
            if len(boxes) == 0:
                continue
            if prev is None:
                k = self._largest(boxes)
            else:
                ious = box_iou(prev[None], boxes)[0]
                k = int(np.argmax(ious + 1e-6 * scores))
                if ious[k] < self.iou_thr:
                    continue
            prev = boxes[k]
            out_boxes[t], out_scores[t], found[t] = boxes[k], scores[k], True
        if not found.any():
            raise NoPersonError(
                f'no person found in frame 0, nor in any of the {num} frames',
                frame_index=0)
        # Gaps: runs of missing frames.
        t = 0
        while t < num:
            if found[t]:
                t += 1
                continue
            start = t
            while t < num and not found[t]:
                t += 1
            if t - start > self.max_gap:
                raise NoPersonError(
                    f'no person found in frame {start} (and the '
                    f'{t - start - 1} frames after it; at most max_gap='
                    f'{self.max_gap} missing frames in a row are filled)',
                    frame_index=start)
            left = out_boxes[start - 1] if start > 0 else None
            right = out_boxes[t] if t < num else None
            for i in range(start, t):
                if left is None:
                    out_boxes[i] = right
                elif right is None:
                    out_boxes[i] = left
                else:
                    w = (i - start + 1) / (t - start + 1)
                    out_boxes[i] = (1 - w) * left + w * right
        return out_boxes, out_scores

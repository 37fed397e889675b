# Copyright (c) mmlwgan contributors. All rights reserved.
"""Turn raw videos of one person into the iPER layout (training data).

For one video (a video file or a folder of frames) and its id
``<actor>/<cloth>/<action>``, :class:`VideoPreprocessor` writes::

    <out_root>/images/<id>/frame00000000.png ...   square frames, ``size`` px
    <out_root>/masks/<id>/frame00000000.png ...    person masks (0 / 255)
    <out_root>/smpls/<id>/pose_shape.pkl           cams (N, 3), pose (N, 72),
                                                   shape (N, 10), float32
    <out_root>/smpls/<id>/kps.pkl                  kps (N, 19, 2) in [-1, 1],
                                                   scores (N, 19)
    <out_root>/smpls/<id>/meta.json                boxes, source, frame region

which :class:`mmlwgan.datasets.IPERDataset` reads; :func:`write_splits`
writes ``train.txt`` / ``val.txt``.

Steps:

1. Read the frames (a clear :class:`VideoReadError` for a missing,
   unreadable or empty video); detect the person in each
   (:mod:`~mmlwgan.preprocessing.person_detector`) and keep ONE person with
   :class:`~mmlwgan.preprocessing.PersonTracker` (:class:`NoPersonError`
   names the frame otherwise).
2. Cut every frame with the same square region (around all the person's
   boxes, ``frame_mode='person'``; or the centre square, or the whole frame
   padded) and resize it to ``size`` x ``size``, like iPER's square frames.
3. Run HMR on a person crop of each output frame
   (:func:`~mmlwgan.models.body.crop_person`) and convert its camera from
   the crop's NDC to the output frame's (:func:`crop_cam_to_frame_cam`), so
   that ``cams`` project the mesh onto the saved frames.
4. Keypoints: the keypoint estimator's COCO-17 mapped to COCO-plus-19, else
   the fitted mesh's COCO-plus joints projected with the frame camera.
5. Masks: a segmenter's person mask, else the rendered mesh silhouette,
   dilated.

Resumable: a video is written into a temporary folder under
``<out_root>/.tmp`` and moved into its final folders only when complete
(``smpls/<id>`` last: its ``meta.json`` marks the video as done); finished
videos are skipped on a rerun; a failure leaves no partial folder.

Camera conversion (derivation). A crop from :func:`crop_person` has its
centre at ``(cx, cy)`` and side ``S`` in pixels of the frame (pixel centres at
integers). A point at NDC ``x_c`` of the crop lies at frame pixel
``u = cx + x_c * S / 2``, i.e. at frame NDC ``x_f = (2 u + 1) / W - 1 =
(S / W) x_c + o_x`` with ``o_x = (2 cx + 1) / W - 1`` (same for y with ``H``,
``cy``, ``o_y``). With HMR's ``x_c = s_c (X + t_x)``::

    x_f = s_f (X + t_x + o_x / s_f),   s_f = s_c S / W

so the frame camera is ``[s_c S / W, t_x + o_x / s_f, t_y + o_y / s_f]``. A
weak-perspective camera has a single scale, so this is exact for square
frames (``H == W``), which is why frames are made square first.
"""
import json
import os
import os.path as osp
import pickle
import re
import shutil
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn as nn

from mmlwgan.datasets.video_io import VIDEO_EXTENSIONS, list_frames
from mmlwgan.utils import atomic_path
from .person_detector import (BasePersonDetector, NoPersonError,
                              PersonTracker, WholeFrameDetector, _is_url)

__all__ = [
    'VideoReadError', 'VideoPreprocessor', 'crop_cam_to_frame_cam',
    'frame_cam_to_crop_cam', 'map_crop_info', 'square_region',
    'crop_square', 'video_id_from_path', 'write_splits', 'find_done_videos',
    'cocoplus_from_body_output'
]

ArrayLike = Union[np.ndarray, torch.Tensor]

_VIDEO_ID = re.compile(r'^[^/\\\s]+/[^/\\\s]+/[^/\\\s]+$')
_FRAME_TMPL = 'frame{:08d}'


class VideoReadError(ValueError):
    """A video (file or frame folder) is missing, unreadable or empty."""


# ---------------------------------------------------------------------------
# Camera conversion
# ---------------------------------------------------------------------------
def _crop_geometry(crop_info: Dict[str, Any],
                   frame_size: Optional[Sequence[int]]) -> Tuple[float, ...]:
    h, w = frame_size if frame_size is not None else crop_info['orig_size']
    h, w = int(h), int(w)
    if h != w:
        raise ValueError(
            f'a weak-perspective camera has one scale for x and y, so crop '
            f'cameras convert exactly only to square frames; got {h}x{w}. '
            'Crop the frame to a square first (see crop_square).')
    cx, cy = (float(v) for v in crop_info['center'])
    side = float(crop_info['side'])
    ratio = side / w
    ox = (2.0 * cx + 1.0) / w - 1.0
    oy = (2.0 * cy + 1.0) / h - 1.0
    return ratio, ox, oy


def crop_cam_to_frame_cam(cam: ArrayLike,
                          crop_info: Dict[str, Any],
                          frame_size: Optional[Sequence[int]] = None
                          ) -> ArrayLike:
    """Convert a weak-perspective camera from crop NDC to frame NDC.

    Args:
        cam (np.ndarray | Tensor): (..., 3) ``[s, tx, ty]`` of the crop (e.g.
            HMR's on a :func:`~mmlwgan.models.body.crop_person` crop).
        crop_info (dict): the crop's info (``center``, ``side`` in frame
            pixels, ``orig_size``), see :func:`map_crop_info` when the frame
            was resized after cropping.
        frame_size (Sequence[int], optional): ``(H, W)`` of the frame;
            defaults to ``crop_info['orig_size']``. Must be square.

    Returns:
        Same type as ``cam``: (..., 3) ``[s, tx, ty]`` such that
        ``s * (XY + [tx, ty])`` is the NDC of the frame (see the module
        docstring for the derivation).
    """
    ratio, ox, oy = _crop_geometry(crop_info, frame_size)
    s = cam[..., 0] * ratio
    tx = cam[..., 1] + ox / s
    ty = cam[..., 2] + oy / s
    if isinstance(cam, torch.Tensor):
        return torch.stack([s, tx, ty], dim=-1)
    return np.stack([s, tx, ty], axis=-1)


def frame_cam_to_crop_cam(cam: ArrayLike,
                          crop_info: Dict[str, Any],
                          frame_size: Optional[Sequence[int]] = None
                          ) -> ArrayLike:
    """Inverse of :func:`crop_cam_to_frame_cam`: frame NDC -> crop NDC."""
    ratio, ox, oy = _crop_geometry(crop_info, frame_size)
    s_f = cam[..., 0]
    s = s_f / ratio
    tx = cam[..., 1] - ox / s_f
    ty = cam[..., 2] - oy / s_f
    if isinstance(cam, torch.Tensor):
        return torch.stack([s, tx, ty], dim=-1)
    return np.stack([s, tx, ty], axis=-1)


def map_crop_info(crop_info: Dict[str, Any], scale: float,
                  offset: Sequence[float],
                  new_size: Sequence[int]) -> Dict[str, Any]:
    """A crop info expressed in another image related by ``u' = scale * u +
    offset`` (pixel centres at integers), e.g. after :func:`crop_square`.
    """
    cx, cy = crop_info['center']
    info = dict(crop_info)
    info['center'] = (scale * cx + offset[0], scale * cy + offset[1])
    info['side'] = scale * crop_info['side']
    info['orig_size'] = (int(new_size[0]), int(new_size[1]))
    return info


# ---------------------------------------------------------------------------
# Square frames
# ---------------------------------------------------------------------------
def square_region(boxes: Optional[np.ndarray], frame_size: Sequence[int],
                  mode: str = 'person',
                  margin: float = 1.2) -> Tuple[int, int, int]:
    """The square region ``(x0, y0, side)`` (integer pixels; may reach
    outside the frame, then padded) cut from every frame of a video.

    Args:
        boxes (np.ndarray, optional): (T, 4) person boxes of the video (for
            ``'person'``).
        frame_size (Sequence[int]): ``(H, W)``.
        mode (str): ``'person'``: a square around all the boxes, ``margin``
            times their union's longer side, kept inside the frame when it
            fits; ``'center'``: the largest centred square; ``'pad'``: the
            whole frame, padded to a square.
        margin (float): see ``'person'``. Defaults to 1.2.
    """
    h, w = int(frame_size[0]), int(frame_size[1])
    if mode == 'center':
        side = min(h, w)
        return (w - side) // 2, (h - side) // 2, side
    if mode == 'pad':
        side = max(h, w)
        return (w - side) // 2, (h - side) // 2, side
    if mode != 'person':
        raise ValueError("frame mode should be 'person', 'center' or 'pad', "
                         f'got {mode!r}')
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    x1, y1 = boxes[:, 0].min(), boxes[:, 1].min()
    x2, y2 = boxes[:, 2].max(), boxes[:, 3].max()
    side = max(x2 - x1, y2 - y1, 1.0) * float(margin)
    side = max(side, 8.0)
    left, top = (x1 + x2 - side) / 2.0, (y1 + y2 - side) / 2.0
    # Keep the square inside the frame where it fits (edges at -0.5, W-0.5).
    for name, extent in (('left', w), ('top', h)):
        start = left if name == 'left' else top
        if side <= extent:
            start = min(max(start, -0.5), extent - 0.5 - side)
        else:
            start = (extent - 1) / 2.0 - side / 2.0
        if name == 'left':
            left = start
        else:
            top = start
    # First pixel: the one whose centre is nearest ``edge + 0.5`` (halves up).
    return (int(np.floor(left + 1.0)), int(np.floor(top + 1.0)),
            int(np.floor(side + 0.5)))


def region_transform(region: Tuple[int, int, int],
                     size: int) -> Tuple[float, Tuple[float, float]]:
    """``(scale, offset)`` with ``u_out = scale * u + offset`` mapping frame
    pixels into the ``size`` px output of :func:`crop_square`."""
    x0, y0, side = region
    a = float(size) / float(side)
    return a, ((0.5 - x0) * a - 0.5, (0.5 - y0) * a - 0.5)


def crop_square(frame: np.ndarray, region: Tuple[int, int, int],
                size: int) -> np.ndarray:
    """Cut ``region`` (edge-padded where it leaves the frame) and resize it to
    ``size`` x ``size`` (area averaging when shrinking)."""
    x0, y0, side = region
    h, w = frame.shape[:2]
    pad_l, pad_t = max(0, -x0), max(0, -y0)
    pad_r, pad_b = max(0, x0 + side - w), max(0, y0 + side - h)
    if pad_l or pad_t or pad_r or pad_b:
        frame = cv2.copyMakeBorder(frame, pad_t, pad_b, pad_l, pad_r,
                                   cv2.BORDER_REPLICATE)
    patch = frame[y0 + pad_t:y0 + pad_t + side, x0 + pad_l:x0 + pad_l + side]
    if side == size:
        return np.ascontiguousarray(patch)
    interp = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp)


# ---------------------------------------------------------------------------
# Reading frames
# ---------------------------------------------------------------------------
class _FrameSource:
    """Frames of a video file or a frame folder, read sequentially."""

    def __init__(self, path: str, frame_step: int = 1,
                 max_frames: Optional[int] = None) -> None:
        self.path = str(path)
        self.frame_step = max(1, int(frame_step))
        self.max_frames = max_frames
        self.fps = None
        if osp.isdir(self.path):
            self.names = list_frames(self.path)
            if not self.names:
                raise VideoReadError(
                    f'frame folder {self.path} holds no image files')
            count = len(self.names)
        elif osp.isfile(self.path):
            self.names = None
            cap = cv2.VideoCapture(self.path)
            try:
                if not cap.isOpened():
                    raise VideoReadError(
                        f'cannot read video {self.path}: OpenCV cannot open '
                        'it (not a video, or an unsupported codec)')
                fps = cap.get(cv2.CAP_PROP_FPS)
                self.fps = float(fps) if fps and fps > 0 else None
                count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
            finally:
                cap.release()
        else:
            raise VideoReadError(f'video {self.path} does not exist')
        # An estimate for progress bars (containers may be wrong).
        count = -(-count // self.frame_step)
        if max_frames is not None:
            count = min(count, int(max_frames))
        self.estimated_count = count or None

    def __iter__(self) -> Iterator[np.ndarray]:
        count = 0
        size = None
        for i, frame in enumerate(self._raw()):
            if i % self.frame_step:
                continue
            if self.max_frames is not None and count >= self.max_frames:
                break
            if size is None:
                size = frame.shape[:2]
            elif frame.shape[:2] != size:
                raise VideoReadError(
                    f'{self.path}: frame {i} is {frame.shape[1]}x'
                    f'{frame.shape[0]} but the first is {size[1]}x{size[0]};'
                    ' all frames of a video must have one size')
            count += 1
            yield frame
        if count == 0:
            raise VideoReadError(f'video {self.path} has no readable frame')

    def _raw(self) -> Iterator[np.ndarray]:
        if self.names is not None:
            for name in self.names:
                path = osp.join(self.path, name)
                img = cv2.imread(path, cv2.IMREAD_COLOR)
                if img is None:
                    raise VideoReadError(f'cannot read frame image {path}')
                yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
            return
        cap = cv2.VideoCapture(self.path)
        try:
            while True:
                ok, img = cap.read()
                if not ok:
                    break
                yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()


def _chunks(iterable, n: int) -> Iterator[list]:
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------
# Video ids, finished videos and splits
# ---------------------------------------------------------------------------
def video_id_from_path(path: str) -> str:
    """``'.../001_9_1.mp4'`` -> ``'001/9/1'`` (iPER's ``actor_cloth_action``
    naming); any other name ``'.../my clip.mp4'`` -> ``'my-clip/1/1'``."""
    stem = osp.basename(osp.normpath(str(path)))
    if osp.isfile(path) or osp.splitext(stem)[1].lower() in VIDEO_EXTENSIONS:
        stem = osp.splitext(stem)[0]
    stem = re.sub(r'[\s/\\]+', '-', stem).strip('-') or 'video'
    parts = stem.split('_')
    if len(parts) == 3 and all(parts):
        return '/'.join(parts)
    return f'{stem}/1/1'


def check_video_id(video_id: str) -> str:
    vid = str(video_id).strip().strip('/')
    if not _VIDEO_ID.match(vid) or '..' in vid.split('/'):
        raise ValueError(f'video id {video_id!r} should be '
                         "'actor/cloth/action' (e.g. '001/9/1'), without "
                         'spaces')
    return vid


def _is_done(out_root: str, video_id: str) -> bool:
    meta_path = osp.join(out_root, 'smpls', video_id, 'meta.json')
    img_dir = osp.join(out_root, 'images', video_id)
    if not (osp.isfile(meta_path) and osp.isfile(
            osp.join(out_root, 'smpls', video_id, 'pose_shape.pkl'))
            and osp.isdir(img_dir)):
        return False
    try:
        with open(meta_path, 'r', encoding='utf-8') as f:
            num = int(json.load(f)['num_frames'])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return len(list_frames(img_dir)) == num


def find_done_videos(out_root: str) -> List[str]:
    """Ids of the finished videos under ``out_root`` (sorted)."""
    smpl_root = osp.join(out_root, 'smpls')
    done = []
    if not osp.isdir(smpl_root):
        return done
    for dirpath, _, files in os.walk(smpl_root):
        if 'meta.json' in files and 'pose_shape.pkl' in files:
            vid = osp.relpath(dirpath, smpl_root).replace(os.sep, '/')
            if _VIDEO_ID.match(vid) and _is_done(out_root, vid):
                done.append(vid)
    return sorted(done)


def _read_ids(path: str) -> List[str]:
    if not osp.isfile(path):
        return []
    with open(path, 'r', encoding='utf-8') as f:
        return [
            line.split('#', 1)[0].strip().strip('/') for line in f
            if line.split('#', 1)[0].strip()
        ]


def write_splits(out_root: str,
                 video_ids: Optional[Sequence[str]] = None,
                 train_ratio: float = 0.8,
                 seed: int = 0) -> Tuple[List[str], List[str]]:
    """Write ``train.txt`` and ``val.txt`` (video ids, one a line).

    Videos already listed in an existing split file stay where they are (so
    adding videos later does not move old ones); new ones are shuffled
    (``seed``) and assigned so that about ``train_ratio`` of all videos are
    for training, with at least one video in each split when there are two
    or more and ``0 < train_ratio < 1``.

    Args:
        out_root (str): the dataset folder.
        video_ids (Sequence[str], optional): the videos to split; defaults
            to every finished video under ``out_root``.
        train_ratio (float): Defaults to 0.8.
        seed (int): Defaults to 0.

    Returns:
        tuple[list[str], list[str]]: train and val ids.
    """
    if not 0.0 <= train_ratio <= 1.0:
        raise ValueError(f'train_ratio should be in [0, 1], got {train_ratio}')
    ids = list(dict.fromkeys(
        find_done_videos(out_root) if video_ids is None else video_ids))
    known = set(ids)
    train = [v for v in _read_ids(osp.join(out_root, 'train.txt'))
             if v in known]
    val = [v for v in _read_ids(osp.join(out_root, 'val.txt'))
           if v in known and v not in train]
    new = sorted(known - set(train) - set(val))
    np.random.default_rng(seed).shuffle(new)
    total = len(ids)
    target = int(round(train_ratio * total))
    if total >= 2 and 0.0 < train_ratio < 1.0:
        target = min(max(target, 1), total - 1)
    for vid in new:
        (train if len(train) < target else val).append(vid)
    for name, lines in (('train.txt', train), ('val.txt', val)):
        with atomic_path(osp.join(out_root, name)) as tmp:
            with open(tmp, 'w', encoding='utf-8') as f:
                f.write(''.join(f'{v}\n' for v in lines))
    return train, val


# ---------------------------------------------------------------------------
# Keypoints from the fitted mesh
# ---------------------------------------------------------------------------
# COCO-plus joint -> SMPL joint / smplx landmark name (when the body model
# has no COCO-plus regressor); head_top has none.
_COCOPLUS_FROM_SMPL = ('right_ankle', 'right_knee', 'right_hip', 'left_hip',
                       'left_knee', 'left_ankle', 'right_wrist',
                       'right_elbow', 'right_shoulder', 'left_shoulder',
                       'left_elbow', 'left_wrist', 'neck', None, 'nose',
                       'leye', 'reye', 'lear', 'rear')


def cocoplus_from_body_output(out: Dict[str, torch.Tensor],
                              joint_names: Sequence[str]
                              ) -> Tuple[torch.Tensor, torch.Tensor]:
    """HMR's 19 COCO-plus joints of a posed body: ``keypoints_extra`` when
    the model has the COCO-plus regressor, else the matching SMPL joints /
    landmarks (``head_top`` then gets confidence 0).

    Returns:
        tuple: joints (B, 19, 3) and confidences (19,).
    """
    extra = out.get('keypoints_extra')
    if extra is not None and extra.shape[1] == 19:
        return extra, extra.new_ones(19)
    joints = out['joints']
    idx, conf = [], []
    names = list(joint_names)
    for name in _COCOPLUS_FROM_SMPL:
        if name is not None and name in names and names.index(
                name) < joints.shape[1]:
            idx.append(names.index(name))
            conf.append(1.0)
        else:
            idx.append(0)
            conf.append(0.0)
    sel = joints[:, idx] * joints.new_tensor(conf)[None, :, None]
    return sel, joints.new_tensor(conf)


# ---------------------------------------------------------------------------
# The preprocessor
# ---------------------------------------------------------------------------
def _load_hmr_config(path: str) -> dict:
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if 'hmr' in cfg:
        return cfg.hmr.to_dict() if hasattr(cfg.hmr, 'to_dict') else dict(
            cfg.hmr)
    if 'model' in cfg and 'hmr' in cfg.model:
        return dict(cfg.model.hmr)
    if 'model' in cfg and str(cfg.model.get('type', '')).endswith('HMR'):
        return dict(cfg.model)
    raise ValueError(f'{path} has no `hmr` (or `model.hmr`) HMR config')


def _dump_pickle(path: str, obj: Any) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


class VideoPreprocessor:
    """Raw videos -> iPER-layout training data (see the module docstring).

    Args:
        out_root (str): the dataset folder (``images/``, ``smpls/``,
            ``masks/``, ``train.txt``...).
        body_model (str | dict | nn.Module): SMPL model path (``.pkl`` /
            ``.npz``; the ``.npz`` written by ``convert_hmr.py --smpl-out``
            also holds HMR's COCO-plus regressor), ``BODY_MODELS`` config or
            module.
        hmr (nn.Module | dict | str, optional): an ``HMR`` module, its config
            dict, or a config file holding ``hmr = dict(...)`` (or
            ``model.hmr``). Defaults to the release's HMR.
        hmr_checkpoint (str, optional): HMR weights (local path); overrides
            the config's. Without any, HMR is random (a warning says so).
        detector (BasePersonDetector | callable, optional): person boxes per
            frame (see :mod:`~mmlwgan.preprocessing.person_detector`).
            Defaults to :class:`WholeFrameDetector`.
        keypoint_estimator (KeypointEstimator, optional): 2D keypoints for
            ``kps.pkl``; without it, the fitted mesh's projected COCO-plus
            joints.
        segmenter (callable, optional): ``segmenter(frame, box) -> (H, W)``
            mask or None (e.g. :class:`PersonSegmenter`); without it (or when
            it returns None), the rendered mesh silhouette.
        size (int): side of the saved square frames. Defaults to 256.
        frame_mode (str): ``'auto'`` (the detector's suggestion: ``'pad'``
            for :class:`WholeFrameDetector`, else ``'person'``),
            ``'person'``, ``'center'`` or ``'pad'``, see
            :func:`square_region`.
        margin (float): ``'person'`` frames span ``margin`` times the union
            of the person's boxes. Defaults to 1.2.
        hmr_crop (str): ``'auto'`` (the detector's ``hmr_crop``), ``'diag'``
            (TF-HMR's scale: the box diagonal spans 150 of 224 pixels) or
            ``'box'`` (square on the box's longer side).
        mask_dilate (int, optional): box-kernel size dilating the rendered
            silhouette (odd); default ``size // 32`` rounded up to odd.
        max_gap (int): frames in a row without the person that are filled
            by interpolating the box. Defaults to 5.
        iou_thr (float): tracker IoU threshold. Defaults to 0.3.
        frame_step (int): keep every ``frame_step``-th frame. Defaults to 1.
        max_frames (int, optional): keep at most this many frames.
        batch_size (int): frames per HMR batch. Defaults to 16.
        device (str): Defaults to ``'cpu'``.
        img_ext (str): ``'.png'`` (default, lossless like the release's
            extraction) or ``'.jpg'``.
        overwrite (bool): redo finished videos. Defaults to False.
        progress (bool): show progress bars. Defaults to True.
    """

    def __init__(self,
                 out_root: str,
                 body_model: Union[str, dict, nn.Module],
                 hmr: Optional[Union[nn.Module, dict, str]] = None,
                 hmr_checkpoint: Optional[str] = None,
                 detector: Optional[BasePersonDetector] = None,
                 keypoint_estimator: Optional[Any] = None,
                 segmenter: Optional[Any] = None,
                 size: int = 256,
                 frame_mode: str = 'auto',
                 margin: float = 1.2,
                 hmr_crop: str = 'auto',
                 mask_dilate: Optional[int] = None,
                 max_gap: int = 5,
                 iou_thr: float = 0.3,
                 frame_step: int = 1,
                 max_frames: Optional[int] = None,
                 batch_size: int = 16,
                 device: str = 'cpu',
                 img_ext: str = '.png',
                 overwrite: bool = False,
                 progress: bool = True) -> None:
        if frame_mode not in ('auto', 'person', 'center', 'pad'):
            raise ValueError(f'unknown frame_mode {frame_mode!r}')
        if hmr_crop not in ('auto', 'diag', 'box'):
            raise ValueError(f'unknown hmr_crop {hmr_crop!r}')
        if img_ext.lower() not in ('.png', '.jpg', '.jpeg'):
            raise ValueError(f"img_ext should be '.png' or '.jpg', got "
                             f'{img_ext!r}')
        if size < 8:
            raise ValueError(f'size should be >= 8, got {size}')
        self.out_root = str(out_root)
        self.detector = detector if detector is not None else \
            WholeFrameDetector()
        self.keypoint_estimator = keypoint_estimator
        self.segmenter = segmenter
        self.size = int(size)
        self.frame_mode = frame_mode if frame_mode != 'auto' else getattr(
            self.detector, 'frame_mode', 'person')
        self.margin = float(margin)
        self.hmr_crop = hmr_crop if hmr_crop != 'auto' else getattr(
            self.detector, 'hmr_crop', 'diag')
        if mask_dilate is None:
            mask_dilate = max(1, -(-self.size // 32))
            mask_dilate += 1 - mask_dilate % 2
        if mask_dilate < 1 or mask_dilate % 2 == 0:
            raise ValueError(f'mask_dilate should be odd, got {mask_dilate}')
        self.mask_dilate = int(mask_dilate)
        self.tracker = PersonTracker(iou_thr=iou_thr, max_gap=max_gap)
        self.frame_step = int(frame_step)
        self.max_frames = max_frames
        self.batch_size = max(1, int(batch_size))
        self.device = torch.device(device)
        self.img_ext = img_ext.lower()
        self.overwrite = overwrite
        self.progress = progress
        self._build_models(body_model, hmr, hmr_checkpoint)

    # ------------------------------------------------------------ models
    def _build_models(self, body_model, hmr, hmr_checkpoint) -> None:
        from mmengine.registry import DefaultScope
        import mmlwgan.models  # noqa: F401  (registers HMR, SMPL, ...)
        from mmlwgan.models.body import SMPL
        from mmlwgan.models.renderers import MeshRasterizer
        from mmlwgan.registry import BODY_MODELS, MODELS
        with DefaultScope.overwrite_default_scope('mmlwgan'):
            if isinstance(body_model, str):
                body_model = SMPL(body_model)
            elif isinstance(body_model, dict):
                body_model = BODY_MODELS.build(body_model)
            if hasattr(hmr, 'hmr') and hasattr(hmr, 'body_model'):
                hmr = hmr.hmr  # an HMRPredictor: its network
            if hmr is None:
                hmr = dict(type='HMR')
            elif isinstance(hmr, str):
                hmr = _load_hmr_config(hmr)
            if hmr_checkpoint is not None and _is_url(str(hmr_checkpoint)):
                raise ValueError(
                    f'hmr_checkpoint {hmr_checkpoint} is a URL; nothing is '
                    'downloaded at run time: give a local path')
            if isinstance(hmr, dict):
                hmr = dict(hmr)
                hmr.setdefault('type', 'HMR')
                if hmr_checkpoint is not None:
                    hmr['pretrained'] = hmr_checkpoint
                    init_cfg = hmr.get('init_cfg')
                    if isinstance(init_cfg, dict) and init_cfg.get(
                            'type') == 'Pretrained':
                        hmr['init_cfg'] = None
                hmr = MODELS.build(hmr)
            elif hmr_checkpoint is not None:
                hmr.load_pretrained(hmr_checkpoint)
        if _is_url(str(getattr(hmr, 'checkpoint', None) or '')):
            raise ValueError(
                f'the HMR config names the weights {hmr.checkpoint} by URL; '
                'nothing is downloaded at run time: give a local path')
        hmr.eval()
        self.hmr = hmr.to(self.device)
        self.body_model = body_model.to(self.device).eval()
        self.rasterizer = MeshRasterizer(image_size=self.size)

    # ------------------------------------------------------------ paths
    def video_dirs(self, video_id: str) -> Dict[str, str]:
        """Final folders of a video: ``images``, ``masks``, ``smpls``."""
        return {
            kind: osp.join(self.out_root, kind, video_id)
            for kind in ('images', 'masks', 'smpls')
        }

    def is_done(self, video_id: str) -> bool:
        """Whether ``video_id`` was completely written already."""
        return _is_done(self.out_root, check_video_id(video_id))

    # ------------------------------------------------------------ running
    def process_videos(self,
                       videos: Sequence[str],
                       video_ids: Optional[Sequence[Optional[str]]] = None,
                       on_error: str = 'raise') -> List[Dict[str, Any]]:
        """Process several videos (see :meth:`process`).

        Args:
            videos (Sequence[str]): video files / frame folders.
            video_ids (Sequence[str], optional): their ids; derived from the
                names by default (:func:`video_id_from_path`).
            on_error (str): ``'raise'`` or ``'skip'`` (a failed video is
                reported in the results with ``error`` and left out).

        Returns:
            list[dict]: one result per video.
        """
        if on_error not in ('raise', 'skip'):
            raise ValueError(f'on_error should be raise or skip: {on_error}')
        videos = list(videos)
        if video_ids is None:
            video_ids = [None] * len(videos)
        if len(video_ids) != len(videos):
            raise ValueError(f'{len(videos)} videos but {len(video_ids)} ids')
        ids = [
            check_video_id(v) if v else video_id_from_path(p)
            for p, v in zip(videos, video_ids)
        ]
        dup = {v for v in ids if ids.count(v) > 1}
        if dup:
            raise ValueError(f'several videos map to the id(s) {sorted(dup)};'
                             ' give distinct video ids')
        results = []
        for path, vid in zip(videos, ids):
            try:
                results.append(self.process(path, vid))
            except (VideoReadError, NoPersonError) as e:
                if on_error == 'raise':
                    raise
                results.append(dict(video=path, video_id=vid, error=str(e),
                                    skipped=False))
        return results

    def process(self, video: str,
                video_id: Optional[str] = None) -> Dict[str, Any]:
        """Preprocess one video into the iPER layout.

        Args:
            video (str): a video file or a folder of frames.
            video_id (str, optional): ``'actor/cloth/action'``; derived from
                the name by default.

        Returns:
            dict: ``video``, ``video_id``, ``num_frames``, ``skipped`` (True
            when it was already done) and the final folders.

        Raises:
            VideoReadError: missing, unreadable or empty video.
            NoPersonError: no person in a frame (``frame_index``), beyond
                what the tracker may fill.
        """
        vid = check_video_id(video_id) if video_id else video_id_from_path(
            video)
        dirs = self.video_dirs(vid)
        if not self.overwrite and _is_done(self.out_root, vid):
            with open(osp.join(dirs['smpls'], 'meta.json'), 'r',
                      encoding='utf-8') as f:
                num = int(json.load(f)['num_frames'])
            return dict(video=video, video_id=vid, num_frames=num,
                        skipped=True, **dirs)
        # Fails early (nothing created) for a missing / unopenable video.
        source = _FrameSource(video, self.frame_step, self.max_frames)
        created_root = not osp.isdir(self.out_root)
        tmp_parent = osp.join(self.out_root, '.tmp')
        prefix = vid.replace('/', '_') + '-'
        if osp.isdir(tmp_parent):  # left by an interrupted run
            for name in os.listdir(tmp_parent):
                if name.startswith(prefix):
                    shutil.rmtree(osp.join(tmp_parent, name),
                                  ignore_errors=True)
        os.makedirs(tmp_parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=prefix, dir=tmp_parent)
        try:
            num = self._process_into(source, video, vid, tmp)
            self._commit(tmp, dirs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            for folder in (tmp_parent, self.out_root if created_root else
                           None):
                try:
                    if folder:
                        os.rmdir(folder)  # only when empty
                except OSError:
                    pass  # other videos in progress / written
        return dict(video=video, video_id=vid, num_frames=num, skipped=False,
                    **dirs)

    def _commit(self, tmp: str, dirs: Dict[str, str]) -> None:
        # smpls last: its meta.json marks the video as done.
        smpl_dir = dirs['smpls']
        if osp.isdir(smpl_dir):  # a stale, unfinished or overwritten one
            shutil.rmtree(smpl_dir)
        for kind in ('images', 'masks', 'smpls'):
            final = dirs[kind]
            if osp.isdir(final):
                shutil.rmtree(final)
            os.makedirs(osp.dirname(final), exist_ok=True)
            os.replace(osp.join(tmp, kind), final)

    def _progress(self, iterable, **kwargs):
        if not self.progress:
            return iterable
        from tqdm import tqdm
        return tqdm(iterable, leave=False, dynamic_ncols=True, **kwargs)

    # ------------------------------------------------------------ stages
    def _detect(self, source: _FrameSource,
                video: str) -> Tuple[List, Tuple[int, int]]:
        detections = []
        frame_size = None
        frames = self._progress(iter(source), desc=f'detect {video}',
                                total=source.estimated_count, unit='frame')
        for chunk in _chunks(frames, self.batch_size):
            if frame_size is None:
                frame_size = chunk[0].shape[:2]
            if hasattr(self.detector, 'detect_batch'):
                detections.extend(self.detector.detect_batch(chunk))
            else:
                detections.extend(self.detector(img) for img in chunk)
        return detections, frame_size

    def _process_into(self, source: _FrameSource, video: str, vid: str,
                      tmp: str) -> int:
        detections, frame_size = self._detect(source, video)
        num = len(detections)
        try:
            boxes, box_scores = self.tracker.track(detections)
        except NoPersonError as e:
            raise NoPersonError(
                f'{video}: {e} (detector {type(self.detector).__name__}; '
                'a lower detector score threshold, a fixed person box or '
                'the whole frame as the box may help)',
                frame_index=e.frame_index, video=video) from None
        region = square_region(boxes, frame_size, self.frame_mode,
                               self.margin)
        scale, offset = region_transform(region, self.size)
        boxes_out = boxes * scale + np.array(offset * 2, np.float32)

        for kind in ('images', 'masks', 'smpls'):
            os.makedirs(osp.join(tmp, kind))
        names = [_FRAME_TMPL.format(i) for i in range(num)]
        cams, poses, shapes, kps, kps_scores = [], [], [], [], []
        frames = self._progress(iter(source), desc=f'hmr {video}',
                                total=num, unit='frame')
        t = 0
        for chunk in _chunks(frames, self.batch_size):
            if t + len(chunk) > num:
                raise VideoReadError(f'{video} gave more frames on the '
                                     'second reading than on the first')
            outs = [crop_square(f, region, self.size) for f in chunk]
            idx = list(range(t, t + len(chunk)))
            for i, img in zip(idx, outs):
                path = osp.join(tmp, 'images', names[i] + self.img_ext)
                if not cv2.imwrite(path, cv2.cvtColor(img,
                                                      cv2.COLOR_RGB2BGR)):
                    raise OSError(f'could not write {path}')
            res = self._estimate(outs, boxes_out[idx])
            cams.append(res['cams'])
            poses.append(res['pose'])
            shapes.append(res['shape'])
            kps.append(res['kps'])
            kps_scores.append(res['kps_scores'])
            for i, mask in zip(idx, res['masks']):
                path = osp.join(tmp, 'masks', names[i] + '.png')
                if not cv2.imwrite(path, mask):
                    raise OSError(f'could not write {path}')
            t += len(chunk)
        if t != num:
            raise VideoReadError(f'{video} gave {t} frames on the second '
                                 f'reading but {num} on the first')

        smpl_dir = osp.join(tmp, 'smpls')
        _dump_pickle(
            osp.join(smpl_dir, 'pose_shape.pkl'),
            dict(cams=np.concatenate(cams).astype(np.float32),
                 pose=np.concatenate(poses).astype(np.float32),
                 shape=np.concatenate(shapes).astype(np.float32)))
        _dump_pickle(
            osp.join(smpl_dir, 'kps.pkl'),
            dict(kps=np.concatenate(kps).astype(np.float32),
                 scores=np.concatenate(kps_scores).astype(np.float32)))
        meta = dict(
            video_id=vid,
            source=osp.abspath(video),
            num_frames=num,
            frame_names=[n + self.img_ext for n in names],
            size=self.size,
            orig_size=[int(frame_size[0]), int(frame_size[1])],
            frame_region=dict(x0=region[0], y0=region[1], side=region[2]),
            frame_mode=self.frame_mode,
            frame_step=self.frame_step,
            fps=(source.fps / self.frame_step) if source.fps else None,
            boxes=np.round(boxes_out, 3).tolist(),
            box_scores=np.round(box_scores, 4).tolist(),
            hmr_crop=self.hmr_crop,
            keypoints=('estimator' if self.keypoint_estimator is not None
                       else 'mesh'),
            masks=('segmenter' if self.segmenter is not None else
                   'silhouette'),
            created=time.strftime('%Y-%m-%d %H:%M:%S'))
        with open(osp.join(smpl_dir, 'meta.json'), 'w',
                  encoding='utf-8') as f:
            json.dump(meta, f, indent=1)
        return num

    @torch.no_grad()
    def _estimate(self, frames: List[np.ndarray],
                  boxes: np.ndarray) -> Dict[str, Any]:
        """HMR, keypoints and masks for output frames and their boxes."""
        from mmlwgan.models.body import crop_person
        from mmlwgan.models.body.cameras import weak_perspective_project
        from mmlwgan.models.flows.masks import dilate
        from mmlwgan.models.renderers import silhouette
        size = self.size
        diag_len = None if self.hmr_crop == 'box' else 150.0
        crops, infos = [], []
        for img, box in zip(frames, boxes):
            img_t = torch.from_numpy(img).permute(2, 0, 1)[None].float()
            img_t = img_t / 127.5 - 1.0
            crop, info = crop_person(img_t, box, diag_len=diag_len)
            crops.append(crop)
            infos.append(info)
        inputs = torch.cat(crops).to(self.device)
        theta = self.hmr(inputs)[-1].float()
        num_betas = getattr(self.body_model, 'num_betas', 10)
        cam_crop = theta[:, :3]
        pose = theta[:, 3:75]
        shape = theta[:, 75:75 + num_betas]
        cam = torch.stack([
            crop_cam_to_frame_cam(c, info, (size, size))
            for c, info in zip(cam_crop, infos)
        ])
        out = self.body_model(pose, shape)
        verts_ndc = weak_perspective_project(out['vertices'], cam)

        # Keypoints: NDC of the output frame.
        if self.keypoint_estimator is not None:
            kps, scores = [], []
            for img, box in zip(frames, boxes):
                k, s = self.keypoint_estimator.predict_cocoplus(
                    img, box[None])
                ndc = (2.0 * k[0] + 1.0) / size - 1.0
                kps.append(ndc * (s[0] > 0)[:, None])  # missing joints at 0
                scores.append(s[0])
            kps, scores = np.stack(kps), np.stack(scores)
        else:
            joints, conf = cocoplus_from_body_output(
                out, getattr(self.body_model, 'joint_names', ()))
            kps = weak_perspective_project(joints, cam)[..., :2]
            kps = (kps * conf[None, :, None]).cpu().numpy()
            scores = conf[None].expand(len(frames), -1).cpu().numpy()

        # Masks: the segmenter's, else the dilated mesh silhouette.
        frags = self.rasterizer(verts_ndc, self.body_model.faces)
        sil = dilate(silhouette(frags), self.mask_dilate)[:, 0]
        masks = list((sil > 0.5).cpu().numpy())
        if self.segmenter is not None:
            for i, (img, box) in enumerate(zip(frames, boxes)):
                seg = self.segmenter(img, box)
                if seg is not None:
                    masks[i] = np.asarray(seg, bool).reshape(size, size)
        masks = [m.astype(np.uint8) * 255 for m in masks]
        return dict(
            cams=cam.cpu().numpy(),
            pose=pose.cpu().numpy(),
            shape=shape.cpu().numpy(),
            kps=kps.astype(np.float32),
            kps_scores=scores.astype(np.float32),
            masks=masks)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Frames of a raw video, for :class:`~.VideoPreprocessor`.

Reading them (:class:`FrameSource`: a video file or a folder of frames; a
clear :class:`VideoReadError` for a missing, unreadable or empty video), the
square region cut from every frame (:func:`square_region`,
:func:`crop_square`, :func:`region_transform`) and a person crop's info
expressed in the squared frame (:func:`map_crop_info`), for the camera
conversion of :func:`mmlwgan.models.body.crop_cam_to_frame_cam` (exact for
square frames only, which is why frames are made square first).
"""
import os.path as osp
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import cv2
import numpy as np

from mmlwgan.datasets.video_io import (iter_video_frames, list_frames,
                                       read_image)

__all__ = [
    'VideoReadError', 'FrameSource', 'map_crop_info', 'square_region',
    'region_transform', 'crop_square'
]


class VideoReadError(ValueError):
    """A video (file or frame folder) is missing, unreadable or empty."""


# ---------------------------------------------------------------------------
# Crop infos
# ---------------------------------------------------------------------------
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
class FrameSource:
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
                try:
                    img = read_image(path)
                except OSError:
                    raise VideoReadError(
                        f'cannot read frame image {path}') from None
                yield img
            return
        try:
            yield from iter_video_frames(self.path)
        except OSError as e:  # gone or unreadable since it was opened
            raise VideoReadError(f'cannot read video {self.path}: {e}') \
                from None

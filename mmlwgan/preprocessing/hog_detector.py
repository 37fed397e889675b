# Copyright (c) mmlwgan contributors. All rights reserved.
"""A person detector that needs no download: OpenCV's HOG + linear SVM.

OpenCV ships a trained pedestrian detector (Dalal & Triggs' histograms of
oriented gradients with a linear SVM trained on INRIA Person,
``cv2.HOGDescriptor_getDefaultPeopleDetector``). :class:`HOGPersonDetector`
uses it as mmlwgan's default person detector when no mmdet model is given:
for the HMR crop and for the 'no person in this image' error. An mmdet
detector (:class:`~mmlwgan.preprocessing.PersonDetector`) stays the accurate
option.

The search is made for the pictures mmlwgan takes (one person, whole body,
filling a good part of the frame), which keeps false detections on
textures rare:

* the SVM's 64 x 128 window holds a person about 96 px tall, so the image is
  resized so that persons between ``min_height`` and ``max_height`` of the
  image height map to 96 px, in steps of ``scale_step`` (small images such as
  the project's 64-128 px synthetic renders are upscaled, large photos
  downscaled: the cost does not depend on the image size);
* every level is padded by ``pad`` pixels (reflected) so that a person
  touching the image border still fits a window;
* a window counts when the SVM margin reaches ``hit_threshold``; windows
  overlapping a better one (IoU > ``nms_iou``) are dropped.

Scores are ``sigmoid(2 * (margin - hit_threshold))``: 0.5 at the operating
point, so that a score threshold of 0.5 (the default of the inferencers and
of mmdet detectors) means the same for both kinds of detector.

Measured with ``tools/analysis_tools/eval_person_detector.py`` (421
pictures of one synthetic person: the bundled demo source, patterned bodies
at 32-160 px and synthetic iPER frames at 64-200 px in six motions, 42 of
them also on wide canvases; 198 pictures without a person: procedural grass,
meadows, leaves, noise, blurred noise, stripes, bricks and the synthetic
rooms at 48-640 px), with the defaults: 80.5 % of the persons are found (the
demo source and 94-100 % of the patterned bodies; 69-78 % of the iPER
frames, whose profile views, squats and cluttered rooms the pedestrian SVM
likes less) and 2 of the 198 no-person pictures get a box (48 px leaves and
blurred noise, upscaled 4x); no grass, noise, meadow, stripes or bricks
picture does at any size. Margin 0.2 finds 86 % with 3 false boxes, 0.5 69 %
with 1. Real photographs of standing people are what the SVM was trained
on. 25-40 ms per picture on one CPU thread (any picture size).
"""
import math
from typing import Optional, Tuple

import cv2
import numpy as np

from .person_detector import BasePersonDetector, Detections, _as_rgb_uint8

__all__ = ['HOGPersonDetector']

#: the SVM's window (width, height) and the person height inside it
_WIN_W, _WIN_H, _PERSON_H = 64, 128, 96.0
#: the person box inside a window (fractions of the window), INRIA layout
_BOX_X, _BOX_Y = 0.25, 0.125


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first."""
    order = np.argsort(-scores, kind='stable')
    keep = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while len(order):
        i = order[0]
        keep.append(i)
        rest = order[1:]
        lt = np.maximum(boxes[i, :2], boxes[rest, :2])
        rb = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = np.clip(rb - lt, 0, None).prod(1)
        union = area[i] + area[rest] - inter
        order = rest[inter / np.maximum(union, 1e-12) <= iou]
    return np.asarray(keep, dtype=np.int64)


class HOGPersonDetector(BasePersonDetector):
    """Person boxes from OpenCV's HOG pedestrian detector (no weights to
    download).

    Args:
        score_thr (float): minimum score of a returned box (0.5: the SVM
            margin reaches ``hit_threshold``). Defaults to 0.5.
        hit_threshold (float): SVM margin of the operating point. Defaults
            to 0.3 (tuned: see the module docstring).
        min_height (float): smallest person searched for, as a fraction of
            the image height. Defaults to 0.5; lower it for small people
            (more false detections on textures).
        max_height (float): largest person, as a fraction of the image
            height. Defaults to 1.0.
        scale_step (float): ratio of successive person heights searched.
            Defaults to 1.05.
        win_stride (int): window step in pixels of a level. Defaults to 8.
        pad (int): reflected border of every level, in pixels. Defaults to
            32.
        nms_iou (float): overlap above which a weaker box is dropped.
            Defaults to 0.5.

    Calling it with an (H, W, 3) uint8 RGB image returns ``(boxes, scores)``
    like :class:`~mmlwgan.preprocessing.PersonDetector`: (N, 4) float32
    ``(x1, y1, x2, y2)`` person boxes (pixel centres at integers) and (N,)
    scores in (0, 1), best first.

    Examples:
        >>> det = HOGPersonDetector()
        >>> boxes, scores = det(image_rgb)   # empty arrays: no person
    """

    hmr_crop = 'diag'
    frame_mode = 'person'

    def __init__(self,
                 score_thr: float = 0.5,
                 hit_threshold: float = 0.3,
                 min_height: float = 0.5,
                 max_height: float = 1.0,
                 scale_step: float = 1.05,
                 win_stride: int = 8,
                 pad: int = 32,
                 nms_iou: float = 0.5) -> None:
        if not 0 < score_thr < 1:
            raise ValueError(f'score_thr must be in (0, 1), got {score_thr}')
        if not 0 < min_height <= max_height:
            raise ValueError('need 0 < min_height <= max_height, got '
                             f'{min_height}, {max_height}')
        if scale_step <= 1:
            raise ValueError(f'scale_step must be > 1, got {scale_step}')
        if int(win_stride) < 1 or int(pad) < 0:
            raise ValueError('win_stride must be >= 1 and pad >= 0, got '
                             f'{win_stride}, {pad}')
        self.score_thr = float(score_thr)
        self.hit_threshold = float(hit_threshold)
        self.min_height = float(min_height)
        self.max_height = float(max_height)
        self.scale_step = float(scale_step)
        self.win_stride = int(win_stride)
        self.pad = int(pad)
        self.nms_iou = float(nms_iou)
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(score_thr={self.score_thr}, '
                f'hit_threshold={self.hit_threshold}, min_height='
                f'{self.min_height}, max_height={self.max_height})')

    # ------------------------------------------------------------------
    def person_heights(self) -> np.ndarray:
        """The person heights searched, as fractions of the image height,
        largest first."""
        n = int(math.floor(math.log(self.max_height / self.min_height) /
                           math.log(self.scale_step) + 1e-9)) + 1
        return self.max_height / self.scale_step**np.arange(n)

    def windows(self, image: np.ndarray,
                min_margin: Optional[float] = None) -> np.ndarray:
        """Every window whose SVM margin reaches ``min_margin`` (default:
        the margin of ``score_thr``), at every level.

        Returns:
            np.ndarray: (K, 5) float32 ``[x1, y1, x2, y2, margin]`` of the
            person boxes (pixel centres at integers), unsorted.
        """
        img = _as_rgb_uint8(image)
        if min_margin is None:
            min_margin = self.margin_of(self.score_thr)
        H, W = img.shape[:2]
        out = []
        for rho in self.person_heights():
            f = _PERSON_H / (rho * H)
            h, w = max(1, int(round(H * f))), max(1, int(round(W * f)))
            level = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR
                               if f > 1 else cv2.INTER_AREA)
            py = max(self.pad, (_WIN_H - h + 1) // 2 + 1)
            px = max(self.pad, (_WIN_W - w + 1) // 2 + 1)
            level = cv2.copyMakeBorder(level, py, py, px, px,
                                       cv2.BORDER_REFLECT_101)
            locs, margins = self._hog.detect(
                level, hitThreshold=float(min_margin),
                winStride=(self.win_stride, self.win_stride),
                padding=(0, 0))
            if len(locs) == 0:
                continue
            locs = np.asarray(locs, np.float64).reshape(-1, 2)
            margins = np.asarray(margins, np.float64).reshape(-1)
            # the person box inside the window, in pixel edges of the image
            x1 = (locs[:, 0] - px + _BOX_X * _WIN_W) / f
            y1 = (locs[:, 1] - py + _BOX_Y * _WIN_H) / f
            x2 = x1 + (1 - 2 * _BOX_X) * _WIN_W / f
            y2 = y1 + (1 - 2 * _BOX_Y) * _WIN_H / f
            out.append(np.stack([x1, y1, x2, y2, margins], 1))
        if not out:
            return np.zeros((0, 5), np.float32)
        boxes = np.concatenate(out).astype(np.float32)
        boxes[:, :4] -= 0.5  # pixel edges -> pixel centres at integers
        return boxes

    def margin_of(self, score: float) -> float:
        """The SVM margin that gets ``score``."""
        return self.hit_threshold + math.log(score / (1 - score)) / 2

    def score_of(self, margin: np.ndarray) -> np.ndarray:
        """Scores in (0, 1) of SVM margins (0.5 at ``hit_threshold``)."""
        return 1 / (1 + np.exp(-2 * (np.asarray(margin, np.float64) -
                                      self.hit_threshold)))

    def __call__(self, image: np.ndarray) -> Detections:
        win = self.windows(image)
        if len(win) == 0:
            return np.zeros((0, 4), np.float32), np.zeros((0, ), np.float32)
        H, W = image.shape[:2]
        keep = _nms(win[:, :4], win[:, 4], self.nms_iou)
        boxes = win[keep, :4].copy()
        boxes[:, 0::2] = np.clip(boxes[:, 0::2], -0.5, W - 0.5)
        boxes[:, 1::2] = np.clip(boxes[:, 1::2], -0.5, H - 0.5)
        scores = self.score_of(win[keep, 4]).astype(np.float32)
        return boxes.astype(np.float32), scores

    def best_box(self, image: np.ndarray
                 ) -> Optional[Tuple[np.ndarray, float]]:
        """The best person box ``(x1, y1, x2, y2)`` and its score, or None
        when there is no person."""
        boxes, scores = self(image)
        if len(boxes) == 0:
            return None
        return boxes[0], float(scores[0])

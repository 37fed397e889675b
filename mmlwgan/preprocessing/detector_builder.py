# Copyright (c) mmlwgan contributors. All rights reserved.
"""The one entry point that turns a person-detector option into a detector.

:func:`build_detector` picks the detector an option names: OpenCV's HOG
people detector (:class:`~.HOGPersonDetector`, nothing to download; the
inferencers' and demo CLIs' default), an mmdet model
(:class:`~.PersonDetector`) or any callable (a detector of this package,
or a function returning boxes). :func:`build_person_detector` wraps it in
:class:`BestPersonBox`, the form the inferencers use (HMR crops and the
'no person in this image' check): the best box scoring at least the
threshold, or None.
"""
import os
from typing import Any, Callable, Optional, Union

import numpy as np

from .hog_detector import HOGPersonDetector
from .person_detector import PersonDetector

__all__ = [
    'HOG_DETECTOR', 'build_detector', 'BestPersonBox',
    'build_person_detector'
]

#: name of the zero-download default detector (OpenCV's HOG people detector)
HOG_DETECTOR = 'hog'


def build_detector(detector: Any, device: str = 'cpu',
                   score_thr: float = 0.5,
                   person_label: Union[int, str] = 0) -> Optional[Callable]:
    """The person detector an option names.

    Args:
        detector: None or ``'none'``: no detector. ``'hog'``,
            ``dict(type='hog', **kwargs)`` or an mmdet dict whose config and
            checkpoint are both None: OpenCV's HOG people detector
            (:class:`~.HOGPersonDetector`, ``kwargs`` are its options). An
            mmdet model as ``dict(config=..., checkpoint=...)`` or a
            ``(config, checkpoint)`` pair: :class:`~.PersonDetector` (the
            config a local file or ``'mmdet::<path>'``, the checkpoint a
            local file). Any other callable (e.g. a detector of this
            package, or a function of an (H, W, 3) uint8 RGB image
            returning boxes (K, 4) / (K, 5) or ``(boxes, scores)``): used
            as given.
        device (str): device of an mmdet model. Defaults to ``'cpu'``.
        score_thr (float): the detector's score threshold (0.5 is the HOG
            detector's tuned operating point). Defaults to 0.5.
        person_label (int | str): the person class of an mmdet model.
            Defaults to 0 (COCO's person).

    Returns:
        callable or None: the detector.

    Raises:
        ValueError: an unknown detector name.
        FileNotFoundError: an mmdet config or checkpoint that is not there.
    """
    if detector is None or (isinstance(detector, str)
                            and detector.lower() == 'none'):
        return None
    kwargs = {}
    if isinstance(detector, dict) and detector.get('config') is None \
            and detector.get('checkpoint') is None and \
            str(detector.get('type', HOG_DETECTOR)).lower() == HOG_DETECTOR:
        kwargs = {k: v for k, v in detector.items()
                  if k not in ('type', 'config', 'checkpoint')}
        detector = HOG_DETECTOR
    if isinstance(detector, str):
        if detector.lower() != HOG_DETECTOR:
            raise ValueError(f"unknown person detector {detector!r}: give "
                             f"'{HOG_DETECTOR}', None, a callable or an "
                             'mmdet dict(config=..., checkpoint=...)')
        return HOGPersonDetector(score_thr=score_thr, **kwargs)
    if callable(detector) and not isinstance(detector, (dict, tuple, list)):
        return detector
    if isinstance(detector, dict):
        config, ckpt = detector.get('config'), detector.get('checkpoint')
    else:
        config, ckpt = detector
    if config is None:
        raise FileNotFoundError('detector config None does not exist')
    if ckpt is None or not os.path.isfile(os.fspath(ckpt)):
        raise FileNotFoundError(f'detector checkpoint {ckpt!r} does not '
                                'exist')
    config = os.fspath(config) if isinstance(config, os.PathLike) else config
    return PersonDetector(config, os.fspath(ckpt), device=device,
                          score_thr=score_thr, person_label=person_label)


class BestPersonBox:
    """The best person box of an image: ``(H, W, 3) uint8 RGB ->
    [x1, y1, x2, y2, score]`` (float32), or None when no box scores at
    least ``score_thr``.

    Args:
        detector (callable): returns boxes (K, 4) / (K, 5) or
            ``(boxes, scores)`` for an RGB image (boxes without scores
            score 1).
        score_thr (float): the threshold.

    Attributes:
        description (str): the detector, for messages.
        lenient (bool): the detector misses some people (the HOG detector:
            profile views, unusual poses), so that the inferencers give
            reference frames it finds nobody in to HMR whole.
    """

    def __init__(self, detector: Callable, score_thr: float = 0.5) -> None:
        self.detector = detector
        self.score_thr = score_thr
        self.lenient = isinstance(detector, HOGPersonDetector)
        if self.lenient:
            self.description = (
                "the HOG people detector (OpenCV's, for upright people "
                f'filling at least {detector.min_height:.0%} of the image '
                'height)')
        else:
            self.description = 'the person detector'

    def __call__(self, img: np.ndarray) -> Optional[np.ndarray]:
        out = self.detector(img)
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
        boxes = boxes[boxes[:, 4] >= self.score_thr]
        if len(boxes) == 0:
            return None
        return boxes[int(np.argmax(boxes[:, 4]))]


def build_person_detector(detector: Any, device: str = 'cpu',
                          score_thr: float = 0.5,
                          cat_id: int = 0) -> Optional[BestPersonBox]:
    """The inferencers' person detector: :func:`build_detector` wrapped in
    :class:`BestPersonBox`.

    Args:
        detector: see :func:`build_detector`.
        device (str): device of an mmdet model.
        score_thr (float): boxes below it are dropped ('no person').
        cat_id (int): the person class of an mmdet model.

    Returns:
        BestPersonBox or None: None when ``detector`` is None / ``'none'``.
    """
    det = build_detector(detector, device, score_thr, cat_id)
    return None if det is None else BestPersonBox(det, score_thr)

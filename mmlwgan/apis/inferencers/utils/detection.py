# Copyright (c) mmlwgan contributors. All rights reserved.
"""The person detector of the inferencers (HMR crops and the 'no person in
this image' check): OpenCV's HOG people detector, a callable, or an mmdet
model."""
import os
import os.path as osp
from typing import Any, Callable, Optional

import numpy as np

__all__ = ['HOG_DETECTOR', 'build_person_detector']

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

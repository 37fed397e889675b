# Copyright (c) mmlwgan contributors. All rights reserved.
"""2D keypoints for preprocessing: an mmpose top-down model and the mapping
from COCO's 17 keypoints to HMR's 19 COCO-plus keypoints (iPER's ``kps.pkl``).

COCO-plus (HMR's ``joint_regressor_extra`` order, ``COCOPLUS_JOINT_NAMES``):
the 14 LSP joints (ankles, knees, hips, wrists, elbows, shoulders, neck,
head top) followed by the 5 COCO face points. COCO-17 has no ``head_top``;
its ``neck`` (LSP's, the top of the neck) is not a COCO point either. Both
get zero confidence, as HMR did with COCO data; ``neck='shoulders'`` puts the
neck at the shoulder midpoint instead (confidence: the smaller of the two).
"""
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from mmlwgan.models.body.smpl import COCOPLUS_JOINT_NAMES
from .person_detector import (ConfigLike, _as_rgb_uint8, check_checkpoint,
                              load_mm_config)

__all__ = [
    'COCO17_JOINT_NAMES', 'COCOPLUS_JOINT_NAMES', 'COCO17_TO_COCOPLUS19',
    'coco17_to_cocoplus19', 'KeypointEstimator'
]

#: COCO's 17 keypoints, in order.
COCO17_JOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear',
                      'right_ear', 'left_shoulder', 'right_shoulder',
                      'left_elbow', 'right_elbow', 'left_wrist',
                      'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                      'right_knee', 'left_ankle', 'right_ankle')

#: For each COCO-plus joint, its COCO-17 index, or -1 (``neck``,
#: ``head_top``: not in COCO).
COCO17_TO_COCOPLUS19 = np.array([
    COCO17_JOINT_NAMES.index(n) if n in COCO17_JOINT_NAMES else -1
    for n in COCOPLUS_JOINT_NAMES
], dtype=np.int64)

_NECK = COCOPLUS_JOINT_NAMES.index('neck')
_L_SHOULDER = COCO17_JOINT_NAMES.index('left_shoulder')
_R_SHOULDER = COCO17_JOINT_NAMES.index('right_shoulder')


def coco17_to_cocoplus19(keypoints: np.ndarray,
                         scores: Optional[np.ndarray] = None,
                         neck: str = 'none'
                         ) -> Tuple[np.ndarray, np.ndarray]:
    """Reorder COCO-17 keypoints into HMR's COCO-plus-19.

    Args:
        keypoints (np.ndarray): (..., 17, 2) (or (..., 17, C)).
        scores (np.ndarray, optional): (..., 17) confidences; 1 if None.
        neck (str): ``'none'`` (zero confidence, HMR's choice) or
            ``'shoulders'`` (shoulder midpoint, the smaller shoulder
            confidence).

    Returns:
        tuple: keypoints (..., 19, C) float32 (missing joints at 0) and
        scores (..., 19) float32 (0 for missing joints).
    """
    keypoints = np.asarray(keypoints, np.float32)
    if keypoints.ndim < 2 or keypoints.shape[-2] != 17:
        raise ValueError('keypoints should be (..., 17, C), got '
                         f'{keypoints.shape}')
    if scores is None:
        scores = np.ones(keypoints.shape[:-1], np.float32)
    scores = np.asarray(scores, np.float32)
    if neck not in ('none', 'shoulders'):
        raise ValueError(f"neck should be 'none' or 'shoulders', got {neck!r}")
    idx = COCO17_TO_COCOPLUS19
    valid = idx >= 0
    safe = np.where(valid, idx, 0)
    out = keypoints[..., safe, :] * valid[:, None]
    out_scores = scores[..., safe] * valid
    if neck == 'shoulders':
        out[..., _NECK, :] = 0.5 * (keypoints[..., _L_SHOULDER, :] +
                                    keypoints[..., _R_SHOULDER, :])
        out_scores[..., _NECK] = np.minimum(scores[..., _L_SHOULDER],
                                            scores[..., _R_SHOULDER])
    return out.astype(np.float32), out_scores.astype(np.float32)


class KeypointEstimator:
    """COCO-17 keypoints per person box from an mmpose top-down model.

    Args:
        config (str | dict | Config): the pose model's config: a path, or
            ``'mmpose::<path under mmpose's .mim/configs>'`` for one shipped
            with mmpose (e.g. ``body_2d_keypoint/rtmpose/coco/``
            ``rtmpose-s_8xb256-420e_coco-256x192.py``). ``init_cfg``s naming
            pretrained weights are removed (nothing is downloaded).
        checkpoint (str, optional): local path of its weights. None: random
            weights (a warning says so once).
        device (str): Defaults to ``'cpu'``.
        flip_test (bool, optional): override the config's test-time flip
            (off halves the cost). Defaults to the config's.
        neck (str): how :meth:`predict_cocoplus` fills HMR's neck, see
            :func:`coco17_to_cocoplus19`. Defaults to ``'none'``.
        cfg_options (dict, optional): overrides merged into the config.

    ``estimator(image, bboxes)`` takes an (H, W, 3) uint8 RGB image and
    (N, 4) xyxy boxes in mmlwgan's pixel convention (pixel centres at
    integers, see :mod:`mmlwgan.preprocessing.person_detector`) and returns
    keypoints (N, 17, 2) float32 in the same pixel convention and scores
    (N, 17) float32. The model is built and run in the ``'mmpose'`` default
    scope; the caller's scope is restored afterwards.
    """

    def __init__(self,
                 config: ConfigLike,
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 flip_test: Optional[bool] = None,
                 neck: str = 'none',
                 cfg_options: Optional[dict] = None) -> None:
        from mmengine.registry import DefaultScope
        cfg = load_mm_config(config, cfg_options)
        if flip_test is not None and cfg.model.get('test_cfg') is not None:
            cfg.model.test_cfg['flip_test'] = bool(flip_test)
        checkpoint = check_checkpoint(checkpoint, 'KeypointEstimator')
        self.neck = neck
        self.device = str(device)
        with DefaultScope.overwrite_default_scope('mmpose'):
            from mmpose.apis import init_model
            self.model = init_model(cfg, checkpoint, device=self.device)
        names = (self.model.dataset_meta or {}).get('keypoint_id2name')
        self.num_keypoints = int((self.model.dataset_meta
                                  or {}).get('num_keypoints', 17))
        self.keypoint_names = tuple(names[i] for i in range(len(names))) \
            if isinstance(names, dict) else COCO17_JOINT_NAMES

    def __call__(self, image: np.ndarray,
                 bboxes: Union[np.ndarray, Sequence[Sequence[float]]]
                 ) -> Tuple[np.ndarray, np.ndarray]:
        from mmengine.registry import DefaultScope
        image = _as_rgb_uint8(image)
        bboxes = np.asarray(bboxes, np.float32).reshape(-1, 4)
        k = self.num_keypoints
        if len(bboxes) == 0:
            return np.zeros((0, k, 2), np.float32), np.zeros((0, k),
                                                              np.float32)
        with DefaultScope.overwrite_default_scope('mmpose'):
            from mmpose.apis import inference_topdown

            # mmpose takes BGR (cv2.imread) and boxes with an image
            # covering [0, W].
            results = inference_topdown(self.model,
                                        image[..., ::-1].copy(),
                                        bboxes + 0.5, bbox_format='xyxy')
        kpts = np.zeros((len(bboxes), k, 2), np.float32)
        scores = np.zeros((len(bboxes), k), np.float32)
        for i, res in enumerate(results):
            inst = res.pred_instances
            kpts[i] = np.asarray(inst.keypoints, np.float32).reshape(
                -1, k, 2)[0] - 0.5
            scores[i] = np.asarray(inst.keypoint_scores,
                                   np.float32).reshape(-1, k)[0]
        return kpts, scores

    def predict_cocoplus(self, image: np.ndarray,
                         bboxes: Union[np.ndarray, Sequence[Sequence[float]]]
                         ) -> Tuple[np.ndarray, np.ndarray]:
        """Keypoints in HMR's COCO-plus-19 order: (N, 19, 2) pixels and
        (N, 19) scores (``head_top``, and ``neck`` unless ``neck=
        'shoulders'``, get zero confidence)."""
        if self.num_keypoints != 17:
            raise ValueError('predict_cocoplus needs a COCO-17 model, this '
                             f'one predicts {self.num_keypoints} keypoints')
        kpts, scores = self(image, bboxes)
        return coco17_to_cocoplus19(kpts, scores, neck=self.neck)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""L1 error inside the rendered body silhouette (and over the whole image)."""
import math
from typing import Any, Dict, Optional

import numpy as np
from mmengine.logging import print_log
from torch import Tensor

from mmlwgan.registry import METRICS
from ..functional import masked_l1
from .base_sample_wise_metric import BaseSampleWiseMetric
from .metrics_utils import get_sample_field


@METRICS.register_module()
class MaskedL1Metric(BaseSampleWiseMetric):
    """Mean absolute error in the body region, and optionally everywhere.

    Per image: ``sum(|pred - gt| * mask) / (C * sum(mask))`` on the [-1, 1]
    images (the scale of the training L1 losses), with ``mask`` the rendered
    target silhouette ``body_mask``; then averaged over images. Images whose
    mask is empty are left out of ``MaskedL1``.

    Args:
        gt_key (str): Ground-truth field of the data samples.
        pred_key (str): Prediction field of the data samples.
        mask_key (str): Mask field (1, H, W) in {0, 1}.
        full_image (bool): Also report the L1 over the whole image.
        collect_device (str): 'cpu' or 'gpu', for distributed collection.
        prefix (str, optional): Prefix of the result keys; defaults to
            :attr:`default_prefix` (none).

    Metrics:
        - MaskedL1 (float): mean L1 inside the body mask (lower is better);
          NaN when every mask was empty.
        - L1 (float): mean L1 over the image (with ``full_image``).
    """
    default_prefix: Optional[str] = ''

    def __init__(self,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 mask_key: str = 'body_mask',
                 full_image: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(gt_key=gt_key, pred_key=pred_key,
                         collect_device=collect_device, prefix=prefix)
        self.mask_key = mask_key
        self.full_image = full_image

    def process_image(self, pred: Tensor, gt: Tensor,
                      sample: Any) -> Dict[str, float]:
        mask = get_sample_field(sample, self.mask_key).detach().float()
        if mask.dim() == 2:
            mask = mask[None]
        mask = mask.to(pred.device)
        result = {'MaskedL1': float(masked_l1(pred, gt, mask))}
        if self.full_image:
            result['L1'] = float(masked_l1(pred, gt))
        return result

    def compute_metrics(self, results: list) -> dict:
        masked = [r['MaskedL1'] for r in results
                  if not math.isnan(r['MaskedL1'])]
        if not masked:
            print_log('MaskedL1Metric: every body mask was empty.',
                      logger='current', level=30)
        metrics = {
            'MaskedL1': float(np.mean(masked)) if masked else float('nan')
        }
        if self.full_image:
            metrics['L1'] = float(np.mean([r['L1'] for r in results]))
        return metrics

# Copyright (c) mmlwgan contributors. All rights reserved.
"""PSNR metric."""
from typing import Any, Optional

from torch import Tensor

from mmlwgan.registry import METRICS
from ..functional import psnr
from .base_sample_wise_metric import BaseSampleWiseMetric


@METRICS.register_module()
class PSNRMetric(BaseSampleWiseMetric):
    """Peak signal-to-noise ratio between prediction and ground truth.

    Computed per image on the [-1, 1] images (data range 2, the same value
    as on the uint8 scale) and averaged over images.

    Args:
        gt_key (str): Ground-truth field of the data samples.
        pred_key (str): Prediction field of the data samples.
        quantize (bool): Round both images to 8 bits first (as saved files).
        collect_device (str): 'cpu' or 'gpu', for distributed collection.
        prefix (str, optional): Prefix of the result keys; defaults to
            :attr:`default_prefix` (none).

    Metrics:
        - PSNR (float): mean PSNR in dB (higher is better).
    """
    metric = 'PSNR'
    default_prefix: Optional[str] = ''

    def process_image(self, pred: Tensor, gt: Tensor, sample: Any) -> float:
        return psnr(pred, gt, data_range=2.)

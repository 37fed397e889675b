# Copyright (c) mmlwgan contributors. All rights reserved.
"""SSIM metric (the paper's self-imitation metric)."""
from typing import Any, Optional

from torch import Tensor

from mmlwgan.registry import METRICS
from ..functional import ssim
from .base_sample_wise_metric import BaseSampleWiseMetric


@METRICS.register_module()
class SSIMMetric(BaseSampleWiseMetric):
    """Structural similarity between prediction and ground truth.

    Per image, multichannel, on the [-1, 1] images with data range 2, then
    averaged over images. The defaults reproduce the release's measurement
    (skimage's ``structural_similarity(pred, ref, multichannel=True)``: 7 x 7
    uniform window, sample covariance); ``gaussian_weights=True,
    use_sample_covariance=False`` gives Wang et al.'s 11 x 11 Gaussian
    variant. See :func:`mmlwgan.evaluation.functional.ssim`.

    Args:
        gt_key (str): Ground-truth field of the data samples.
        pred_key (str): Prediction field of the data samples.
        gaussian_weights (bool): Gaussian window (sigma ``sigma``).
        sigma (float): Standard deviation of the Gaussian window.
        win_size (int, optional): Uniform window side (default 7).
        use_sample_covariance (bool): N - 1 normalised (co)variances.
        quantize (bool): Round both images to 8 bits first (as saved files).
        collect_device (str): 'cpu' or 'gpu', for distributed collection.
        prefix (str, optional): Prefix of the result keys; defaults to
            :attr:`default_prefix` (none).

    Metrics:
        - SSIM (float): mean SSIM (higher is better, 1 at most).
    """
    metric = 'SSIM'
    default_prefix: Optional[str] = ''

    def __init__(self,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 gaussian_weights: bool = False,
                 sigma: float = 1.5,
                 win_size: Optional[int] = None,
                 use_sample_covariance: bool = True,
                 quantize: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(gt_key=gt_key, pred_key=pred_key, quantize=quantize,
                         collect_device=collect_device, prefix=prefix)
        self.ssim_kwargs = dict(
            gaussian_weights=gaussian_weights, sigma=sigma, win_size=win_size,
            use_sample_covariance=use_sample_covariance)

    def process_image(self, pred: Tensor, gt: Tensor, sample: Any) -> float:
        return ssim(pred, gt, data_range=2., multichannel=True,
                    **self.ssim_kwargs)

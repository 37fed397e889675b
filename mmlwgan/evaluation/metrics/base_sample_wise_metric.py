# Copyright (c) mmlwgan contributors. All rights reserved.
"""Base of the metrics computed image by image and averaged (mmagic's
``BaseSampleWiseMetric``): SSIM, PSNR, masked L1."""
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from torch import Tensor

from .metrics_utils import get_sample_field, prepare_image


class BaseSampleWiseMetric(BaseMetric):
    """A metric of each (prediction, ground truth) pair, averaged over the
    pairs.

    :meth:`process` reads ``pred_key`` and ``gt_key`` of every data sample
    (:func:`~.metrics_utils.get_sample_field`), makes them (C, H, W) float
    images in [-1, 1] (:func:`~.metrics_utils.prepare_image`, rounded to 8
    bits first with ``quantize``) and stores what :meth:`process_image`
    returns: one value, kept under :attr:`metric`, or a dict of values.
    :meth:`compute_metrics` averages each key over the images.

    Args:
        gt_key (str): Ground-truth field of the data samples.
        pred_key (str): Prediction field of the data samples.
        quantize (bool): Round both images to 8 bits first (as saved files).
        collect_device (str): 'cpu' or 'gpu', for distributed collection.
        prefix (str, optional): Prefix of the result keys; defaults to
            :attr:`default_prefix` (none).
    """
    #: the result key of a single value
    metric: Optional[str] = None
    default_prefix: Optional[str] = ''

    def __init__(self,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 quantize: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.quantize = quantize

    def process_image(self, pred: Tensor, gt: Tensor, sample: Any
                      ) -> Union[float, Dict[str, float]]:
        """The metric of one prepared (C, H, W) pair; ``sample`` gives any
        other field (a mask)."""
        raise NotImplementedError

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        for sample in data_samples:
            pred = prepare_image(get_sample_field(sample, self.pred_key),
                                 self.quantize)
            gt = prepare_image(get_sample_field(sample, self.gt_key),
                               self.quantize)
            result = self.process_image(pred, gt, sample)
            if not isinstance(result, dict):
                result = {self.metric: result}
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict:
        keys = results[0].keys() if results else [self.metric]
        return {k: float(np.mean([r[k] for r in results])) for k in keys}

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Registered metrics (``METRICS``), each a thin wrapper of a pure function
in :mod:`mmlwgan.evaluation.functional`.

Result keys: ``SSIM``, ``PSNR``, ``MaskedL1``, ``L1``, ``LPIPS``, ``IS`` (and
``IS_std``), ``FReID``, with the metric's ``prefix`` (none by default)
before them as ``prefix/KEY``. A metric whose feature network was built
without pretrained weights appends ``_randinit`` to its keys
(``LPIPS_randinit``) and logs a warning: such numbers are not comparable to
published ones.

Shared helpers are in :mod:`.metrics_utils`; the per-image metrics (SSIM,
PSNR, masked L1) derive from :class:`.BaseSampleWiseMetric`.
"""
from .base_sample_wise_metric import BaseSampleWiseMetric
from .freid import FReIDMetric, mask_bbox
from .inception_score import InceptionScoreMetric
from .lpips import LPIPSMetric
from .masked_l1 import MaskedL1Metric
from .metrics_utils import RANDOM_INIT_SUFFIX, get_sample_field
from .psnr import PSNRMetric
from .ssim import SSIMMetric

__all__ = [
    'SSIMMetric', 'PSNRMetric', 'MaskedL1Metric', 'LPIPSMetric',
    'InceptionScoreMetric', 'FReIDMetric', 'mask_bbox', 'get_sample_field',
    'RANDOM_INIT_SUFFIX', 'BaseSampleWiseMetric'
]

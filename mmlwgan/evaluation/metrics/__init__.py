# Copyright (c) mmlwgan contributors. All rights reserved.
"""Registered metrics (``METRICS``), each a thin wrapper of a pure function
in :mod:`mmlwgan.evaluation.functional`.

Result keys: ``SSIM``, ``PSNR``, ``MaskedL1``, ``L1``, ``LPIPS``, ``IS`` (and
``IS_std``), ``FReID``, with the metric's ``prefix`` (none by default)
before them as ``prefix/KEY``. A metric whose feature network was built
without pretrained weights appends ``_randinit`` to its keys
(``LPIPS_randinit``) and logs a warning: such numbers are not comparable to
published ones.
"""
from .freid import FReIDMetric, mask_bbox
from .inception_score import InceptionScoreMetric
from .lpips import LPIPSMetric
from .masked_l1 import MaskedL1Metric
from .psnr import RANDOM_INIT_SUFFIX, PSNRMetric, get_sample_field
from .ssim import SSIMMetric

__all__ = [
    'SSIMMetric', 'PSNRMetric', 'MaskedL1Metric', 'LPIPSMetric',
    'InceptionScoreMetric', 'FReIDMetric', 'mask_bbox', 'get_sample_field',
    'RANDOM_INIT_SUFFIX'
]

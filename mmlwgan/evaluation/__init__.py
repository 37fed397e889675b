# Copyright (c) mmlwgan contributors. All rights reserved.
"""Evaluation: pure metric functions, feature networks and registered
metrics (SSIM, PSNR, masked L1, LPIPS, Inception score, FReID).

Nothing is downloaded: the feature networks load weights from paths given
as ``pretrained``; without one they are random and the metric keys get the
suffix ``_randinit``.
"""
from .feature_nets import (InceptionV3Classifier, LPIPSNet, PretrainedKeyError,
                           ReIDResNet, load_pretrained)
from .functional import (feature_stats, frechet_distance, inception_score,
                         lpips_distance, masked_l1, psnr, ssim)
from .metrics import (FReIDMetric, InceptionScoreMetric, LPIPSMetric,
                      MaskedL1Metric, PSNRMetric, SSIMMetric)

__all__ = [
    'ssim', 'psnr', 'masked_l1', 'lpips_distance', 'inception_score',
    'frechet_distance', 'feature_stats', 'LPIPSNet', 'InceptionV3Classifier',
    'ReIDResNet', 'PretrainedKeyError', 'load_pretrained', 'SSIMMetric',
    'PSNRMetric', 'MaskedL1Metric', 'LPIPSMetric', 'InceptionScoreMetric',
    'FReIDMetric'
]

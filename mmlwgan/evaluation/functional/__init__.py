# Copyright (c) mmlwgan contributors. All rights reserved.
"""Pure metric functions (no registry, no state)."""
from .frechet import feature_stats, frechet_distance
from .inception_score import inception_score
from .lpips import lpips_distance, lpips_from_features, normalize_tensor
from .psnr import masked_l1, psnr
from .ssim import ssim, to_hwc_numpy

__all__ = [
    'ssim', 'psnr', 'masked_l1', 'lpips_distance', 'lpips_from_features',
    'normalize_tensor', 'inception_score', 'frechet_distance',
    'feature_stats', 'to_hwc_numpy'
]

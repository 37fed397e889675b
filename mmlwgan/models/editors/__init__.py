# Copyright (c) mmlwgan contributors. All rights reserved.
"""The model: ``LiquidWarpingGAN`` (geometry path, generator, losses,
training and inference steps) and the background it composes over."""
from .liquid_warping_gan import LiquidWarpingGAN

__all__ = ['LiquidWarpingGAN']

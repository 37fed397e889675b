# Copyright (c) mmlwgan contributors. All rights reserved.
from .liquid_warping_gan import LiquidWarpingGAN

__all__ = ['LiquidWarpingGAN']

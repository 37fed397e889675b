# Copyright (c) mmlwgan contributors. All rights reserved.
"""Discriminators: the release's conditional patch discriminator and the
global + local (face) variant."""
from .global_local_discriminator import (GlobalLocalDiscriminator,
                                         crop_and_resize)
from .patch_discriminator import PatchDiscriminator, patch_output_size

__all__ = [
    'GlobalLocalDiscriminator', 'crop_and_resize', 'PatchDiscriminator',
    'patch_output_size'
]

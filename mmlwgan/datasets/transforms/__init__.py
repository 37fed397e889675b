# Copyright (c) mmlwgan contributors. All rights reserved.
"""Data transforms (registered in ``mmlwgan.registry.TRANSFORMS``)."""
from .formatting import PackLWGANInputs
from .loading import LoadPairFrames
from .processing import ResizeFrames, center_crop_square, pad_to_square

__all__ = [
    'LoadPairFrames', 'ResizeFrames', 'PackLWGANInputs', 'pad_to_square',
    'center_crop_square'
]

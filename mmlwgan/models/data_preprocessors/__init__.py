# Copyright (c) mmlwgan contributors. All rights reserved.
"""Batches from the dataloader to model inputs: images to [-1, 1], SMPL
thetas stacked."""
from .lwgan_preprocessor import LWGANDataPreprocessor

__all__ = ['LWGANDataPreprocessor']

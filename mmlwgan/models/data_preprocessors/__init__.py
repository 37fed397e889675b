# Copyright (c) mmlwgan contributors. All rights reserved.
from .lwgan_preprocessor import LWGANDataPreprocessor

__all__ = ['LWGANDataPreprocessor']

# Copyright (c) mmlwgan contributors. All rights reserved.
from .data_sample import LWGANDataSample

__all__ = ['LWGANDataSample']

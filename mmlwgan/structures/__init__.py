# Copyright (c) mmlwgan contributors. All rights reserved.
"""Data containers passed between dataset, model and metrics
(``LWGANDataSample``)."""
from .data_sample import LWGANDataSample

__all__ = ['LWGANDataSample']

# Copyright (c) mmlwgan contributors. All rights reserved.
from .dist_utils import setup_cpu_distributed, shutdown_distributed
from .hooks import LWGANVisualizationHook, UnwrappedCheckpointHook
from .optimizers import MultiOptimWrapperConstructor

__all__ = [
    'MultiOptimWrapperConstructor', 'LWGANVisualizationHook',
    'UnwrappedCheckpointHook', 'setup_cpu_distributed',
    'shutdown_distributed'
]

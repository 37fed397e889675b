# Copyright (c) mmlwgan contributors. All rights reserved.
"""Training machinery beyond mmengine's: hooks (visualisation, checkpoints of
the unwrapped model), the multi-optimiser constructor (G and D) and CPU
distributed set-up."""
from .dist_utils import setup_cpu_distributed, shutdown_distributed
from .hooks import LWGANVisualizationHook, UnwrappedCheckpointHook
from .optimizers import MultiOptimWrapperConstructor

__all__ = [
    'MultiOptimWrapperConstructor', 'LWGANVisualizationHook',
    'UnwrappedCheckpointHook', 'setup_cpu_distributed',
    'shutdown_distributed'
]

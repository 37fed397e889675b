# Copyright (c) mmlwgan contributors. All rights reserved.
"""Runner hooks: sample grids during training, and checkpoints saved from the
unwrapped model (loadable with or without a DDP wrapper)."""
from .unwrapped_checkpoint_hook import (UnwrappedCheckpointHook,
                                        add_unwrapped_checkpoint_hook,
                                        match_wrapper_keys,
                                        strip_wrapper_keys)
from .visualization_hook import LWGANVisualizationHook, make_grid

__all__ = [
    'LWGANVisualizationHook', 'make_grid', 'UnwrappedCheckpointHook',
    'add_unwrapped_checkpoint_hook', 'match_wrapper_keys',
    'strip_wrapper_keys'
]

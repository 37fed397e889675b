# Copyright (c) mmlwgan contributors. All rights reserved.
from .visualization_hook import LWGANVisualizationHook, make_grid

__all__ = ['LWGANVisualizationHook', 'make_grid']

# Copyright (c) mmlwgan contributors. All rights reserved.
from .hooks import LWGANVisualizationHook
from .optimizers import MultiOptimWrapperConstructor

__all__ = ['MultiOptimWrapperConstructor', 'LWGANVisualizationHook']

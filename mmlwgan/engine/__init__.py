# Copyright (c) mmlwgan contributors. All rights reserved.
from .optimizers import MultiOptimWrapperConstructor

__all__ = ['MultiOptimWrapperConstructor']

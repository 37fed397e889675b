# Copyright (c) mmlwgan contributors. All rights reserved.
from .multi_optimizer_constructor import MultiOptimWrapperConstructor

__all__ = ['MultiOptimWrapperConstructor']

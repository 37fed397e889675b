# Copyright (c) mmlwgan contributors. All rights reserved.
"""Optimiser wrappers: one Adam each for the generator and the
discriminator (the release's recipe)."""
from .multi_optimizer_constructor import MultiOptimWrapperConstructor

__all__ = ['MultiOptimWrapperConstructor']

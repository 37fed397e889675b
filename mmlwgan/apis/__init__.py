# Copyright (c) mmlwgan contributors. All rights reserved.
"""High-level APIs: ``init_model``, the task inferencers, personalisation."""
from .inference import (CheckpointMismatchError, ConfigError, init_model,
                        load_model_weights)
from .inferencers import (AppearanceTransferInferencer, BaseLWGANInferencer,
                          InferenceInputError, MotionImitationInferencer,
                          NoPersonError, NovelViewInferencer, smooth_thetas)
from .personalization import (load_personalized, personalize,
                              reconstruction_loss, save_personalized)

__all__ = [
    'init_model', 'load_model_weights', 'ConfigError',
    'CheckpointMismatchError', 'BaseLWGANInferencer',
    'MotionImitationInferencer', 'AppearanceTransferInferencer',
    'NovelViewInferencer', 'InferenceInputError', 'NoPersonError',
    'smooth_thetas', 'personalize', 'reconstruction_loss',
    'save_personalized', 'load_personalized'
]

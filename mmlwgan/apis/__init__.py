# Copyright (c) mmlwgan contributors. All rights reserved.
"""The public API: build a model (:func:`init_model`), run a task
(:class:`LWGANInferencer` keyed by task, or the three task inferencers),
personalise a model on its sources (:func:`personalize`), and the errors
they raise. The rooms below hold the rest: ``apis.inferencers`` (inputs,
smoothing, camera strategies, the optimised pipeline), ``apis.inference``
(checkpoint loading), ``apis.personalization``, ``apis.web`` (the optional
web app)."""
from .inference import CheckpointMismatchError, ConfigError, init_model
from .inferencers import (AppearanceTransferInferencer, InferenceInputError,
                          LWGANInferencer, MotionImitationInferencer,
                          NoPersonError, NovelViewInferencer)
from .personalization import personalize

__all__ = [
    'init_model', 'LWGANInferencer', 'MotionImitationInferencer',
    'AppearanceTransferInferencer', 'NovelViewInferencer', 'personalize',
    'ConfigError', 'CheckpointMismatchError', 'InferenceInputError',
    'NoPersonError'
]

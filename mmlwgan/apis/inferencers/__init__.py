# Copyright (c) mmlwgan contributors. All rights reserved.
"""Inferencers of the three Liquid Warping GAN tasks and their helpers."""
from mmlwgan.preprocessing.detector_builder import build_person_detector
from mmlwgan.utils.errors import InferenceInputError, NoPersonError
from .appearance_transfer_inferencer import AppearanceTransferInferencer
from .base_lwgan_inferencer import BaseLWGANInferencer
from .camera_strategies import (CAM_STRATEGIES, compose_target_thetas,
                                transfer_cams)
from .inputs import (ReferenceSource, load_smpl, load_smpl_sequence,
                     load_source_images, open_reference, read_image)
from .lwgan_inferencer import TASKS, LWGANInferencer
from .motion_imitation_inferencer import MotionImitationInferencer
from .novel_view_inferencer import NovelViewInferencer, sweep_views
from .smoothing import (SMOOTH_METHODS, OneEuroFilter, smooth_cams,
                        smooth_poses, smooth_rotations, smooth_thetas)
from .utils import OutputWriter

__all__ = [
    'BaseLWGANInferencer', 'LWGANInferencer', 'TASKS',
    'MotionImitationInferencer',
    'AppearanceTransferInferencer', 'NovelViewInferencer', 'OutputWriter',
    'build_person_detector', 'CAM_STRATEGIES', 'transfer_cams',
    'compose_target_thetas', 'InferenceInputError', 'NoPersonError',
    'ReferenceSource', 'load_smpl', 'load_smpl_sequence',
    'load_source_images', 'open_reference', 'read_image', 'sweep_views',
    'SMOOTH_METHODS', 'OneEuroFilter', 'smooth_cams', 'smooth_poses',
    'smooth_rotations', 'smooth_thetas'
]

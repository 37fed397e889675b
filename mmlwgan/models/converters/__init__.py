# Copyright (c) mmlwgan contributors. All rights reserved.
"""Converters from released checkpoints to mmlwgan modules."""
from .hmr import convert_hmr, extract_smpl_from_hmr
from .lwgan import (GENERATOR_RULES, RELEASE_MODEL_CFGS, build_release_model,
                    convert_lwgan_discriminator, convert_lwgan_generator)
from .sphereface import convert_sphereface
from .utils import (ConversionError, check_converted, check_state_dict,
                    extract_state_dict, load_checkpoint_file,
                    load_shape_listing, num_values, rename_state_dict,
                    save_checkpoint_atomic)

__all__ = [
    'GENERATOR_RULES', 'RELEASE_MODEL_CFGS', 'build_release_model',
    'convert_lwgan_discriminator', 'convert_lwgan_generator',
    'ConversionError', 'check_converted', 'check_state_dict',
    'extract_state_dict', 'load_checkpoint_file', 'load_shape_listing',
    'num_values', 'rename_state_dict', 'save_checkpoint_atomic',
    'convert_hmr', 'extract_smpl_from_hmr', 'convert_sphereface'
]

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Losses: pixel, perceptual (VGG19), face identity (SphereFace), mask,
total variation and GAN losses, with the release's weights in configs."""
try:  # SphereFace-20a is written separately; register it when present
    from .sphereface import SphereFace20a  # noqa: F401
except ModuleNotFoundError as e:  # only "the module does not exist yet"
    if e.name != 'mmlwgan.models.losses.sphereface':
        raise
    _HAS_SPHEREFACE = False
else:
    _HAS_SPHEREFACE = True

from .face_loss import (COCOPLUS_HEAD_INDICES, SMPL_HEAD_INDICES,
                        FaceIdentityLoss, crop_and_resize,
                        head_boxes_from_keypoints)
from .gan_loss import GANLoss, LSGANLoss
from .mask_losses import (L1Loss, MaskLoss, TVLoss, masked_l1,
                          total_variation)
from .perceptual import (VGG19, VGG19_LAYER_IDS, PerceptualLoss,
                         load_state_dict_file)

__all__ = [
    'VGG19', 'VGG19_LAYER_IDS', 'PerceptualLoss', 'load_state_dict_file',
    'FaceIdentityLoss', 'head_boxes_from_keypoints', 'crop_and_resize',
    'COCOPLUS_HEAD_INDICES', 'SMPL_HEAD_INDICES', 'GANLoss', 'LSGANLoss',
    'MaskLoss', 'TVLoss', 'L1Loss', 'masked_l1', 'total_variation'
]
if _HAS_SPHEREFACE:
    __all__.append('SphereFace20a')

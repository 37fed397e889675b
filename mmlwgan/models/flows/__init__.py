# Copyright (c) mmlwgan contributors. All rights reserved.
"""From rasterized meshes to warps: the transformation flow T, visibility,
the release's masks, and composition (I_syn) of one or several sources."""
from .composer import FlowComposer, sum_warped
from .flow import (BG_FLOW_VALUE, compose_flow, convert_grid_align_corners,
                   face_visibility, resize_flow, warp_image)
from .masks import dilate, erode, lwgan_masks, morph

__all__ = [
    'FlowComposer', 'sum_warped', 'BG_FLOW_VALUE', 'compose_flow',
    'convert_grid_align_corners', 'face_visibility', 'resize_flow',
    'warp_image', 'dilate', 'erode', 'lwgan_masks', 'morph'
]

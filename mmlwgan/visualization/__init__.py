# Copyright (c) mmlwgan contributors. All rights reserved.
"""Pictures for people: body meshes rendered with part colours, a
weak-perspective camera fitted for a rendering, labelled image strips."""
from .body_renderer import (BodyRenderer, fit_weak_perspective_camera,
                            vertex_part_colors)
from .image_utils import hstack_labelled, to_uint8

__all__ = [
    'BodyRenderer', 'fit_weak_perspective_camera', 'vertex_part_colors',
    'to_uint8', 'hstack_labelled'
]

# Copyright (c) mmlwgan contributors. All rights reserved.
"""The per-pixel output of mesh rasterization.

Coordinate conventions used by every renderer of mmlwgan:

* Vertices arrive in normalised device coordinates (NDC), ``(B, V, 3)``.
  ``x`` and ``y`` follow ``F.grid_sample(..., align_corners=False)``:
  ``x = -1`` is the left edge of the image, ``x = +1`` the right edge,
  ``y = -1`` the *top* edge and ``y = +1`` the bottom edge (``y`` grows
  downwards, like image rows). The centre of pixel ``(row i, col j)`` of an
  ``H x W`` image is ``x = (2 j + 1) / W - 1``, ``y = (2 i + 1) / H - 1``.
* ``z`` is a depth: larger ``z`` is farther from the camera. It is only used
  to order faces; there is no near or far clipping plane.
"""
from typing import NamedTuple

import torch
from torch import Tensor

#: Depth written on background pixels.
BACKGROUND_DEPTH = float('inf')
#: Face index written on background pixels.
BACKGROUND_FACE = -1


class Fragments(NamedTuple):
    """Rasterization result: the nearest face under each pixel centre.

    Attributes:
        face_idx (Tensor): ``(B, H, W)`` long. Index of the visible face
            *within its own mesh* (``0 <= idx < F``; no packing offset),
            ``-1`` on background pixels.
        bary (Tensor): ``(B, H, W, 3)`` float. Screen-space (2D, not
            perspective-corrected) barycentric weights of the face's three
            vertices, in the order of the face's vertex indices, at the pixel
            centre. They sum to 1 on covered pixels and lie in ``[0, 1]`` up
            to the rasterizer's inside tolerance (pixel centres exactly on an
            edge may give weights of about ``-1e-7``); all zeros on
            background pixels.
        depth (Tensor): ``(B, H, W)`` float. Interpolated ``z`` of the visible
            face at the pixel centre, ``sum_k bary_k * z_k``; ``+inf``
            (:data:`BACKGROUND_DEPTH`) on background pixels.
    """

    face_idx: Tensor
    bary: Tensor
    depth: Tensor

    @property
    def mask(self) -> Tensor:
        """``(B, H, W)`` bool, True on pixels covered by a face."""
        return self.face_idx >= 0

    @property
    def image_size(self) -> tuple:
        """``(H, W)`` of the rasterized image."""
        return tuple(self.face_idx.shape[-2:])

    def to(self, *args, **kwargs) -> 'Fragments':
        """Move/cast like :meth:`torch.Tensor.to`; ``face_idx`` stays long."""
        bary = self.bary.to(*args, **kwargs)
        return Fragments(
            face_idx=self.face_idx.to(device=bary.device),
            bary=bary,
            depth=self.depth.to(*args, **kwargs))

    @staticmethod
    def empty(
        batch_size: int,
        height: int,
        width: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device = torch.device('cpu')
    ) -> 'Fragments':
        """All-background fragments of the given size."""
        return Fragments(
            face_idx=torch.full((batch_size, height, width),
                                BACKGROUND_FACE,
                                dtype=torch.long,
                                device=device),
            bary=torch.zeros((batch_size, height, width, 3),
                             dtype=dtype,
                             device=device),
            depth=torch.full((batch_size, height, width),
                             BACKGROUND_DEPTH,
                             dtype=dtype,
                             device=device))

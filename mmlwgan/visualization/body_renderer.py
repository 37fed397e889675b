# Copyright (c) mmlwgan contributors. All rights reserved.
"""Render a posed body model: SMPL parameters -> NDC mesh -> images.

Glue over the geometry core used by the render CLI, the demo and the
synthetic-data generator. Cameras are the release's weak-perspective
``[s, tx, ty]`` (see :func:`mmlwgan.models.body.weak_perspective_project`).
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from mmlwgan.models.body import weak_perspective_project
from mmlwgan.models.renderers import (Fragments, MeshRasterizer,
                                      shade_vertex_colors)
from mmlwgan.registry import BODY_MODELS, MODELS, RENDERERS

# A palette for body parts (RGB in [0, 1]).
PART_PALETTE = torch.tensor([
    [0.90, 0.75, 0.62], [0.20, 0.45, 0.80], [0.85, 0.30, 0.25],
    [0.30, 0.70, 0.35], [0.95, 0.80, 0.20], [0.55, 0.35, 0.70],
    [0.25, 0.75, 0.80], [0.80, 0.45, 0.65], [0.45, 0.45, 0.45],
    [0.95, 0.55, 0.15], [0.60, 0.80, 0.30], [0.35, 0.25, 0.20],
])


def fit_weak_perspective_camera(verts: Tensor, margin: float = 0.1) -> Tensor:
    """The weak-perspective camera that fits each mesh into the image.

    Args:
        verts (Tensor): (B, V, 3) mesh in the camera-aligned frame (y down).
        margin (float): free border, as a fraction of the half-size of the
            image. Defaults to 0.1.

    Returns:
        Tensor: (B, 3) cameras ``[s, tx, ty]`` centring the bounding box and
        scaling its larger side to ``2 * (1 - margin)`` in NDC.
    """
    lo = verts[..., :2].amin(dim=1)
    hi = verts[..., :2].amax(dim=1)
    centre = (lo + hi) / 2
    extent = (hi - lo).amax(dim=-1).clamp(min=1e-6)
    s = 2 * (1 - margin) / extent
    return torch.cat([s[:, None], -centre], dim=-1)


def vertex_part_colors(faces: Tensor, face_labels: Tensor, num_verts: int,
                       palette: Tensor = PART_PALETTE) -> Tensor:
    """Per-vertex colours from per-face part labels.

    Args:
        faces (Tensor): (F, 3) long.
        face_labels (Tensor): (F,) long part label per face.
        num_verts (int): V.
        palette (Tensor): (P, 3) colours; labels wrap around.

    Returns:
        Tensor: (V, 3) in [0, 1]; a vertex takes the largest label among
        its faces (a deterministic choice at part borders).
    """
    labels = torch.full((num_verts,), -1, dtype=torch.long,
                        device=faces.device)
    labels.scatter_reduce_(0, faces.reshape(-1),
                           face_labels.repeat_interleave(3), 'amax')
    return palette.to(faces.device)[labels.clamp(min=0) % len(palette)]


@MODELS.register_module()
class BodyRenderer(nn.Module):
    """Pose a body model, project it and render it.

    Args:
        body_model (dict | nn.Module): a ``BODY_MODELS`` config (e.g.
            ``dict(type='SMPL', model_path=...)``) or a built body model.
        image_size (int | Sequence[int]): output size ``H = W`` or (H, W).
        rasterizer (dict, optional): ``RENDERERS`` config; the size is filled
            in. Defaults to the torch ``MeshRasterizer``.
    """

    def __init__(self,
                 body_model: Union[dict, nn.Module],
                 image_size: Union[int, Sequence[int]] = 256,
                 rasterizer: Optional[dict] = None) -> None:
        super().__init__()
        if isinstance(body_model, dict):
            body_model = BODY_MODELS.build(body_model)
        self.body_model = body_model
        cfg = dict(type='MeshRasterizer', backend='torch')
        cfg.update(rasterizer or {})
        cfg['image_size'] = image_size
        self.rasterizer: MeshRasterizer = RENDERERS.build(cfg)

    @property
    def faces(self) -> Tensor:
        """(F, 3) long faces of the body model."""
        return self.body_model.faces

    def posed_vertices(self, pose: Tensor, betas: Tensor) -> Tensor:
        """(B, 72) axis-angle pose, (B, 10) betas -> (B, V, 3) vertices."""
        return self.body_model(pose, betas)['vertices']

    def project(self, verts: Tensor, cam: Tensor) -> Tensor:
        """(B, V, 3) vertices and (B, 3) cameras -> (B, V, 3) NDC."""
        return weak_perspective_project(verts, cam)

    def rasterize(self, verts_ndc: Tensor) -> Fragments:
        return self.rasterizer(verts_ndc, self.faces)

    def default_colors(self) -> Tensor:
        """(V, 3) per-vertex colours: by body part when the model file has
        part labels, otherwise a single skin tone."""
        labels = getattr(self.body_model, 'face_part_labels', None)
        num_verts = self.body_model.num_verts
        if labels is None:
            return PART_PALETTE[0].to(self.faces.device).expand(num_verts, 3)
        return vertex_part_colors(self.faces, labels, num_verts)

    def render(self,
               pose: Tensor,
               betas: Tensor,
               cam: Optional[Tensor] = None,
               vert_colors: Optional[Tensor] = None,
               background: Union[float, Tensor] = 1.0
               ) -> Tuple[Tensor, Tensor, Fragments]:
        """Render shaded bodies.

        Args:
            pose (Tensor): (B, 72) axis-angle.
            betas (Tensor): (B, 10).
            cam (Tensor, optional): (B, 3) weak-perspective cameras; fitted
                to each mesh when None.
            vert_colors (Tensor, optional): (V, 3) or (B, V, 3) in [0, 1].
            background: scalar, (3,) colour or (B, 3, H, W) image.

        Returns:
            tuple: images (B, 3, H, W) in [0, 1], NDC vertices (B, V, 3) and
            the fragments.
        """
        verts = self.posed_vertices(pose, betas)
        if cam is None:
            cam = fit_weak_perspective_camera(verts)
        verts_ndc = self.project(verts, cam)
        frags = self.rasterize(verts_ndc)
        colors = self.default_colors() if vert_colors is None else vert_colors
        img = shade_vertex_colors(frags, self.faces, verts_ndc, colors,
                                  background=background)
        return img, verts_ndc, frags

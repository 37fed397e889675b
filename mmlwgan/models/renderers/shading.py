# Copyright (c) mmlwgan contributors. All rights reserved.
"""Simple shaded renders for visual checks and synthetic data.

Images are ``(B, 3, H, W)`` floats in ``[0, 1]``. Normals and light
directions live in our NDC / screen space (``x`` right, ``y`` down, ``z``
away from the camera; note that for a non-square image NDC is anisotropic,
which is fine for visual checks).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .cond_maps import interpolate_vertex_values
from .fragments import Fragments
from .torch_backend import batch_faces, gather_face_verts

Background = Union[float, Sequence[float], Tensor]


def face_normals(verts: Tensor, faces: Tensor) -> Tensor:
    """Unit face normals ``cross(v1 - v0, v2 - v0)`` (zero if degenerate).

    Args:
        verts (Tensor): ``(B, V, 3)``.
        faces (Tensor): ``(F, 3)`` or ``(B, F, 3)``.

    Returns:
        Tensor: ``(B, F, 3)``.
    """
    tri, _ = gather_face_verts(verts, batch_faces(faces, verts.shape[0]))
    normal = torch.cross(
        tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    return F.normalize(normal, dim=-1, eps=1e-12)


def _composite(fragments: Fragments, image: Tensor,
               background: Background) -> Tensor:
    """Put ``background`` under the uncovered pixels of ``image`` (B,C,H,W)."""
    mask = (fragments.face_idx >= 0).unsqueeze(1)
    bg = torch.as_tensor(background, dtype=image.dtype, device=image.device)
    if bg.dim() == 1:
        bg = bg.view(1, -1, 1, 1)
    return torch.where(mask, image, bg.expand_as(image))


def shade_vertex_colors(fragments: Fragments,
                        faces: Tensor,
                        verts_ndc: Tensor,
                        vert_colors: Tensor,
                        light_dir: Sequence[float] = (0.0, 0.0, -1.0),
                        ambient: float = 0.4,
                        diffuse: float = 0.6,
                        background: Background = 0.0) -> Tensor:
    """Flat Lambertian shading of interpolated vertex colours.

    ``colour = clamp(interp(vert_colors) * (ambient + diffuse * |n . l|),
    0, 1)`` with ``n`` the unit normal of the visible face computed in NDC
    and ``l`` the unit direction towards the light. Lighting is two-sided
    (``|n . l|``) because back faces are rasterized too and windings may be
    arbitrary.

    Args:
        fragments (Fragments): rasterization of ``verts_ndc``.
        faces (Tensor): ``(F, 3)`` or ``(B, F, 3)``.
        verts_ndc (Tensor): ``(B, V, 3)`` the rasterized NDC vertices.
        vert_colors (Tensor): ``(V, 3)`` or ``(B, V, 3)`` RGB in ``[0, 1]``.
        light_dir (Sequence[float]): direction *towards* the light in NDC;
            the default ``(0, 0, -1)`` is a light at the camera.
        ambient (float): ambient term.
        diffuse (float): diffuse weight.
        background: background image ``(B, 3, H, W)``, colour ``(3,)`` or
            scalar.

    Returns:
        Tensor: ``(B, 3, H, W)`` in ``[0, 1]`` (the background as given).
    """
    batch = verts_ndc.shape[0]
    faces_b = batch_faces(faces.to(verts_ndc.device), batch)
    colors = interpolate_vertex_values(fragments, faces_b,
                                       vert_colors.to(verts_ndc.dtype))
    light = F.normalize(
        torch.as_tensor(
            light_dir, dtype=verts_ndc.dtype, device=verts_ndc.device).view(3),
        dim=0)
    cos = (face_normals(verts_ndc, faces_b) * light).sum(-1).abs()  # (B, F)
    intensity = ambient + diffuse * cos
    shade = torch.gather(intensity, 1,
                         fragments.face_idx.clamp(min=0).flatten(1))
    shade = shade.view(batch, 1, *fragments.face_idx.shape[1:])
    image = (colors * shade).clamp(0.0, 1.0)
    return _composite(fragments, image, background)


def texture_lookup(fragments: Fragments,
                   faces: Tensor,
                   vert_uv: Tensor,
                   texture: Tensor,
                   uv_faces: Optional[Tensor] = None,
                   background: Background = 0.0,
                   mode: str = 'bilinear',
                   padding_mode: str = 'border') -> Tensor:
    """Sample a texture image at the interpolated UV of every pixel.

    Args:
        fragments (Fragments): rasterization of ``B`` meshes.
        faces (Tensor): ``(F, 3)`` or ``(B, F, 3)`` mesh faces; used to index
            ``vert_uv`` when ``uv_faces`` is None.
        vert_uv (Tensor): ``(VT, 2)`` or ``(B, VT, 2)`` UVs in ``[0, 1]``,
            ``u`` left to right, ``v`` top to bottom of the texture.
        texture (Tensor): ``(B, C, Ht, Wt)`` texture images.
        uv_faces (Tensor, optional): ``(F, 3)`` indices into ``vert_uv``
            (OBJ's ``ft``) when UVs are not per mesh vertex.
        background: background image ``(B, C, H, W)``, ``(C,)`` or scalar.
        mode (str): ``grid_sample`` interpolation mode.
        padding_mode (str): ``grid_sample`` padding mode.

    Returns:
        Tensor: ``(B, C, H, W)``; ``grid_sample(texture, 2 * uv - 1,
        align_corners=False)`` on covered pixels, background elsewhere.
    """
    index = faces if uv_faces is None else uv_faces
    uv = interpolate_vertex_values(fragments, index.to(vert_uv.device),
                                   vert_uv.to(texture.dtype))  # (B,2,H,W)
    grid = uv.permute(0, 2, 3, 1) * 2.0 - 1.0
    image = F.grid_sample(
        texture,
        grid,
        mode=mode,
        padding_mode=padding_mode,
        align_corners=False)
    return _composite(fragments, image, background)

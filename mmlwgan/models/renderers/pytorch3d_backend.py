# Copyright (c) mmlwgan contributors. All rights reserved.
"""Rasterization through pytorch3d's compiled ``rasterize_meshes``.

pytorch3d is optional: this module imports it lazily, so ``import mmlwgan``
never needs it; :func:`require_pytorch3d` raises an :class:`ImportError` with
an install hint when it is missing.

Convention conversion. Our NDC (see
:mod:`mmlwgan.models.renderers.fragments`) has ``+x`` right and ``+y`` down,
both spanning ``[-1, 1]`` over the image whatever its aspect ratio.
pytorch3d's NDC has ``+x`` left and ``+y`` up, and for a non-square image the
*shorter* side spans ``[-1, 1]`` while the longer one spans
``[-L/S, L/S]``. Its pixel ``(row i, col j)`` therefore has its centre at
``x3d = -x * W / S``, ``y3d = -y * H / S`` with ``S = min(H, W)``, which is
the map applied to our vertices (a 180 degree rotation plus a positive
scaling: windings are preserved). pytorch3d skips points with negative depth,
so each mesh's ``z`` is shifted to start at 1 and the shift is removed from
the returned depth (interpolated depth commutes with a shift).

Differences from the torch backend: pytorch3d treats a pixel centre exactly
on an edge as outside (strict inequalities) and skips faces with
``|area| <= 1e-8`` in its own NDC units; elsewhere the two agree.
"""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from .fragments import BACKGROUND_DEPTH, Fragments
from .torch_backend import batch_faces, parse_image_size

INSTALL_HINT = (
    'pytorch3d is required by the MeshRasterizer backend "pytorch3d" but '
    'could not be imported. Install it following '
    'https://github.com/facebookresearch/pytorch3d/blob/main/INSTALL.md '
    '(e.g. `pip install "git+https://github.com/facebookresearch/'
    'pytorch3d.git@stable"`), or use backend="torch" (pure PyTorch, no '
    'compilation needed) or backend="auto".')


def pytorch3d_available() -> bool:
    """Whether pytorch3d's mesh rasterizer can be imported."""
    try:
        require_pytorch3d()
    except ImportError:
        return False
    return True


def require_pytorch3d():
    """Import and return ``(rasterize_meshes, Meshes)`` from pytorch3d.

    Raises:
        ImportError: pytorch3d is missing or broken, with an install hint.
    """
    try:
        from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes
        from pytorch3d.structures import Meshes
    except (ImportError, OSError) as err:  # OSError: broken compiled ext.
        raise ImportError(f'{INSTALL_HINT} (original error: {err})') from err
    return rasterize_meshes, Meshes


def rasterize_meshes_pytorch3d(
        verts_ndc: Tensor,
        faces: Tensor,
        image_size: Union[int, Sequence[int]],
        bin_size: Optional[int] = None,
        max_faces_per_bin: Optional[int] = None) -> Fragments:
    """Rasterize with pytorch3d and return our :class:`Fragments`.

    Args:
        verts_ndc (Tensor): ``(B, V, 3)`` vertices in our NDC.
        faces (Tensor): ``(F, 3)`` or ``(B, F, 3)`` vertex indices; rows with
            an index outside ``[0, V)`` never cover.
        image_size (int | tuple[int, int]): ``H = W`` or ``(H, W)``.
        bin_size (int, optional): pytorch3d's coarse-to-fine bin size
            (``None``: its heuristic, ``0``: naive rasterization).
        max_faces_per_bin (int, optional): pytorch3d's per-bin face budget
            (``None``: its heuristic).

    Returns:
        Fragments: same layout and conventions as the torch backend
        (``face_idx`` within each mesh, ``-1`` background; barycentrics 0
        and depth ``+inf`` on background). Settings: one face per pixel,
        no blur, no perspective correction, no back-face culling.
    """
    rasterize_meshes, Meshes = require_pytorch3d()
    height, width = parse_image_size(image_size)
    batch, num_verts = verts_ndc.shape[:2]
    out_dtype = verts_ndc.dtype
    if out_dtype not in (torch.float32, torch.float64):
        out_dtype = torch.float32
    faces = batch_faces(faces.to(verts_ndc.device), batch)
    nfaces = faces.shape[1]
    if batch == 0 or nfaces == 0 or num_verts == 0:
        return Fragments.empty(batch, height, width, out_dtype,
                               verts_ndc.device)
    # bad rows become the degenerate face (0, 0, 0): keeps the numbering
    bad = ((faces < 0) | (faces >= num_verts)).any(-1, keepdim=True)
    faces = torch.where(bad, torch.zeros_like(faces), faces)

    short = float(min(height, width))
    verts = verts_ndc.float()
    z = verts[..., 2]
    z_min = torch.where(
        torch.isfinite(z), z, torch.full_like(z, float('inf'))).amin(1)
    z_min = torch.where(torch.isfinite(z_min), z_min, torch.zeros_like(z_min))
    shift = 1.0 - z_min  # (B,)
    verts3d = torch.stack([
        -verts[..., 0] * (width / short), -verts[..., 1] *
        (height / short), z + shift[:, None]
    ], -1)
    meshes = Meshes(verts=list(verts3d), faces=list(faces))
    pix_to_face, zbuf, bary, _ = rasterize_meshes(
        meshes,
        image_size=(height, width),
        blur_radius=0.0,
        faces_per_pixel=1,
        bin_size=bin_size,
        max_faces_per_bin=max_faces_per_bin,
        perspective_correct=False,
        clip_barycentric_coords=False,
        cull_backfaces=False)
    p2f = pix_to_face[..., 0]
    fg = p2f >= 0
    offsets = (torch.arange(batch, device=p2f.device) * nfaces).view(-1, 1, 1)
    face_idx = torch.where(fg, p2f - offsets, torch.full_like(p2f, -1))
    bary = torch.where(fg[..., None], bary[..., 0, :],
                       torch.zeros_like(bary[..., 0, :]))
    depth = torch.where(fg, zbuf[..., 0] - shift.view(-1, 1, 1),
                        torch.full_like(zbuf[..., 0], BACKGROUND_DEPTH))
    return Fragments(
        face_idx=face_idx.long(),
        bary=bary.to(out_dtype),
        depth=depth.to(out_dtype))

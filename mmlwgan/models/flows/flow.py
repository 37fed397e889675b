# Copyright (c) mmlwgan contributors. All rights reserved.
"""Transformation flow between two meshes that share their faces.

Coordinates are the project's normalised device coordinates (NDC), the
convention of ``F.grid_sample(align_corners=False)``: x = -1 is the left edge
of the image, y = -1 its top edge, pixel (row i, column j) of an H x W image
has its centre at ``((2j + 1) / W - 1, (2i + 1) / H - 1)``.

The flow ``T`` of the Liquid Warping GAN gives, for every pixel of the target
render, the location in the source image of the same point of the body::

    T(p) = sum_k bary_k(p) * proj_src(vertex_k of face fim(p))

Background pixels (and, optionally, pixels whose face the source cannot see)
get ``bg_value`` (-2 by default): out of range, so that ``grid_sample`` with
zero padding gives 0 there.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

BG_FLOW_VALUE = -2.0


def face_visibility(face_idx: Tensor, num_faces: int) -> Tensor:
    """Which faces cover at least one pixel of a render.

    Args:
        face_idx (Tensor): (B, H, W) long face index map, -1 on background.
        num_faces (int): F, the number of faces of the mesh.

    Returns:
        Tensor: (B, F) bool, True where the face is visible in that sample.
    """
    B = face_idx.shape[0]
    flat = face_idx.reshape(B, -1)
    vis = torch.zeros(B, num_faces + 1, dtype=torch.bool,
                      device=face_idx.device)
    # Background (-1) goes to the extra last slot, dropped below.
    idx = torch.where(flat < 0, torch.full_like(flat, num_faces), flat)
    vis.scatter_(1, idx, True)
    return vis[:, :num_faces]


def _gather_face_points(face_idx: Tensor, faces: Tensor,
                        points: Tensor) -> Tensor:
    """Gather, per pixel, the 2D points of the three vertices of its face.

    Args:
        face_idx (Tensor): (B, H, W) long, -1 on background.
        faces (Tensor): (F, 3) or (B, F, 3) long vertex indices.
        points (Tensor): (B, V, 2) per-vertex points.

    Returns:
        Tensor: (B, H, W, 3, 2); background pixels gather face 0 (callers
        mask them out).
    """
    B, H, W = face_idx.shape
    if faces.dim() == 2:
        faces = faces.unsqueeze(0).expand(B, -1, -1)
    safe_idx = face_idx.clamp(min=0).reshape(B, H * W)
    # (B, H*W, 3) vertex ids of each pixel's face
    vert_ids = torch.gather(faces, 1, safe_idx.unsqueeze(-1).expand(-1, -1, 3))
    pts = torch.gather(points, 1,
                       vert_ids.reshape(B, -1, 1).expand(-1, -1, 2))
    return pts.reshape(B, H, W, 3, 2)


def _gather_pixel_face_points(face_idx: Tensor, faces: Tensor,
                              points: Tensor) -> Tensor:
    """Same result as :func:`_gather_face_points`, faster: the three points
    of every face are gathered once per mesh ((B, F, 6), the release's
    ``f2pts``), then one row per pixel. A source shared by the whole batch
    (``points`` expanded from one mesh, stride 0) is gathered only once.

    Args:
        face_idx (Tensor): (B, H, W) long, -1 on background.
        faces (Tensor): (F, 3) or (B, F, 3) long vertex indices.
        points (Tensor): (B, V, 2) per-vertex points.

    Returns:
        Tensor: (B, H, W, 3, 2); background pixels gather face 0.
    """
    B, H, W = face_idx.shape
    shared = (points.shape[0] == 1 or points.stride(0) == 0) and \
        faces.dim() == 2
    if shared:
        # one mesh for all: (F, 6) rows indexed by the face index
        table = points[0][faces].reshape(faces.shape[0], 6)
        idx = face_idx.clamp(min=0).reshape(-1)
    else:
        if faces.dim() == 2:
            faces = faces.unsqueeze(0).expand(B, -1, -1)
        nf = faces.shape[1]
        vert = faces.reshape(B, nf * 3, 1).expand(-1, -1, 2)
        table = torch.gather(points, 1, vert).reshape(B * nf, 6)
        offset = torch.arange(B, device=face_idx.device) * nf
        idx = (face_idx.clamp(min=0).reshape(B, H * W) +
               offset[:, None]).reshape(-1)
    return table.index_select(0, idx).view(B, H, W, 3, 2)


def compose_flow(face_idx: Tensor,
                 bary: Tensor,
                 faces: Tensor,
                 src_verts_ndc: Tensor,
                 src_visible_faces: Optional[Tensor] = None,
                 bg_value: float = BG_FLOW_VALUE) -> Tensor:
    """Compose the transformation flow from a target render to a source.

    Vectorised over the batch and all pixels (no Python loop).

    Args:
        face_idx (Tensor): (B, H, W) long face index map of the *target*
            render, -1 on background.
        bary (Tensor): (B, H, W, 3) barycentric weights of the target render.
        faces (Tensor): (F, 3) or (B, F, 3) long faces shared by both meshes.
        src_verts_ndc (Tensor): (B, V, 2+) source vertices projected to NDC
            (only x, y are used).
        src_visible_faces (Tensor, optional): (B, F) bool. When given, target
            pixels whose face is not visible in the source are set to
            ``bg_value`` (the release's option to drop invisible faces).
        bg_value (float): value of background pixels. Defaults to -2.

    Returns:
        Tensor: (B, H, W, 2) flow in grid_sample coordinates
        (``align_corners=False``), x first.
    """
    pts = _gather_pixel_face_points(face_idx, faces, src_verts_ndc[..., :2])
    w = bary.unsqueeze(-1).to(pts.dtype)
    # sum_k w_k * p_k, as two fused multiply-adds (5x faster than a
    # reduction over the size-3 axis)
    flow = torch.addcmul(
        torch.addcmul(w[..., 0, :] * pts[..., 0, :], w[..., 1, :],
                      pts[..., 1, :]), w[..., 2, :], pts[..., 2, :])
    valid = face_idx >= 0
    if src_visible_faces is not None:
        vis = torch.gather(src_visible_faces, 1,
                           face_idx.clamp(min=0).flatten(1))
        valid = valid & vis.view_as(face_idx)
    return torch.where(valid.unsqueeze(-1), flow,
                       flow.new_full((), bg_value))


def convert_grid_align_corners(grid: Tensor, to_align_corners: bool) -> Tensor:
    """Convert grid_sample coordinates between the two pixel conventions.

    With ``align_corners=False`` the centre of pixel j of W lies at
    ``(2j + 1) / W - 1``; with ``align_corners=True`` at ``2j / (W - 1) - 1``.
    The released Liquid Warping GAN weights were trained with
    ``align_corners=True`` sampling; converting the flow lets those weights
    read the same source pixels our (``align_corners=False``) geometry means.
    Out-of-range values (background) stay out of range.

    Args:
        grid (Tensor): (B, H, W, 2) grid; its H and W are the sizes of the
            image it samples (the flow is at image resolution).
        to_align_corners (bool): True to go from the False convention to the
            True one, False for the reverse.

    Returns:
        Tensor: (B, H, W, 2) converted grid.
    """
    H, W = grid.shape[1:3]
    size = grid.new_tensor([W, H])
    if to_align_corners:
        # j = ((x + 1) * W - 1) / 2 ; x' = 2 j / (W - 1) - 1
        return ((grid + 1) * size - 1) / (size - 1).clamp(min=1) - 1
    return ((grid + 1) * (size - 1) + 1) / size - 1


def warp_image(src: Tensor,
               flow: Tensor,
               align_corners: bool = False,
               mode: str = 'bilinear') -> Tensor:
    """Warp a source image (or feature map) with a flow.

    Args:
        src (Tensor): (B, C, Hs, Ws) source image or features.
        flow (Tensor): (B, H, W, 2) grid in [-1, 1] (out of range gives 0).
            If its size differs from ``(Hs, Ws)`` it is resized bilinearly to
            the source's size first, as the release does for feature maps.
        align_corners (bool): grid_sample convention of ``flow``.
        mode (str): sampling mode. Defaults to 'bilinear'.

    Returns:
        Tensor: (B, C, Hs, Ws) if the flow was resized, else (B, C, H, W).
    """
    if flow.shape[1:3] != src.shape[-2:]:
        flow = resize_flow(flow, src.shape[-2:], align_corners=align_corners)
    return F.grid_sample(
        src, flow.to(src.dtype), mode=mode, padding_mode='zeros',
        align_corners=align_corners)


def resize_flow(flow: Tensor, size, align_corners: bool = False) -> Tensor:
    """Resize a flow field (values are normalised, so they are unchanged).

    Args:
        flow (Tensor): (B, H, W, 2).
        size (tuple[int, int]): output (H', W').
        align_corners (bool): interpolation convention (the release used
            bilinear with ``align_corners=True``).

    Returns:
        Tensor: (B, H', W', 2).
    """
    out = F.interpolate(
        flow.permute(0, 3, 1, 2), size=tuple(size), mode='bilinear',
        align_corners=align_corners)
    return out.permute(0, 2, 3, 1)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""An obviously-correct (and slow) reference rasterizer for tests.

Every pixel centre is tested against every face with float64 NumPy and dense
broadcasting: textbook 2D barycentric coordinates in NDC, inside when all
three are ``>= -eps``, depth interpolated with those weights, nearest face
wins, exact depth ties go to the smaller face index (``np.argmin`` returns
the first minimum). Only meant for small images and meshes
(``H * W * F`` of a few million at most).

Conventions are those of :mod:`mmlwgan.models.renderers.fragments`: the
centre of pixel ``(row i, col j)`` of an ``H x W`` image is
``x = (2 j + 1) / W - 1``, ``y = (2 i + 1) / H - 1`` (``y`` downwards).
"""
from typing import Sequence, Tuple, Union

import numpy as np
import torch

from mmlwgan.models.renderers.fragments import Fragments

ArrayLike = Union[np.ndarray, torch.Tensor]


def _to_numpy(x: ArrayLike) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _size(image_size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(image_size, int):
        return image_size, image_size
    return int(image_size[0]), int(image_size[1])


def pixel_centers_ndc(height: int, width: int) -> Tuple[np.ndarray, ...]:
    """NDC ``(x, y)`` of all pixel centres, each ``(H * W,)``, row-major."""
    rows, cols = np.meshgrid(
        np.arange(height), np.arange(width), indexing='ij')
    x = (2.0 * cols.reshape(-1) + 1.0) / width - 1.0
    y = (2.0 * rows.reshape(-1) + 1.0) / height - 1.0
    return x, y


def _faces_per_mesh(faces: np.ndarray, batch: int) -> np.ndarray:
    faces = faces.astype(np.int64)
    if faces.ndim == 2:
        faces = np.broadcast_to(faces, (batch, ) + faces.shape)
    return faces


def _mesh_barycentrics(verts: np.ndarray, faces: np.ndarray, px: np.ndarray,
                       py: np.ndarray, eps: float, degenerate_eps: float):
    """Barycentrics ``(P, F, 3)``, depths ``(P, F)``, inside ``(P, F)``."""
    num_verts = verts.shape[0]
    valid = ((faces >= 0) & (faces < num_verts)).all(1)
    tri = verts[np.clip(faces, 0, max(num_verts - 1, 0))]  # (F, 3, 3)
    x0, x1, x2 = tri[:, 0, 0], tri[:, 1, 0], tri[:, 2, 0]
    y0, y1, y2 = tri[:, 0, 1], tri[:, 1, 1], tri[:, 2, 1]
    cross = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    ok = valid & (np.abs(cross) > degenerate_eps) & np.isfinite(
        tri.reshape(len(tri), -1)).all(1)
    denom = np.where(ok, (y1 - y2) * (x0 - x2) + (x2 - x1) * (y0 - y2), 1.0)
    dx = px[:, None] - x2[None]
    dy = py[:, None] - y2[None]
    l0 = ((y1 - y2)[None] * dx + (x2 - x1)[None] * dy) / denom[None]
    l1 = ((y2 - y0)[None] * dx + (x0 - x2)[None] * dy) / denom[None]
    l2 = 1.0 - l0 - l1
    bary = np.stack([l0, l1, l2], -1)
    depth = (bary * tri[None, :, :, 2]).sum(-1)
    inside = (bary >= -eps).all(-1) & ok[None]
    return bary, depth, inside, tri, ok


def brute_force_rasterize(verts_ndc: ArrayLike,
                          faces: ArrayLike,
                          image_size: Union[int, Sequence[int]],
                          eps: float = 1e-7,
                          degenerate_eps: float = 1e-12) -> Fragments:
    """Reference rasterization (see module docstring).

    Args:
        verts_ndc: ``(B, V, 3)`` NDC vertices.
        faces: ``(F, 3)`` or ``(B, F, 3)`` vertex indices; rows with an index
            outside ``[0, V)`` are ignored.
        image_size: ``H = W`` or ``(H, W)``.
        eps: Inside tolerance on barycentrics.
        degenerate_eps: Faces with ``|2 * area|`` (NDC) at or below it never
            cover.

    Returns:
        Fragments: float64 CPU tensors.
    """
    verts = _to_numpy(verts_ndc).astype(np.float64)
    batch = verts.shape[0]
    faces_b = _faces_per_mesh(_to_numpy(faces), batch)
    height, width = _size(image_size)
    px, py = pixel_centers_ndc(height, width)
    face_idx = np.full((batch, height * width), -1, np.int64)
    bary_out = np.zeros((batch, height * width, 3))
    depth_out = np.full((batch, height * width), np.inf)
    for b in range(batch):
        if faces_b.shape[1] == 0:
            continue
        bary, depth, inside, _, _ = _mesh_barycentrics(verts[b], faces_b[b],
                                                       px, py, eps,
                                                       degenerate_eps)
        masked = np.where(inside, depth, np.inf)
        best = np.argmin(masked, axis=1)  # first minimum: smaller index
        hit = inside.any(1)
        rows = np.nonzero(hit)[0]
        face_idx[b, rows] = best[rows]
        bary_out[b, rows] = bary[rows, best[rows]]
        depth_out[b, rows] = depth[rows, best[rows]]
    return Fragments(
        face_idx=torch.from_numpy(face_idx.reshape(batch, height, width)),
        bary=torch.from_numpy(bary_out.reshape(batch, height, width, 3)),
        depth=torch.from_numpy(depth_out.reshape(batch, height, width)))


def _segment_distance(px, py, ax, ay, bx, by):
    """Distance ``(P, F)`` from points ``(P,)`` to segments ``(F,)``."""
    ex, ey = bx - ax, by - ay
    len2 = np.maximum(ex * ex + ey * ey, 1e-300)
    t = ((px[:, None] - ax[None]) * ex[None] +
         (py[:, None] - ay[None]) * ey[None]) / len2[None]
    t = np.clip(t, 0.0, 1.0)
    dx = px[:, None] - (ax[None] + t * ex[None])
    dy = py[:, None] - (ay[None] + t * ey[None])
    return np.sqrt(dx * dx + dy * dy)


def ambiguous_pixels(verts_ndc: ArrayLike,
                     faces: ArrayLike,
                     image_size: Union[int, Sequence[int]],
                     edge_tol: float = 1e-3,
                     depth_tol: float = 1e-6,
                     eps: float = 1e-7,
                     degenerate_eps: float = 1e-12) -> torch.Tensor:
    """Pixels whose expected result is numerically fragile.

    A pixel is ambiguous when its centre lies within ``edge_tol`` (NDC, in
    screen space) of an edge of any non-degenerate face, or when the two
    nearest faces covering it have depths within ``depth_tol``.

    Returns:
        Tensor: ``(B, H, W)`` bool.
    """
    verts = _to_numpy(verts_ndc).astype(np.float64)
    batch = verts.shape[0]
    faces_b = _faces_per_mesh(_to_numpy(faces), batch)
    height, width = _size(image_size)
    px, py = pixel_centers_ndc(height, width)
    out = np.zeros((batch, height * width), bool)
    for b in range(batch):
        if faces_b.shape[1] == 0:
            continue
        _, depth, inside, tri, ok = _mesh_barycentrics(verts[b], faces_b[b],
                                                       px, py, eps,
                                                       degenerate_eps)
        near_edge = np.zeros((len(px), ), bool)
        for k in range(3):
            a, c = tri[:, k], tri[:, (k + 1) % 3]
            dist = _segment_distance(px, py, a[:, 0], a[:, 1], c[:, 0], c[:,
                                                                          1])
            near_edge |= ((dist <= edge_tol) & ok[None]).any(1)
        masked = np.sort(np.where(inside, depth, np.inf), axis=1)
        if masked.shape[1] >= 2:
            first, second = masked[:, 0], masked[:, 1]
            with np.errstate(invalid='ignore'):
                gap = np.where(np.isfinite(second), second - first, np.inf)
            close = gap <= depth_tol
        else:
            close = np.zeros_like(near_edge)
        out[b] = near_edge | close
    return torch.from_numpy(out.reshape(batch, height, width))

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Pure-PyTorch mesh rasterizer (CPU and CUDA, no compiled extension).

Algorithm (vectorised scanline conversion; the only Python loop is over a
bounded number of chunks):

1. Every face is mapped to *pixel space*, where the centre of pixel
   ``(i, j)`` is the integer point ``(x=j, y=i)``. Its bounding box is clipped
   to the image (a face larger than the image costs at most ``H x W``) and
   its three barycentric weights and its depth are written as affine
   functions of the pixel offset inside the box, from coefficients computed
   in float64.
2. Each face is split into *row segments* (one per box row). For a segment
   the inside condition ``w_k >= -eps`` of each of the three weights is a
   half-line in the column offset, so the covered pixels of the row form one
   interval ``[lo, hi]`` obtained in closed form; no per-pixel inside test is
   needed and only covered (face, pixel) pairs are ever enumerated.
3. Covered pairs are z-buffered by a single ``scatter_reduce(..., 'amin')``
   into a flat ``(B * H * W,)`` int64 buffer whose keys pack
   ``order-preserving bits of the float32 depth << 32 | face index``, so the
   nearest face wins and equal depths go to the smaller face index,
   deterministically, in one pass.
4. For the winning face of every covered pixel the barycentric weights and
   the depth are recomputed at the pixel centre (float64, differentiable
   with respect to the vertices).

Memory is bounded: segments are processed in chunks whose candidate pixels
(box widths) add up to about ``max_pairs`` (chunks may split a face between
rows), whatever the size of the faces. The result does not depend on
``max_pairs``.

Rules (shared with :mod:`mmlwgan.testing.brute_force_raster`):

* Coverage: a face covers a pixel when the pixel centre ``p`` satisfies
  ``w_k(p) >= -eps`` for its three screen-space barycentric weights
  (``eps = 1e-7`` by default). Triangles are thus closed: a centre exactly on
  an edge shared by two faces belongs to both and the depth / face-index rule
  decides, so closed meshes show no cracks.
* Both windings rasterize (no back-face culling).
* Degenerate faces (``|cross(v1 - v0, v2 - v0)| <= degenerate_eps`` in NDC
  units, i.e. twice the area), faces with a non-finite vertex and faces with
  a vertex index outside ``[0, V)`` (e.g. ``-1`` padding) never cover.
* Faces partly or entirely off-screen are clipped by the pixel grid.
* No near/far plane: every finite ``z``, negative included, rasterizes.
* Nearest face wins (smallest interpolated ``z``); depths are compared in
  float32, and depths equal in float32 go to the smaller face index.
* Barycentric weights are 2D (screen space), i.e. not perspective-corrected:
  inputs are NDC coordinates of an orthographic / weak-perspective
  projection, for which screen-space interpolation is exact.
"""
from typing import Sequence, Tuple, Union

import torch
from torch import Tensor

from .fragments import BACKGROUND_DEPTH, Fragments

_INT64_MAX = torch.iinfo(torch.int64).max
_LOW32 = 0xFFFFFFFF
_SIGN_CLEAR = 0x7FFFFFFF

DEFAULT_MAX_PAIRS = 1 << 20


def parse_image_size(image_size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """Return ``(H, W)`` from an int (square) or an ``(H, W)`` pair."""
    if isinstance(image_size, int):
        height = width = image_size
    else:
        height, width = (int(s) for s in image_size)
    if height <= 0 or width <= 0:
        raise ValueError(f'image_size must be positive, got {image_size}')
    return height, width


def batch_faces(faces: Tensor, batch_size: int) -> Tensor:
    """Return faces as a ``(B, F, 3)`` long tensor.

    Args:
        faces (Tensor): ``(F, 3)`` (shared by the batch) or ``(B, F, 3)``
            integer vertex indices.
        batch_size (int): ``B``.

    Returns:
        Tensor: ``(B, F, 3)`` long (a view when ``faces`` is shared).
    """
    if faces.dim() == 2:
        faces = faces.unsqueeze(0).expand(batch_size, -1, -1)
    if faces.dim() != 3 or faces.shape[-1] != 3:
        raise ValueError(
            f'faces must be (F, 3) or (B, F, 3), got {tuple(faces.shape)}')
    if faces.shape[0] != batch_size:
        raise ValueError(f'faces batch {faces.shape[0]} != verts batch '
                         f'{batch_size}')
    return faces.long()


def gather_face_verts(verts: Tensor, faces: Tensor) -> Tuple[Tensor, Tensor]:
    """Gather per-face vertices.

    Args:
        verts (Tensor): ``(B, V, C)``.
        faces (Tensor): ``(B, F, 3)`` long; indices outside ``[0, V)`` are
            allowed (padding) and flagged invalid.

    Returns:
        tuple[Tensor, Tensor]: face vertices ``(B, F, 3, C)`` (invalid
        indices gather vertex 0) and a ``(B, F)`` bool validity mask.
    """
    num_verts = verts.shape[1]
    valid = ((faces >= 0) & (faces < num_verts)).all(-1)
    safe = faces.clamp(0, max(num_verts - 1, 0))
    batch, nfaces = safe.shape[:2]
    idx = safe.reshape(batch, nfaces * 3, 1).expand(-1, -1, verts.shape[-1])
    face_verts = verts.gather(1, idx).reshape(batch, nfaces, 3,
                                              verts.shape[-1])
    return face_verts, valid


def _ordered_depth_bits(z: Tensor) -> Tensor:
    """Map float32 depths to int64 values with the same order (no NaN)."""
    bits = (z.float() + 0.0).view(torch.int32)  # + 0.0 turns -0.0 into +0.0
    bits = bits ^ ((bits >> 31) & _SIGN_CLEAR)
    return bits.long()


def _setup_faces(px: Tensor, py: Tensor, pz: Tensor, valid: Tensor,
                 height: int, width: int, eps: float,
                 degenerate_eps: float) -> Tuple[Tensor, ...]:
    """Per-face boxes and affine barycentric/depth coefficients.

    Args:
        px, py, pz (Tensor): ``(N, 3)`` float64 pixel-space coordinates.
        valid (Tensor): ``(N,)`` bool, False for faces that must not
            rasterize (bad indices, non-finite vertices).

    Returns:
        tuple: ``box_w, box_h, row0, col0`` ``(N,)`` long (``box_h = 0`` for
        faces that cover nothing) and ``coef`` ``(N, 3, 4)`` float64 whose
        rows are the value at the box origin pixel ``(row0, col0)``, the
        derivative per column and the derivative per row, and whose columns
        are ``w0, w1, w2, z``.
    """
    x0, x1, x2 = px.unbind(1)
    y0, y1, y2 = py.unbind(1)
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    # degeneracy is judged in NDC units: pixel-space area * 4 / (W * H)
    area_ndc = area * (4.0 / (width * height))
    ok = valid & (area_ndc.abs() > degenerate_eps)

    xmin, xmax = px.amin(1), px.amax(1)
    ymin, ymax = py.amin(1), py.amax(1)
    # {w_k >= -eps} is the triangle scaled by (1 + 3 eps) about its
    # centroid: grow the box so that it stays a superset of covered pixels.
    extent = torch.maximum(xmax - xmin, ymax - ymin)
    tol = 3.0 * eps * extent + 1e-6
    big = float(max(height, width) + 2)
    col0 = torch.ceil((xmin - tol).clamp(-1.0, big)).clamp(min=0)
    col1 = torch.floor((xmax + tol).clamp(-1.0, big)).clamp(max=width - 1)
    row0 = torch.ceil((ymin - tol).clamp(-1.0, big)).clamp(min=0)
    row1 = torch.floor((ymax + tol).clamp(-1.0, big)).clamp(max=height - 1)
    box_w = (col1 - col0 + 1).clamp(min=0)
    box_h = (row1 - row0 + 1).clamp(min=0)
    ok = ok & (box_w > 0) & (box_h > 0)
    box_h = torch.where(ok, box_h, torch.zeros_like(box_h))
    box_w = torch.where(ok, box_w, torch.ones_like(box_w))

    safe_area = torch.where(ok, area, torch.ones_like(area))
    # w_k = E_k / area with E_k(p) = ex * (p.y - ay) - ey * (p.x - ax) on
    # the edge (a, b) opposite to vertex k: (v1, v2), (v2, v0), (v0, v1)
    ax, ay = px.roll(-1, 1), py.roll(-1, 1)
    bx, by = px.roll(-2, 1), py.roll(-2, 1)
    ex, ey = bx - ax, by - ay
    inv = 1.0 / safe_area.unsqueeze(1)
    w_org = (ex * (row0.unsqueeze(1) - ay) - ey *
             (col0.unsqueeze(1) - ax)) * inv
    w_dc = -ey * inv
    w_dr = ex * inv
    pz = torch.where(ok.unsqueeze(1), pz, torch.zeros_like(pz))
    coef = torch.stack([w_org, w_dc, w_dr], 1)  # (N, 3, 3)
    coef = torch.cat([coef, (coef * pz.unsqueeze(1)).sum(2, True)], 2)
    return box_w.long(), box_h.long(), row0.long(), col0.long(), coef


def _zbuffer_segments(fid: Tensor, dr: Tensor, box_w: Tensor, base: Tensor,
                      coef: Tensor, face_in_mesh: Tensor, width: int,
                      eps: float, zbuf: Tensor) -> None:
    """Scan-convert one chunk of row segments into the key buffer.

    Args:
        fid (Tensor): ``(S,)`` compact face index of each segment.
        dr (Tensor): ``(S,)`` row offset of each segment in its face's box.
        box_w, base, face_in_mesh (Tensor): ``(N,)`` per-face box width,
            flat pixel index of the box origin, face index within its mesh.
        coef (Tensor): ``(N, 3, 4)`` see :func:`_setup_faces`.
        zbuf (Tensor): ``(B * H * W,)`` int64 key buffer, updated in place.
    """
    co = coef.index_select(0, fid)  # (S, 3, 4)
    row_val = torch.addcmul(co[:, 0], co[:, 2], dr.to(co.dtype).unsqueeze(1))
    slope = co[:, 1]
    w_row, w_slope = row_val[:, :3], slope[:, :3]
    # w_row + w_slope * dc >= -eps  <=>  dc >= t (slope > 0), dc <= t (< 0)
    t = (-eps - w_row) / w_slope
    inf = torch.full_like(t, float('inf'))
    lo = torch.where(w_slope > 0, t, -inf).amax(1)
    hi = torch.where(w_slope < 0, t, inf).amin(1)
    flat_out = ((w_slope == 0) & (w_row < -eps)).any(1)
    bw = box_w.index_select(0, fid)
    lo = torch.ceil(lo.clamp(-1.0, float(width))).clamp(min=0).long()
    hi = torch.minimum(
        torch.floor(hi.clamp(-1.0, float(width))).long(), bw - 1)
    num = (hi - lo + 1).clamp(min=0).masked_fill_(flat_out, 0)
    total = int(num.sum())
    if total == 0:
        return
    first = num.cumsum(0) - num
    # per-segment tables, gathered once per covered pixel
    seg_long = torch.stack([
        lo - first,
        base.index_select(0, fid) + dr * width + lo - first,
        face_in_mesh.index_select(0, fid)
    ], 1)
    seg_float = torch.stack([row_val[:, 3], slope[:, 3]], 1)
    sid = torch.repeat_interleave(
        torch.arange(fid.numel(), device=fid.device), num, output_size=total)
    q = torch.arange(total, device=fid.device)
    pl = seg_long.index_select(0, sid)
    pf = seg_float.index_select(0, sid)
    dc = q + pl[:, 0]
    pix = q + pl[:, 1]
    z = torch.addcmul(pf[:, 0], pf[:, 1], dc.to(pf.dtype))
    key = _ordered_depth_bits(z) * (1 << 32) + pl[:, 2]
    zbuf.scatter_reduce_(0, pix, key, reduce='amin', include_self=True)


def _range_of_rows(box_h: Tensor, seg_ends: Tensor, seg_starts: Tensor, s: int,
                   e: int) -> Tuple[Tensor, Tensor]:
    """Face id and row offset of the global segments ``s .. e - 1``."""
    device = box_h.device
    f0 = int(torch.searchsorted(seg_ends, s, right=True))
    f1 = int(torch.searchsorted(seg_ends, e - 1, right=True))
    cnt = box_h[f0:f1 + 1].clone()
    cnt[0] = min(int(seg_ends[f0]), e) - s
    if f1 > f0:
        cnt[-1] = e - int(seg_starts[f1])
    fid = torch.repeat_interleave(
        torch.arange(f0, f1 + 1, device=device), cnt, output_size=e - s)
    dr = torch.arange(s, e, device=device) - seg_starts.index_select(0, fid)
    return fid, dr


@torch.no_grad()
def _zbuffer(px: Tensor, py: Tensor, pz: Tensor, valid: Tensor, batch: int,
             nfaces: int, height: int, width: int, max_pairs: int, eps: float,
             degenerate_eps: float) -> Tensor:
    """Return the ``(B * H * W,)`` int64 key buffer (see module doc)."""
    device = px.device
    zbuf = torch.full((batch * height * width, ),
                      _INT64_MAX,
                      dtype=torch.long,
                      device=device)
    box_w, box_h, row0, col0, coef = _setup_faces(px, py, pz, valid, height,
                                                  width, eps, degenerate_eps)
    keep = box_h.nonzero().squeeze(1)
    if keep.numel() == 0:
        return zbuf
    box_w, box_h, coef = box_w[keep], box_h[keep], coef[keep]
    bidx = torch.div(keep, nfaces, rounding_mode='floor')
    face_in_mesh = keep - bidx * nfaces
    base = bidx * (height * width) + row0[keep] * width + col0[keep]

    seg_ends = box_h.cumsum(0)
    seg_starts = seg_ends - box_h
    num_segs = int(seg_ends[-1])
    area = box_w * box_h
    area_ends = area.cumsum(0)
    total_area = int(area_ends[-1])
    chunk = max(int(max_pairs), 1)
    if total_area <= chunk:
        bounds = [0, num_segs]
    else:
        # cut every `chunk` candidate pixels, rounded up to a whole row
        cuts = torch.arange(chunk, total_area, chunk, device=device)
        face = torch.searchsorted(area_ends, cuts, right=True)
        offset = cuts - (area_ends - area).index_select(0, face)
        bw = box_w.index_select(0, face)
        rows = torch.div(offset + bw - 1, bw, rounding_mode='floor')
        segs = seg_starts.index_select(0, face) + rows
        bounds = [0] + segs.tolist() + [num_segs]
    for s, e in zip(bounds[:-1], bounds[1:]):
        if e <= s:
            continue
        fid, dr = _range_of_rows(box_h, seg_ends, seg_starts, s, e)
        _zbuffer_segments(fid, dr, box_w, base, coef, face_in_mesh, width, eps,
                          zbuf)
    return zbuf


def rasterize_meshes_torch(verts_ndc: Tensor,
                           faces: Tensor,
                           image_size: Union[int, Sequence[int]],
                           max_pairs: int = DEFAULT_MAX_PAIRS,
                           eps: float = 1e-7,
                           degenerate_eps: float = 1e-12) -> Fragments:
    """Rasterize a batch of meshes given in NDC with pure PyTorch.

    See the module docstring for the coverage, tie and clipping rules.

    Args:
        verts_ndc (Tensor): ``(B, V, 3)`` float vertices in NDC (``x`` right,
            ``y`` down, both in ``[-1, 1]`` on screen, ``z`` larger =
            farther).
        faces (Tensor): ``(F, 3)`` shared or ``(B, F, 3)`` per-mesh integer
            vertex indices; rows with an index outside ``[0, V)`` (e.g.
            ``-1`` padding) are ignored.
        image_size (int | tuple[int, int]): ``H = W`` or ``(H, W)``.
        max_pairs (int): About the most candidate (face, pixel) pairs (box
            pixels) scan-converted at once (a chunk ends at a box row, so it
            can exceed this by less than one image row); bounds the peak
            memory to roughly ``100 * max_pairs`` bytes plus the output. The
            result does not depend on it.
        eps (float): Inside tolerance on the barycentric weights.
        degenerate_eps (float): Faces with ``|2 * area|`` in NDC units at or
            below this never cover a pixel.

    Returns:
        Fragments: ``face_idx (B, H, W)``, ``bary (B, H, W, 3)`` and
        ``depth (B, H, W)`` in the dtype of ``verts_ndc`` (float32 for
        half inputs). ``bary`` and ``depth`` are differentiable with respect
        to ``verts_ndc``; ``face_idx`` is not.
    """
    if verts_ndc.dim() != 3 or verts_ndc.shape[-1] != 3:
        raise ValueError(
            f'verts_ndc must be (B, V, 3), got {tuple(verts_ndc.shape)}')
    height, width = parse_image_size(image_size)
    batch = verts_ndc.shape[0]
    out_dtype = verts_ndc.dtype
    if out_dtype not in (torch.float32, torch.float64):
        out_dtype = torch.float32
    device = verts_ndc.device
    faces = batch_faces(faces.to(device), batch)
    nfaces = faces.shape[1]
    if batch == 0 or nfaces == 0 or verts_ndc.shape[1] == 0:
        return Fragments.empty(batch, height, width, out_dtype, device)

    face_verts, valid = gather_face_verts(verts_ndc.double(), faces)
    face_verts = face_verts.reshape(batch * nfaces, 3, 3)
    valid = valid.reshape(-1) & torch.isfinite(face_verts).flatten(1).all(1)
    # pixel space: pixel (i, j) centre at (x=j, y=i)
    px = (face_verts[..., 0] + 1.0) * (0.5 * width) - 0.5
    py = (face_verts[..., 1] + 1.0) * (0.5 * height) - 0.5
    pz = face_verts[..., 2]

    zbuf = _zbuffer(px.detach(), py.detach(), pz.detach(), valid, batch,
                    nfaces, height, width, max_pairs, eps, degenerate_eps)

    # exact barycentrics / depth of the winning face at covered pixels
    hw = height * width
    covered = zbuf != _INT64_MAX
    face_idx = torch.where(covered, zbuf & _LOW32, torch.full_like(zbuf, -1))
    pix = covered.nonzero().squeeze(1)
    fim = face_idx.index_select(0, pix)
    bidx = torch.div(pix, hw, rounding_mode='floor')
    rem = pix - bidx * hw
    row = torch.div(rem, width, rounding_mode='floor')
    cy = row.to(px.dtype)
    cx = (rem - row * width).to(px.dtype)
    flat = bidx * nfaces + fim
    fx = px.index_select(0, flat)  # (N, 3)
    fy = py.index_select(0, flat)
    x0, x1, x2 = fx.unbind(1)
    y0, y1, y2 = fy.unbind(1)
    # E_k = edge function of the edge opposite to vertex k, at the centre
    edge = torch.stack([(x2 - x1) * (cy - y1) - (y2 - y1) * (cx - x1),
                        (x0 - x2) * (cy - y2) - (y0 - y2) * (cx - x2),
                        (x1 - x0) * (cy - y0) - (y1 - y0) * (cx - x0)], 1)
    bary = edge / edge.sum(1, keepdim=True)
    depth = (bary * pz.index_select(0, flat)).sum(1)

    numel = batch * hw
    bary_out = bary.new_zeros((numel, 3)).index_copy(0, pix, bary)
    depth_out = depth.new_full((numel, ),
                               BACKGROUND_DEPTH).index_copy(0, pix, depth)
    return Fragments(
        face_idx=face_idx.view(batch, height, width),
        bary=bary_out.view(batch, height, width, 3).to(out_dtype),
        depth=depth_out.view(batch, height, width).to(out_dtype))

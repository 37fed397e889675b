# Copyright (c) mmlwgan contributors. All rights reserved.
"""Per-pixel encodings of rasterized meshes (condition maps, silhouettes).

All maps are channel-first float tensors ``(B, C, H, W)``, like images.

UV convention: ``u`` in ``[0, 1]`` grows left to right and ``v`` in
``[0, 1]`` grows top to bottom of the texture image (image-row convention,
i.e. OBJ's ``vt`` with ``v`` flipped, as the release does when it reads its
``mapper.txt``). ``F.grid_sample`` coordinates are then ``(2u - 1, 2v - 1)``.
"""
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from mmlwgan.registry import MODELS
from .fragments import Fragments

ArrayOrPath = Union[str, np.ndarray, Tensor]

#: Background value of the release's UV condition map.
UV_BACKGROUND = (0.0, 0.0, 1.0)
#: Background value of the canonical condition map (outside [0, 1]).
CANONICAL_BACKGROUND = -1.0


def _bg_tensor(background: Union[float, Sequence[float], Tensor],
               channels: int, ref: Tensor) -> Tensor:
    bg = torch.as_tensor(background, dtype=ref.dtype, device=ref.device)
    if bg.dim() == 0:
        bg = bg.expand(channels)
    return bg.reshape(channels)


def _batched(x: Tensor, batch: int, dims: int) -> Tensor:
    """Add / check a leading batch dim so that ``x`` has ``dims`` dims."""
    if x.dim() == dims - 1:
        x = x.unsqueeze(0).expand(batch, *x.shape)
    if x.shape[0] != batch:
        raise ValueError(f'batch {x.shape[0]} != fragments batch {batch}')
    return x


def silhouette(fragments: Fragments) -> Tensor:
    """Body mask.

    Returns:
        Tensor: ``(B, 1, H, W)`` float, 1 on covered pixels, 0 elsewhere.
    """
    return (fragments.face_idx >= 0).unsqueeze(1).to(fragments.bary.dtype)


def face_values_map(
        fragments: Fragments,
        face_values: Tensor,
        background: Union[float, Sequence[float], Tensor] = 0.) -> Tensor:
    """Paint every covered pixel with a per-face value (flat shading).

    Args:
        fragments (Fragments): rasterization of ``B`` meshes.
        face_values (Tensor): ``(F, C)`` or ``(B, F, C)``.
        background: value(s) of background pixels, scalar or ``(C,)``.

    Returns:
        Tensor: ``(B, C, H, W)`` in the dtype of ``face_values``.
    """
    batch = fragments.face_idx.shape[0]
    values = _batched(face_values.to(fragments.face_idx.device), batch, 3)
    channels = values.shape[-1]
    mask = fragments.face_idx >= 0
    idx = fragments.face_idx.clamp(min=0).flatten(1)  # (B, HW)
    out = values.gather(1, idx.unsqueeze(-1).expand(-1, -1, channels))
    out = out.view(*fragments.face_idx.shape, channels)
    bg = _bg_tensor(background, channels, out)
    out = torch.where(mask.unsqueeze(-1), out, bg)
    return out.permute(0, 3, 1, 2).contiguous()


def interpolate_face_vertex_values(
        fragments: Fragments,
        face_vertex_values: Tensor,
        background: Union[float, Sequence[float], Tensor] = 0.) -> Tensor:
    """Interpolate values given at each face's three corners.

    Args:
        fragments (Fragments): rasterization of ``B`` meshes.
        face_vertex_values (Tensor): ``(F, 3, C)`` or ``(B, F, 3, C)``
            values at the face corners, in the face's vertex order.
        background: value(s) of background pixels, scalar or ``(C,)``.

    Returns:
        Tensor: ``(B, C, H, W)``, ``sum_k bary_k * value_k`` on covered
        pixels.
    """
    batch = fragments.face_idx.shape[0]
    values = _batched(
        face_vertex_values.to(fragments.face_idx.device), batch, 4)
    nfaces, channels = values.shape[1], values.shape[-1]
    mask = fragments.face_idx >= 0
    idx = fragments.face_idx.clamp(min=0).flatten(1)  # (B, HW)
    corners = values.reshape(batch, nfaces, 3 * channels).gather(
        1,
        idx.unsqueeze(-1).expand(-1, -1, 3 * channels))
    corners = corners.view(*idx.shape, 3, channels)
    bary = fragments.bary.flatten(1, 2).to(corners.dtype)  # (B, HW, 3)
    out = (bary.unsqueeze(-1) * corners).sum(2)
    out = out.view(*fragments.face_idx.shape, channels)
    bg = _bg_tensor(background, channels, out)
    out = torch.where(mask.unsqueeze(-1), out, bg)
    return out.permute(0, 3, 1, 2).contiguous()


def interpolate_vertex_values(
        fragments: Fragments,
        faces: Tensor,
        vert_values: Tensor,
        background: Union[float, Sequence[float], Tensor] = 0.) -> Tensor:
    """Interpolate per-vertex values with the barycentric weights.

    Args:
        fragments (Fragments): rasterization of ``B`` meshes.
        faces (Tensor): ``(F, 3)`` or ``(B, F, 3)`` indices into
            ``vert_values``.
        vert_values (Tensor): ``(V, C)`` or ``(B, V, C)``.
        background: value(s) of background pixels.

    Returns:
        Tensor: ``(B, C, H, W)``.
    """
    batch = fragments.face_idx.shape[0]
    values = _batched(vert_values.to(fragments.face_idx.device), batch, 3)
    faces = _batched(faces.long().to(values.device), batch, 3)
    nfaces, channels = faces.shape[1], values.shape[-1]
    corners = values.gather(
        1,
        faces.reshape(batch, -1, 1).expand(-1, -1, channels))
    corners = corners.view(batch, nfaces, 3, channels)
    return interpolate_face_vertex_values(fragments, corners, background)


def uv_cond_map(fragments: Fragments, face_uv: Tensor) -> Tensor:
    """The release's 3-channel condition map from one UV point per face.

    Args:
        fragments (Fragments): rasterization of ``B`` meshes.
        face_uv (Tensor): ``(F, 2)`` or ``(B, F, 2)`` UV point of each face
            in ``[0, 1]`` (see :func:`load_uv_mapping`).

    Returns:
        Tensor: ``(B, 3, H, W)``: ``(u, v, 0)`` on body pixels and
        ``(0, 0, 1)`` on background pixels.
    """
    uv0 = torch.cat([face_uv, face_uv.new_zeros(*face_uv.shape[:-1], 1)], -1)
    return face_values_map(fragments, uv0, UV_BACKGROUND)


def uv_cond_map_interp(fragments: Fragments, vert_uv: Tensor,
                       uv_faces: Tensor) -> Tensor:
    """Condition map with per-pixel interpolated UV (smooth variant).

    Args:
        fragments (Fragments): rasterization of ``B`` meshes.
        vert_uv (Tensor): ``(VT, 2)`` or ``(B, VT, 2)`` UV vertices in
            ``[0, 1]``.
        uv_faces (Tensor): ``(F, 3)`` indices into ``vert_uv`` for each mesh
            face (OBJ's ``ft``; the mesh faces themselves when the UVs are
            per mesh vertex).

    Returns:
        Tensor: ``(B, 3, H, W)``: ``(u, v, 0)`` on body pixels, ``(0, 0, 1)``
        on background pixels.
    """
    uv0 = torch.cat([vert_uv, vert_uv.new_zeros(*vert_uv.shape[:-1], 1)], -1)
    return interpolate_vertex_values(fragments, uv_faces, uv0, UV_BACKGROUND)


def canonical_cond_map(fragments: Fragments,
                       faces: Tensor,
                       canonical_verts: Tensor,
                       bounds: Optional[Sequence] = None,
                       background: float = CANONICAL_BACKGROUND) -> Tensor:
    """Condition map of interpolated rest-pose (canonical) coordinates.

    Each body pixel gets the 3D point of the canonical (e.g. T-pose) body
    that projects there, normalised per axis to ``[0, 1]``; this is a dense,
    seam-free alternative to the UV encoding.

    Args:
        fragments (Fragments): rasterization of ``B`` meshes.
        faces (Tensor): ``(F, 3)`` or ``(B, F, 3)`` mesh faces.
        canonical_verts (Tensor): ``(V, 3)`` or ``(B, V, 3)`` rest-pose
            vertices of the same mesh topology, in the body model's units.
        bounds (tuple, optional): ``(lo, hi)``, each of 3 values, the box
            mapped to ``[0, 1]^3``; by default the per-mesh axis-aligned
            bounding box of ``canonical_verts``, so body values fill
            ``[0, 1]``.
        background (float): value of all three channels on background
            pixels. The default ``-1`` lies outside ``[0, 1]`` and so cannot
            be confused with a body pixel.

    Returns:
        Tensor: ``(B, 3, H, W)``.
    """
    batch = fragments.face_idx.shape[0]
    verts = _batched(canonical_verts, batch, 3)
    if bounds is None:
        lo = verts.amin(1, keepdim=True)
        hi = verts.amax(1, keepdim=True)
    else:
        lo = torch.as_tensor(
            bounds[0], dtype=verts.dtype, device=verts.device).view(1, 1, 3)
        hi = torch.as_tensor(
            bounds[1], dtype=verts.dtype, device=verts.device).view(1, 1, 3)
    scale = (hi - lo).clamp(min=torch.finfo(verts.dtype).eps)
    normed = (verts - lo) / scale
    return interpolate_vertex_values(fragments, faces, normed, background)


# ---------------------------------------------------------------------------
# UV mapping files
# ---------------------------------------------------------------------------


def _parse_obj_uv(path: str) -> Dict[str, np.ndarray]:
    """Read ``vt`` and the texture indices of ``f`` lines of an OBJ file."""
    vts, fts = [], []
    with open(path, 'r') as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == 'vt':
                vts.append([float(parts[1]), float(parts[2])])
            elif parts[0] == 'f':
                corners = parts[1:4]
                if any(
                        len(c.split('/')) < 2 or not c.split('/')[1]
                        for c in corners):
                    raise ValueError(f'{path}: face lines need v/vt indices')
                fts.append([int(c.split('/')[1]) - 1 for c in corners])
    return dict(vt=np.asarray(vts, np.float32), ft=np.asarray(fts, np.int64))


def release_face_uv(vert_uv: np.ndarray, uv_faces: np.ndarray) -> np.ndarray:
    """The release's per-face UV point from per-vertex UVs.

    The release (``compute_barycenter`` in its mesh utilities) uses
    ``v2 + 0.5 (v0 - v2) + 0.5 (v1 - v2)``, i.e. the midpoint of the face's
    first UV edge, not the centroid; reproduced here so converted
    checkpoints see the same condition maps.

    Args:
        vert_uv (np.ndarray): ``(VT, 2)``.
        uv_faces (np.ndarray): ``(F, 3)``.

    Returns:
        np.ndarray: ``(F, 2)``.
    """
    corners = vert_uv[uv_faces]
    return 0.5 * (corners[:, 0] + corners[:, 1])


def load_uv_mapping(mapping: Union[str, np.ndarray, Dict],
                    flip_v: Optional[bool] = None) -> Dict[str, np.ndarray]:
    """Load a UV mapping in any of the supported layouts.

    Supported inputs:

    * an OBJ-like text file (the release's ``mapper.txt``; ``.txt`` or
      ``.obj``) with ``vt u v`` lines and ``f v/vt[/vn]`` lines; ``v`` is
      flipped (``1 - v``) by default, as the release does;
    * a ``.txt`` numeric table or ``.npy`` array of shape ``(F, 2)``
      (one UV point per face) or ``(F, 3, 2)`` (UV of each face corner);
    * a ``.npz`` file or a dict with ``face_uv`` ``(F, 2)`` and/or
      ``vt`` (alias ``vert_uv``) ``(VT, 2)`` with ``ft`` (alias
      ``uv_faces``) ``(F, 3)``;
    * an array as above.

    Args:
        mapping: path, array or dict.
        flip_v (bool, optional): replace ``v`` by ``1 - v``. Defaults to
            True for OBJ files and False otherwise (arrays are taken to be in
            mmlwgan's UV convention already).

    Returns:
        dict: ``face_uv`` ``(F, 2)`` float32 always (for per-vertex UVs the
        release's per-face point, :func:`release_face_uv`), plus ``vt``
        ``(VT, 2)`` and ``ft`` ``(F, 3)`` when per-vertex UVs are known.
    """
    is_obj = False
    if isinstance(mapping, str):
        if not osp.isfile(mapping):
            raise FileNotFoundError(
                f'UV mapping file {mapping!r} does not exist. It is the '
                "Liquid Warping GAN release's assets/pretrains/mapper.txt "
                '(in its pretrains.zip): put it there, or run '
                'tools/model_converters/convert_release.py RELEASE_ASSETS_DIR '
                '--out DIR, which copies it and writes DIR/config.py with '
                'every path filled in')
        ext = osp.splitext(mapping)[1].lower()
        if ext == '.npz':
            with np.load(mapping) as data:
                mapping = {k: data[k] for k in data.files}
        elif ext == '.npy':
            mapping = np.load(mapping)
        elif ext in ('.txt', '.obj'):
            with open(mapping, 'r') as f:
                text = f.read()
            if any(line.split()[:1] == ['vt'] for line in text.splitlines()):
                mapping, is_obj = _parse_obj_uv(mapping), True
            else:
                mapping = np.loadtxt(mapping, dtype=np.float32, ndmin=2)
        else:
            raise ValueError(f'unsupported UV mapping file {mapping}')
    if flip_v is None:
        flip_v = is_obj
    if isinstance(mapping, Tensor):
        mapping = mapping.detach().cpu().numpy()
    if isinstance(mapping, np.ndarray):
        if mapping.ndim == 2 and mapping.shape[1] == 2:
            mapping = dict(face_uv=mapping)
        elif mapping.ndim == 3 and mapping.shape[1:] == (3, 2):
            nf = mapping.shape[0]
            mapping = dict(
                vt=mapping.reshape(-1, 2),
                ft=np.arange(3 * nf, dtype=np.int64).reshape(nf, 3))
        else:
            raise ValueError('UV mapping arrays must be (F, 2) or (F, 3, 2), '
                             f'got {mapping.shape}')
    mapping = {
        k: (v.detach().cpu().numpy() if isinstance(v, Tensor) else v)
        for k, v in dict(mapping).items()
    }
    out = {}
    vt = mapping.get('vt', mapping.get('vert_uv'))
    ft = mapping.get('ft', mapping.get('uv_faces'))
    if vt is not None and ft is not None:
        vt = np.asarray(vt, np.float32).copy()
        if flip_v:
            vt[:, 1] = 1.0 - vt[:, 1]
        out['vt'] = vt
        out['ft'] = np.asarray(ft, np.int64)
    if 'face_uv' in mapping:
        face_uv = np.asarray(mapping['face_uv'], np.float32).copy()
        if flip_v:
            face_uv[:, 1] = 1.0 - face_uv[:, 1]
        out['face_uv'] = face_uv
    elif 'vt' in out:
        out['face_uv'] = release_face_uv(out['vt'], out['ft'])
    else:
        raise ValueError('UV mapping needs face_uv or vt + ft, got keys '
                         f'{sorted(mapping)}')
    return out


def _load_array(x: Optional[ArrayOrPath]) -> Optional[np.ndarray]:
    if x is None:
        return None
    if isinstance(x, Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, str):
        if x.endswith('.npy'):
            return np.load(x)
        return np.loadtxt(x, ndmin=2)
    return np.asarray(x)


@MODELS.register_module()
class CondMapEncoder(nn.Module):
    """Turn :class:`Fragments` into the generator's condition map.

    Args:
        mode (str): ``'uv'`` (the release's map: one UV point per face, or
            interpolated per-vertex UVs with ``interpolate=True``) or
            ``'canonical'`` (interpolated rest-pose coordinates, see
            :func:`canonical_cond_map`).
        uv_mapping (str | array | dict, optional): for ``'uv'``, anything
            :func:`load_uv_mapping` reads.
        interpolate (bool): for ``'uv'``, interpolate per-vertex UVs
            (needs ``vt``/``ft`` in the mapping) instead of one point per
            face. Defaults to False (the release).
        flip_v (bool, optional): passed to :func:`load_uv_mapping`.
        canonical_verts (str | array, optional): for ``'canonical'``,
            ``(V, 3)`` rest-pose vertices (``.npy`` / text path or array); can
            also be given to :meth:`forward`.
        faces (str | array, optional): for ``'canonical'``, ``(F, 3)`` mesh
            faces; can also be given to :meth:`forward`.
        bounds (tuple, optional): for ``'canonical'``, fixed normalisation
            box ``(lo, hi)``.

    The loaded tables are non-persistent buffers: they follow ``.to()`` but
    never enter a ``state_dict``.
    """

    out_channels = 3

    def __init__(self,
                 mode: str = 'uv',
                 uv_mapping: Optional[Union[str, np.ndarray, Dict]] = None,
                 interpolate: bool = False,
                 flip_v: Optional[bool] = None,
                 canonical_verts: Optional[ArrayOrPath] = None,
                 faces: Optional[ArrayOrPath] = None,
                 bounds: Optional[Sequence] = None) -> None:
        super().__init__()
        if mode not in ('uv', 'canonical'):
            raise ValueError(f"mode must be 'uv' or 'canonical', got {mode!r}")
        self.mode = mode
        self.interpolate = interpolate
        self.bounds = bounds
        self.face_uv: Optional[Tensor]
        self.vert_uv: Optional[Tensor]
        self.uv_faces: Optional[Tensor]
        self.canonical_verts: Optional[Tensor]
        self.faces: Optional[Tensor]
        for name in ('face_uv', 'vert_uv', 'uv_faces', 'canonical_verts',
                     'faces'):
            self.register_buffer(name, None, persistent=False)
        if mode == 'uv':
            if uv_mapping is None:
                raise ValueError("mode='uv' needs a uv_mapping")
            table = load_uv_mapping(uv_mapping, flip_v=flip_v)
            self.face_uv = torch.from_numpy(table['face_uv']).float()
            if interpolate:
                if 'vt' not in table:
                    raise ValueError('interpolate=True needs per-vertex UVs '
                                     '(vt + ft) in the UV mapping')
                self.vert_uv = torch.from_numpy(table['vt']).float()
                self.uv_faces = torch.from_numpy(table['ft']).long()
        else:
            verts = _load_array(canonical_verts)
            if verts is not None:
                self.canonical_verts = torch.as_tensor(
                    verts, dtype=torch.float32)
            mesh_faces = _load_array(faces)
            if mesh_faces is not None:
                self.faces = torch.as_tensor(mesh_faces).long()

    def forward(self,
                fragments: Fragments,
                faces: Optional[Tensor] = None,
                canonical_verts: Optional[Tensor] = None) -> Tensor:
        """Encode.

        Args:
            fragments (Fragments): rasterization of ``B`` meshes.
            faces (Tensor, optional): ``(F, 3)`` mesh faces, overriding the
                configured ones (``'canonical'`` mode only).
            canonical_verts (Tensor, optional): ``(V, 3)`` or ``(B, V, 3)``
                rest-pose vertices overriding the configured ones
                (``'canonical'`` mode only), e.g. each subject's own shape.

        Returns:
            Tensor: ``(B, 3, H, W)``; ``'uv'``: ``(u, v, 0)`` on the body and
            ``(0, 0, 1)`` on background; ``'canonical'``: normalised
            coordinates in ``[0, 1]`` on the body and ``-1`` on background.
        """
        dtype = fragments.bary.dtype
        if self.mode == 'uv':
            if self.interpolate:
                return uv_cond_map_interp(fragments, self.vert_uv.to(dtype),
                                          self.uv_faces)
            return uv_cond_map(fragments, self.face_uv.to(dtype))
        faces = self.faces if faces is None else faces
        verts = (
            self.canonical_verts
            if canonical_verts is None else canonical_verts)
        if faces is None or verts is None:
            raise ValueError("mode='canonical' needs faces and "
                             'canonical_verts (at construction or call)')
        return canonical_cond_map(fragments, faces, verts.to(dtype),
                                  self.bounds)

    def extra_repr(self) -> str:
        return f'mode={self.mode!r}, interpolate={self.interpolate}'

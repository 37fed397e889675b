# Copyright (c) mmlwgan contributors. All rights reserved.
"""Geometry off the SMPL surface for the synthetic iPER data (the
``loose`` option of :mod:`.realism`).

Hair as an offset shell over the hair-painted part of the head (thicker for
long hair), skirts as a flared surface hanging from the waist and skinned
to the pelvis and hips, loose sleeves as a shell over the sleeve that
flares towards the cuff (:func:`loose_spec` picks them per actor and
outfit, :func:`build_loose_mesh` builds a :class:`LooseMesh` posed with the
body, :func:`loose_albedo` textures it like the garment it belongs to).
They are rendered with the body but are not part of the SMPL written
anywhere.
"""
from typing import Any, Dict, Optional

import numpy as np
import torch
from torch import Tensor

from .realism import LOOSE_PARTS, LOOSE_STREAM, _vertex_normals

__all__ = ['loose_spec', 'LooseMesh', 'build_loose_mesh', 'loose_albedo']


def loose_spec(seed: int, actor_id: int, cloth_id: int,
               actor: Dict[str, Any], cloth: Dict[str, Any],
               cfg: Optional[Dict[str, float]]) -> Optional[Dict[str, Any]]:
    """Which loose garments a video's person wears and their sizes
    (deterministic; hair is decided per actor, skirt and sleeves per
    outfit; sleeves only on an outfit with sleeves). JSON-serialisable;
    None when there is none."""
    if not cfg:
        return None
    ra = np.random.default_rng([int(seed), LOOSE_STREAM, int(actor_id)])
    rc = np.random.default_rng(
        [int(seed), LOOSE_STREAM, int(actor_id), int(cloth_id)])
    # draw everything in a fixed order whatever is enabled
    u_hair, thick = ra.uniform(), ra.uniform(0.0, 1.0)
    u_skirt, length, flare = rc.uniform(), rc.uniform(0.3, 0.6), \
        rc.uniform(0.04, 0.12)
    u_sleeve, sleeve_flare = rc.uniform(), rc.uniform(0.025, 0.06)
    spec = {}
    if u_hair < cfg.get('hair', 0.0):
        spec['hair'] = dict(
            thickness=round(0.015 + 0.03 * actor['hair_length'] +
                            0.01 * thick, 4))
    if u_skirt < cfg.get('skirt', 0.0):
        spec['skirt'] = dict(length=round(length, 4), flare=round(flare, 4))
    if u_sleeve < cfg.get('sleeves', 0.0) and cloth['sleeves'] != 'none':
        spec['sleeves'] = dict(flare=round(sleeve_flare, 4))
    return spec or None


def _shaped_rest(body_model, betas: Tensor) -> Tensor:
    from smplx.lbs import blend_shapes
    sm = body_model.body
    return sm.v_template[None] + blend_shapes(
        betas.to(sm.v_template.dtype), sm.shapedirs)


class LooseMesh:
    """Garments off the SMPL surface of one person (one video).

    Built in the person's shaped rest pose, posed by linear blend skinning
    with the body's joint transforms (:meth:`pose`), so they move with the
    body but are not part of it.

    Attributes:
        rest (Tensor): (Ve, 3) rest points (template metres) for the albedo.
        shaped (Tensor): (Ve, 3) rest points in the shaped rest pose.
        weights (Tensor): (Ve, 24) skinning weights.
        faces (Tensor): (Fe, 3) long, indices into the Ve vertices.
        kinds (Tensor): (Fe,) long, index into :data:`LOOSE_PARTS`.
    """

    def __init__(self, rest, shaped, weights, faces, kinds) -> None:
        self.rest, self.shaped, self.weights = rest, shaped, weights
        self.faces, self.kinds = faces, kinds

    @property
    def num_verts(self) -> int:
        return self.rest.shape[0]

    @torch.no_grad()
    def pose(self, body_model, pose: Tensor, betas: Tensor) -> Tensor:
        """Posed vertices (B, Ve, 3) for (B, 72) poses (betas: the shape the
        mesh was built for; only its joints are used)."""
        from smplx.lbs import (batch_rigid_transform, batch_rodrigues,
                               vertices2joints)
        sm = body_model.body
        b = pose.shape[0]
        dtype = sm.v_template.dtype
        v_shaped = _shaped_rest(body_model, betas.expand(b, -1))
        joints = vertices2joints(sm.J_regressor, v_shaped)
        rot = batch_rodrigues(pose.to(dtype).reshape(-1, 3)).view(b, -1, 3, 3)
        _, transforms = batch_rigid_transform(rot, joints, sm.parents,
                                              dtype=dtype)
        t = torch.einsum('vj,bjmn->bvmn', self.weights.to(dtype), transforms)
        x = self.shaped.to(dtype)
        return torch.einsum('bvmn,vn->bvm', t[..., :3, :3], x) + t[..., :3, 3]


def _hair_vertices(dresser, v_rest: Tensor, vert_part: Tensor,
                   head_id: int, hair_length: float) -> Tensor:
    """(V,) bool: head vertices painted as hair (the dresser's rule)."""
    lo, hi = dresser.boxes['head']
    x, y, z = v_rest.unbind(-1)
    u = (y - lo[1]) / max(hi[1] - lo[1], 1e-6)
    zc = (lo[2] + hi[2]) / 2
    return (vert_part == head_id) & (
        (u > 0.8 - 0.1 * hair_length - 0.05) |
        ((z < zc) & (u > 0.45 - 0.35 * hair_length - 0.05)))


def _sleeve_vertices(dresser, v_rest: Tensor, vert_part: Tensor,
                     arm_ids, sleeves: str) -> Tensor:
    arms = (vert_part == arm_ids[0]) | (vert_part == arm_ids[1])
    if sleeves == 'short':
        lo, hi = dresser.boxes['left_arm']
        arms &= v_rest[:, 0].abs() < lo[0] + 0.3 * (hi[0] - lo[0])
    return arms


def _shell(faces: Tensor, sel: Tensor):
    """Faces whose three vertices are all selected, re-indexed, and the
    selected vertex ids."""
    keep = sel[faces].all(1)
    sub = faces[keep]
    ids = torch.unique(sub)
    remap = torch.full((sel.shape[0],), -1, dtype=torch.long)
    remap[ids] = torch.arange(len(ids))
    return remap[sub], ids


def _skirt(v_shaped: Tensor, v_rest: Tensor, vert_part: Tensor, joints:
           Tensor, part_ids: Dict[str, int], spec: Dict[str, float],
           rings: int = 7, around: int = 40):
    """A flared skirt around the hips and thighs in the shaped rest pose."""
    torso = vert_part == part_ids['lower_torso']
    legs = (vert_part == part_ids['left_leg']) | (vert_part ==
                                                  part_ids['right_leg'])
    lower = torso | legs
    ty = v_shaped[torso, 1]
    top = float(ty.max() - 0.25 * (ty.max() - ty.min()))
    hip_y = float((joints[1, 1] + joints[2, 1]) / 2)
    ankle_y = float((joints[7, 1] + joints[8, 1]) / 2)
    hem = hip_y - spec['length'] * (hip_y - ankle_y)
    ts = np.linspace(0.0, 1.0, rings)
    pts = []
    half_prev = np.zeros(2)
    cx = float(v_shaped[torso, 0].mean())
    cz = float((v_shaped[torso, 2].max() + v_shaped[torso, 2].min()) / 2)
    phi = np.linspace(0, 2 * np.pi, around, endpoint=False)
    for t in ts:
        y = top + (hem - top) * t
        band = lower & ((v_shaped[:, 1] - y).abs() < 0.03)
        if band.sum() < 3:
            band = lower
        sec = v_shaped[band]
        half = np.array([
            float(max(sec[:, 0].max() - cx, cx - sec[:, 0].min())),
            float(max(sec[:, 2].max() - cz, cz - sec[:, 2].min()))
        ]) * 1.12 + 0.012 + spec['flare'] * t**1.5
        half = np.maximum(half, half_prev)  # skirts flare, never narrow
        half_prev = half
        ring = np.stack([cx + half[0] * np.sin(phi), np.full_like(phi, y),
                         cz + half[1] * np.cos(phi)], 1)
        pts.append(ring)
    shaped = torch.tensor(np.concatenate(pts), dtype=torch.float32)
    # rest points for the albedo: the template's coordinates at the same
    # place (the shape offset of the waist removed)
    rest = shaped - (v_shaped[torso].mean(0) - v_rest[torso].mean(0))
    faces = []
    for k in range(rings - 1):
        for m in range(around):
            a, b = k * around + m, k * around + (m + 1) % around
            c, d = a + around, b + around
            faces += [(a, c, b), (b, c, d)]
    faces = torch.tensor(faces, dtype=torch.long)
    # orient outwards (away from the vertical axis through the centre)
    tri = shaped[faces[0]]
    n = torch.cross(tri[1] - tri[0], tri[2] - tri[0], dim=0)
    radial = tri.mean(0) - torch.tensor([cx, float(tri[:, 1].mean()), cz])
    if float((n * radial).sum()) < 0:
        faces = faces[:, [0, 2, 1]]
    # pelvis at the waist, more and more the thigh of the same side below
    t = torch.tensor(np.repeat(ts, around), dtype=torch.float32)
    side = torch.sigmoid((shaped[:, 0] - cx) / 0.03)  # +x: body's left
    w = torch.zeros(len(shaped), 24)
    w[:, 0] = 1 - 0.7 * t
    w[:, 1] = 0.7 * t * side  # left_hip
    w[:, 2] = 0.7 * t * (1 - side)  # right_hip
    return rest, shaped, w, faces


@torch.no_grad()
def build_loose_mesh(body_model, dresser, betas: Tensor,
                     spec: Optional[Dict[str, Any]], actor: Dict[str, Any],
                     cloth: Dict[str, Any]) -> Optional[LooseMesh]:
    """The :class:`LooseMesh` of ``spec`` (:func:`loose_spec`) for a person
    of shape ``betas`` (1, num_betas)."""
    if not spec:
        return None
    from smplx.lbs import vertices2joints
    sm = body_model.body
    faces = body_model.faces
    names = list(dresser.names)
    ids = {n: i for i, n in enumerate(names)}
    num_verts = body_model.num_verts
    vert_part = torch.full((num_verts,), -1, dtype=torch.long)
    vert_part.scatter_reduce_(
        0, faces.reshape(-1),
        body_model.face_part_labels.repeat_interleave(3), 'amax')
    v_rest = sm.v_template.float()
    v_shaped = _shaped_rest(body_model, betas.float())[0]
    n_rest = _vertex_normals(v_rest[None], faces)[0]
    n_shaped = _vertex_normals(v_shaped[None], faces)[0]
    lbs_w = sm.lbs_weights.float()
    parts = []  # (rest, shaped, weights, faces, kind)

    if 'hair' in spec and 'head' in ids:
        sel = _hair_vertices(dresser, v_rest, vert_part, ids['head'],
                             actor['hair_length'])
        sub, vid = _shell(faces, sel)
        z = v_rest[vid, 2]
        lo, hi = dresser.boxes['head']
        back = (z < (lo[2] + hi[2]) / 2).float()
        off = spec['hair']['thickness'] * (0.7 + 0.3 * back)[:, None]
        parts.append((v_rest[vid] + off * n_rest[vid],
                      v_shaped[vid] + off * n_shaped[vid], lbs_w[vid], sub,
                      LOOSE_PARTS.index('hair')))
    if 'sleeves' in spec and 'left_arm' in ids:
        sel = _sleeve_vertices(dresser, v_rest, vert_part,
                               (ids['left_arm'], ids['right_arm']),
                               cloth['sleeves'])
        sub, vid = _shell(faces, sel)
        ax = v_rest[vid, 0].abs()
        t = (ax - ax.min()) / max(float(ax.max() - ax.min()), 1e-6)
        off = (0.008 + spec['sleeves']['flare'] * t**2)[:, None]
        parts.append((v_rest[vid] + off * n_rest[vid],
                      v_shaped[vid] + off * n_shaped[vid], lbs_w[vid], sub,
                      LOOSE_PARTS.index('sleeves')))
    if 'skirt' in spec and 'lower_torso' in ids:
        joints = vertices2joints(sm.J_regressor, v_shaped[None])[0]
        rest, shaped, w, sub = _skirt(v_shaped, v_rest, vert_part, joints,
                                      ids, spec['skirt'])
        parts.append((rest, shaped, w, sub, LOOSE_PARTS.index('skirt')))
    if not parts:
        return None
    rest, shaped, weights, fcs, kinds = [], [], [], [], []
    base = 0
    for r, s, w, f, kind in parts:
        rest.append(r)
        shaped.append(s)
        weights.append(w)
        fcs.append(f + base)
        kinds.append(torch.full((len(f),), kind, dtype=torch.long))
        base += len(r)
    return LooseMesh(torch.cat(rest).float(), torch.cat(shaped).float(),
                     torch.cat(weights).float(), torch.cat(fcs),
                     torch.cat(kinds))


def loose_albedo(pts: Tensor, kind: Tensor, actor: Dict[str, Any],
                 cloth: Dict[str, Any], pattern) -> Tensor:
    """Albedo (N, 3) of loose-garment points: hair in the actor's hair
    colour with strands, skirts in the bottom's pattern, sleeves in the
    top's (``pattern`` is :func:`.iper_spec._pattern`)."""
    out = torch.zeros(len(pts), 3, dtype=pts.dtype)
    front = pts[:, 2] > 0.0
    hair = kind == LOOSE_PARTS.index('hair')
    if hair.any():
        p = pts[hair]
        strands = 0.85 + 0.15 * torch.sin(
            2 * np.pi * 70 * (p[:, 0] + 0.3 * p[:, 2]))
        out[hair] = torch.tensor(actor['hair'], dtype=pts.dtype) * \
            strands[:, None]
    for name, garment in (('skirt', 'bottom'), ('sleeves', 'top')):
        m = kind == LOOSE_PARTS.index(name)
        if m.any():
            out[m] = pattern(pts[m], cloth[garment], front[m])
    return out.clamp(0, 1)

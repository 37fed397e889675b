# Copyright (c) mmlwgan contributors. All rights reserved.
"""A synthetic, licence-free body model in the SMPL file format.

The licensed SMPL model cannot be redistributed, so tests, CI and demos use
this stand-in. It has exactly SMPL's data layout (24-joint kinematic tree in
SMPL's order, ``v_template``, ``shapedirs`` (V, 3, 10), ``posedirs``
(V, 3, 207), ``J_regressor`` (24, V), ``weights`` (V, 24), ``kintree_table``,
``f``) plus the optional keys mmlwgan uses (landmark ``vertex_ids``, UVs,
part labels, HMR's 19-joint COCO-plus regressor), and loads through the same
code path as a real file (:func:`mmlwgan.models.body.load_smpl_model_data`
and ``smplx.SMPL``).

Geometry: one closed, consistently outward-oriented triangle mesh of a
~1.70 m person in SMPL's rest pose (metres, y up, facing +z, +x is the body's
left, T-pose with the palms down). It is built by box modelling: a quad cage
(torso rings with legs, arms, neck and head extruded from its faces) refined
by two Catmull-Clark steps, which keeps the surface closed by construction.
Skinning weights are the cage's per-segment joint labels diffused over the
mesh graph; joint regressors are non-negative vertex weights reproducing the
designed joint positions.

This module makes the model's data (skinning, regressors, shape directions,
UVs, part labels, landmarks: :func:`make_synthetic_smpl`); the geometry
(design, proportion jitter, cage and refinement) is in :mod:`.body_mesh`,
the files (:func:`save_synthetic_smpl`, :func:`get_synthetic_smpl_path`) in
:mod:`.body_files`.
"""
import copy
import functools
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmlwgan.models.body.smpl import (COCOPLUS_JOINT_NAMES, SMPL_JOINT_NAMES,
                                      SMPL_PARENTS)
from .body_files import get_synthetic_smpl_path, save_synthetic_smpl
from .body_mesh import (_AXIAL_JOINTS, _JOINT_TO_PART, _LEAF_ENDS,
                        _PART_AXIS, SYNTHETIC_BETA_NAMES,
                        SYNTHETIC_PART_NAMES, J, _bone_ends, _build_cage,
                        _catmull_clark, _full_joints, _jitter_factors, _warp,
                        synthetic_rest_joints)

__all__ = [
    'make_synthetic_smpl', 'save_synthetic_smpl', 'get_synthetic_smpl_path',
    'synthetic_rest_joints', 'SYNTHETIC_PART_NAMES', 'SYNTHETIC_BETA_NAMES'
]


# ---------------------------------------------------------------------------
# Mesh attributes
# ---------------------------------------------------------------------------
def _adjacency(faces: np.ndarray, num_verts: int):
    import scipy.sparse as sp
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    adj = sp.coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])),
                        shape=(num_verts, num_verts)).tocsr()
    adj = ((adj + adj.T) > 0).astype(float)
    return adj


def _skinning_weights(faces: np.ndarray, face_joint: np.ndarray,
                      num_verts: int, iters: int) -> np.ndarray:
    """Diffuse per-face joint labels into smooth weights (V, 24)."""
    w = np.zeros((num_verts, 24))
    for k in range(3):
        np.add.at(w, (faces[:, k], face_joint), 1.0)
    w /= w.sum(1, keepdims=True)
    adj = _adjacency(faces, num_verts)
    deg = np.asarray(adj.sum(1))
    for _ in range(iters):
        w = 0.5 * w + 0.5 * (adj @ w) / deg
    w[w < 1e-4] = 0.0
    return w / w.sum(1, keepdims=True)


def _regressor_row(verts: np.ndarray, target: np.ndarray,
                   sizes: Sequence[int], sigma: float,
                   tol: float = 2e-3) -> np.ndarray:
    """Non-negative vertex weights (sum 1) whose mean is ``target``."""
    from scipy.optimize import nnls
    dist = np.linalg.norm(verts - target, axis=1)
    order = np.argsort(dist)
    best = None
    for k in sizes:
        idx = order[:k]
        prior = np.exp(-0.5 * (dist[idx] / sigma)**2)
        prior /= prior.sum()
        lam, c = 0.03, 100.0
        a = np.concatenate(
            [c * verts[idx].T, c * np.ones((1, k)), lam * np.eye(k)])
        b = np.concatenate([c * target, [c], lam * prior])
        w, _ = nnls(a, b, maxiter=50 * k)
        w /= w.sum()
        err = np.linalg.norm(w @ verts[idx] - target)
        if best is None or err < best[0]:
            best = (err, idx, w)
        if err < tol:
            break
    row = np.zeros(len(verts))
    row[best[1]] = best[2]
    return row


def _bone_axis_points(verts: np.ndarray, weights: np.ndarray,
                      joints: np.ndarray) -> np.ndarray:
    """Skinning-weighted closest points on the bones (V, 3)."""
    ends = _bone_ends(joints)
    out = np.zeros_like(verts)
    for j, name in enumerate(SMPL_JOINT_NAMES):
        if not np.any(weights[:, j] > 0):
            continue
        a = joints[j]
        if name in _AXIAL_JOINTS:  # vertical axis through the joint
            proj = np.stack([np.full(len(verts), a[0]), verts[:, 1],
                             np.full(len(verts), a[2])], 1)
        else:
            d = ends[j] - a
            t = np.clip((verts - a) @ d / max(d @ d, 1e-12), 0.0, 1.0)
            proj = a + t[:, None] * d
        out += weights[:, [j]] * proj
    return out


def _smooth_ramp(x: np.ndarray, eps: float = 0.02) -> np.ndarray:
    """Smooth version of max(x, 0)."""
    return 0.5 * (x + np.sqrt(x * x + eps * eps)) - 0.5 * eps


def _shape_dirs(verts: np.ndarray, weights: np.ndarray, joints: np.ndarray,
                num_betas: int, seed: int) -> np.ndarray:
    """Shape blend shapes (V, 3, num_betas); see SYNTHETIC_BETA_NAMES."""
    v = verts
    nv = len(v)
    axis_pts = _bone_axis_points(v, weights, joints)
    radial = v - axis_pts
    wsum = lambda names: weights[:, [J[n] for n in names]].sum(1)  # noqa
    sides = ('left', 'right')
    arm_chain = wsum([f'{s}_{p}' for s in sides
                      for p in ('shoulder', 'elbow', 'wrist', 'hand')])
    collars = wsum(['left_collar', 'right_collar'])
    leg_chain = wsum([f'{s}_{p}' for s in sides
                      for p in ('hip', 'knee', 'ankle', 'foot')])
    limbs = wsum([f'{s}_{p}' for s in sides
                  for p in ('shoulder', 'elbow', 'hip', 'knee')])
    ends = wsum(['head', 'left_wrist', 'right_wrist', 'left_hand',
                 'right_hand', 'left_ankle', 'right_ankle', 'left_foot',
                 'right_foot'])
    torso = wsum(['pelvis', 'spine1', 'spine2', 'spine3'])
    y_pel, y_hip = joints[J['pelvis'], 1], joints[J['left_hip'], 1]
    y_neck = joints[J['neck'], 1]
    x_sh = joints[J['left_shoulder'], 0]
    side_sign = np.tanh(v[:, 0] / 0.03)
    d = np.zeros((nv, 3, max(num_betas, 10)))
    # 0 height: +5 % vertical scale about the pelvis
    d[:, 1, 0] = 0.05 * (v[:, 1] - y_pel)
    # 1 girth: +6 % radial scale of every cross-section (not head/hands/feet)
    d[:, :, 1] = 0.06 * radial * (1.0 - ends)[:, None]
    # 2 shoulder width: arms move out by 2 cm, collars half way
    d[:, 0, 2] = 0.02 * side_sign * (arm_chain + 0.5 * collars)
    # 3 hip width: +12 % pelvis width around the hips, legs out by 1.5 cm
    bump = np.exp(-0.5 * ((v[:, 1] - y_hip) / 0.08)**2) * torso
    d[:, 0, 3] = 0.12 * v[:, 0] * bump + 0.015 * side_sign * leg_chain
    # 4 arm length: +8 % of the distance from the shoulder along the arm
    d[:, 0, 4] = 0.08 * side_sign * _smooth_ramp(np.abs(v[:, 0]) - x_sh) * (
        arm_chain + collars)
    # 5 leg length: +8 % below the hips
    d[:, 1, 5] = -0.08 * _smooth_ramp(y_hip - axis_pts[:, 1])
    # 6 torso length: +10 % between pelvis and neck, carried upwards
    span = y_neck - y_pel
    t = np.clip(axis_pts[:, 1] - y_pel, 0.0, span)
    d[:, 1, 6] = 0.10 * np.where(axis_pts[:, 1] > y_pel, t, 0.0)
    # 7 head size: +10 % about the head centre
    head_c = (joints[J['head']] + np.array(_LEAF_ENDS['head'])) / 2.0
    d[:, :, 7] = 0.10 * (v - head_c) * weights[:, [J['head']]]
    # 8 belly: the front of the lower torso bulges by up to 2.5 cm
    belly = np.exp(-0.5 * (((v[:, 1] + 0.06) / 0.10)**2 +
                           (v[:, 0] / 0.10)**2))
    front = 0.5 * (1.0 + np.tanh((v[:, 2] - 0.02) / 0.02))
    d[:, 2, 8] = 0.025 * belly * front * torso
    # 9 limb thickness: +10 % radial scale of upper/lower arms and legs
    d[:, :, 9] = 0.10 * radial * limbs[:, None]
    if num_betas > 10:  # extra smooth random directions
        rng = np.random.default_rng(seed + 1)
        for k in range(10, num_betas):
            freq = rng.normal(size=(3, 3)) * 3.0
            phase = rng.uniform(0, 2 * np.pi, size=3)
            d[:, :, k] = 0.005 * np.sin(v @ freq + phase)
    return d[:, :, :num_betas]


def _part_uv(verts: np.ndarray, faces: np.ndarray,
             face_part: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-vertex (V, 2) and per-face (F, 2) UVs on a 4 x 3 part atlas.

    Inside the cell of its part a point gets ``u`` = angle around the part's
    main axis and ``v`` = position along it (both with a 5 % margin).
    """
    num_parts = len(SYNTHETIC_PART_NAMES)
    counts = np.zeros((len(verts), num_parts))
    for k in range(3):
        np.add.at(counts, (faces[:, k], face_part), 1.0)
    vert_part = counts.argmax(1)
    centroids = verts[faces].mean(1)
    vt = np.zeros((len(verts), 2))
    face_uv = np.zeros((len(faces), 2))
    for p, name in enumerate(SYNTHETIC_PART_NAMES):
        axis = _PART_AXIS[name]
        others = [i for i in range(3) if i != axis]
        vmask = vert_part == p
        fmask = face_part == p
        pts = verts[vmask]
        lo, hi = pts[:, axis].min(), pts[:, axis].max()
        center = pts.mean(0)

        def to_uv(q: np.ndarray) -> np.ndarray:
            t = np.clip((q[:, axis] - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
            ang = np.arctan2(q[:, others[1]] - center[others[1]],
                             q[:, others[0]] - center[others[0]])
            theta = (ang + np.pi) / (2 * np.pi)
            col, row = p % 4, p // 4
            return np.stack([(col + 0.05 + 0.9 * theta) / 4.0,
                             (row + 0.05 + 0.9 * t) / 3.0], 1)

        vt[vmask] = to_uv(pts)
        face_uv[fmask] = to_uv(centroids[fmask])
    return vt, face_uv


def _nearest(verts: np.ndarray, target: Sequence[float],
             mask: Optional[np.ndarray] = None) -> int:
    d = np.linalg.norm(verts - np.asarray(target), axis=1)
    if mask is not None:
        d = np.where(mask, d, np.inf)
    return int(np.argmin(d))


def _landmarks(verts: np.ndarray, vert_part: np.ndarray,
               joints: np.ndarray) -> Dict[str, int]:
    """Landmark vertex ids used by smplx's VertexJointSelector."""
    part = {n: i for i, n in enumerate(SYNTHETIC_PART_NAMES)}
    ids: Dict[str, int] = {}
    head = vert_part == part['head']
    hv = verts[head]
    y_top, y_bot = hv[:, 1].max(), hv[:, 1].min()
    z_front = hv[:, 2].max()
    x_side = hv[:, 0].max()
    y_nose = y_bot + 0.45 * (y_top - y_bot)
    y_eye = y_bot + 0.58 * (y_top - y_bot)
    ids['nose'] = _nearest(verts, (0.0, y_nose, z_front + 0.02), head)
    ids['reye'] = _nearest(verts, (-0.032, y_eye, z_front), head)
    ids['leye'] = _nearest(verts, (0.032, y_eye, z_front), head)
    zc = hv[:, 2].mean()
    ids['rear'] = _nearest(verts, (-x_side - 0.02, y_eye - 0.01, zc), head)
    ids['lear'] = _nearest(verts, (x_side + 0.02, y_eye - 0.01, zc), head)
    for side, sign, prefix in (('left', 1.0, 'L'), ('right', -1.0, 'R')):
        foot = vert_part == part[f'{side}_foot']
        fv = verts[foot]
        sole = fv[:, 1].min()
        cx = fv[:, 0].mean()
        ids[f'{prefix}BigToe'] = _nearest(
            verts, (cx - sign * 0.025, sole + 0.01, fv[:, 2].max() + 0.02),
            foot)
        ids[f'{prefix}SmallToe'] = _nearest(
            verts, (cx + sign * 0.03, sole + 0.01, fv[:, 2].max() - 0.01),
            foot)
        ids[f'{prefix}Heel'] = _nearest(
            verts, (cx, sole, fv[:, 2].min() - 0.02), foot)
        hand = vert_part == part[f'{side}_hand']
        hv = verts[hand]
        tip_x = sign * np.abs(hv[:, 0]).max()
        yc = hv[:, 1].mean()
        zc, zmax = hv[:, 2].mean(), hv[:, 2].max()
        palm_x = joints[J[f'{side}_hand'], 0]
        tips = {
            'thumb': (palm_x + sign * 0.02, yc, zmax + 0.02),
            'index': (tip_x, yc, zc + 0.03),
            'middle': (tip_x + sign * 0.01, yc, zc + 0.01),
            'ring': (tip_x, yc, zc - 0.01),
            'pinky': (tip_x - sign * 0.01, yc, zc - 0.035),
        }
        for tip, target in tips.items():
            ids[side[0] + tip] = _nearest(verts, target, hand)
    return ids


def _cocoplus_targets(joints: np.ndarray, verts: np.ndarray,
                      ids: Dict[str, int]) -> List[Tuple[np.ndarray, bool]]:
    """Targets of the 19 COCO-plus joints; flag True for surface points."""
    head_top = verts[np.argmax(verts[:, 1])].copy()
    head_top[0] = 0.0
    out = []
    for name in COCOPLUS_JOINT_NAMES:
        if name in SMPL_JOINT_NAMES and name != 'neck':
            pos = joints[J[name]].copy()
            if name.endswith('hip'):  # COCO hips sit lower and more lateral
                pos += (np.sign(pos[0]) * 0.01, -0.04, 0.0)
            out.append((pos, False))
        elif name == 'neck':
            out.append((joints[J['neck']] + (0.0, -0.02, 0.0), False))
        elif name == 'head_top':
            out.append((head_top - (0.0, 0.01, 0.0), True))
        else:
            key = {'nose': 'nose', 'left_eye': 'leye', 'right_eye': 'reye',
                   'left_ear': 'lear', 'right_ear': 'rear'}[name]
            out.append((verts[ids[key]], True))
    return out


@functools.lru_cache(maxsize=8)
def _make_cached(num_betas: int, seed: int, jitter: float,
                 subdivisions: int, smooth_iters: int) -> Dict[str, Any]:
    factors = _jitter_factors(seed, jitter)
    cage_v, quads, labels = _build_cage()
    cage_v = _warp(cage_v, factors)
    verts = cage_v
    for _ in range(subdivisions):
        verts, quads = _catmull_clark(verts, quads)
        labels = np.repeat(labels, 4)
    faces = np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]])
    face_joint = np.concatenate([labels, labels])
    # interleave so that both triangles of a quad are neighbours in order
    order = np.arange(len(faces)).reshape(2, -1).T.ravel()
    faces, face_joint = faces[order], face_joint[order]
    # outward orientation: positive signed volume
    tri = verts[faces]
    volume = np.einsum('ij,ij->i', tri[:, 0], np.cross(tri[:, 1],
                                                       tri[:, 2])).sum() / 6
    if volume < 0:
        faces = faces[:, ::-1].copy()
    num_verts = len(verts)
    joints_design = _warp(_full_joints(), factors)

    weights = _skinning_weights(faces, face_joint, num_verts, smooth_iters)
    part_ids = np.array([
        SYNTHETIC_PART_NAMES.index(_JOINT_TO_PART[n]) for n in SMPL_JOINT_NAMES
    ])
    face_part = part_ids[face_joint]
    vt, face_uv = _part_uv(verts, faces, face_part)
    counts = np.zeros((num_verts, len(SYNTHETIC_PART_NAMES)))
    for k in range(3):
        np.add.at(counts, (faces[:, k], face_part), 1.0)
    vertex_ids = _landmarks(verts, counts.argmax(1), joints_design)

    j_reg = np.stack([
        _regressor_row(verts, joints_design[j], (32, 64, 128, 256), 0.05)
        for j in range(24)
    ])
    extra = np.stack([
        _regressor_row(verts, pos, (8, 16) if surface else (32, 64, 128, 256),
                       0.01 if surface else 0.05)
        for pos, surface in _cocoplus_targets(joints_design, verts, vertex_ids)
    ])
    shapedirs = _shape_dirs(verts, weights, joints_design, num_betas, seed)
    kintree = np.array([SMPL_PARENTS, list(range(24))], dtype=np.int64)
    kintree[0, 0] = 4294967295
    beta_names = list(SYNTHETIC_BETA_NAMES[:num_betas]) + [
        f'random_{k}' for k in range(10, num_betas)
    ]
    return dict(
        v_template=verts,
        shapedirs=shapedirs,
        posedirs=np.zeros((num_verts, 3, 207)),
        J_regressor=j_reg,
        weights=weights,
        kintree_table=kintree,
        f=faces.astype(np.int64),
        J=j_reg @ verts,
        vertex_ids=vertex_ids,
        vt=vt,
        ft=faces.astype(np.int64),
        face_uv=face_uv,
        face_part_labels=face_part.astype(np.int64),
        part_names=list(SYNTHETIC_PART_NAMES),
        joint_regressor_extra=extra,
        beta_names=beta_names,
        bs_style='lbs',
        bs_type='lrotmin',
    )


def make_synthetic_smpl(num_betas: int = 10,
                        seed: int = 0,
                        jitter: float = 0.03,
                        subdivisions: int = 2,
                        smooth_iters: int = 12) -> Dict[str, Any]:
    """Make a synthetic body model in SMPL's format.

    Args:
        num_betas (int): Number of shape components; the first 10 are the
            named ones of :data:`SYNTHETIC_BETA_NAMES` (per unit beta: height
            +5 % about the pelvis, girth +6 %, shoulders +2 cm per side, hips
            +12 % / legs +1.5 cm per side, arms +8 %, legs +8 %, torso +10 %,
            head +10 %, belly +2.5 cm, limbs +10 %), further ones are small
            random smooth fields. Defaults to 10.
        seed (int): Seed of the proportion jitter (and of extra components);
            the output is a deterministic function of the arguments.
        jitter (float): Relative amplitude of the random proportions
            (height, girth, arm and leg length). 0 gives the design body.
            Defaults to 0.03.
        subdivisions (int): Catmull-Clark steps of the cage (each x4 faces).
            Defaults to 2 (3,362 vertices, 6,720 faces).
        smooth_iters (int): Diffusion steps of the skinning weights.

    Returns:
        dict: ``v_template`` (V, 3), ``shapedirs`` (V, 3, num_betas),
        ``posedirs`` (V, 3, 207) zeros, ``J_regressor`` (24, V), ``weights``
        (V, 24), ``kintree_table`` (2, 24) (root parent 4294967295), ``f``
        (F, 3) int64, ``J`` (24, 3), ``vertex_ids`` (dict), ``vt`` (V, 2) /
        ``ft`` (F, 3) per-vertex UVs in [0, 1], ``face_uv`` (F, 2),
        ``face_part_labels`` (F,) indexing ``part_names``,
        ``joint_regressor_extra`` (19, V) for HMR's COCO-plus joints,
        ``beta_names``, ``bs_style``, ``bs_type``. Float arrays are float64.
    """
    data = _make_cached(int(num_betas), int(seed), float(jitter),
                        int(subdivisions), int(smooth_iters))
    return copy.deepcopy(data)

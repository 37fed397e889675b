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
"""
import copy
import functools
import os
import os.path as osp
import pickle
import sys
import tempfile
import types
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmlwgan.models.body.smpl import (COCOPLUS_JOINT_NAMES, SMPL_JOINT_NAMES,
                                      SMPL_PARENTS)
from mmlwgan.models.body.smpl_io import save_smpl_npz

__all__ = [
    'make_synthetic_smpl', 'save_synthetic_smpl', 'get_synthetic_smpl_path',
    'synthetic_rest_joints', 'SYNTHETIC_PART_NAMES', 'SYNTHETIC_BETA_NAMES'
]

J = {name: i for i, name in enumerate(SMPL_JOINT_NAMES)}
_LR = {
    name: (name.replace('left', 'right') if name.startswith('left') else
           name.replace('right', 'left'))
    for name in SMPL_JOINT_NAMES
}
_MIRROR = np.array([J[_LR[n]] for n in SMPL_JOINT_NAMES])

#: Body parts of ``face_part_labels`` (upper / lower body split at the waist
#: band that separates ``lower_torso`` (pelvis) from ``upper_torso``).
SYNTHETIC_PART_NAMES = ('head', 'neck', 'upper_torso', 'lower_torso',
                        'left_arm', 'right_arm', 'left_hand', 'right_hand',
                        'left_leg', 'right_leg', 'left_foot', 'right_foot')
_JOINT_TO_PART = {
    'pelvis': 'lower_torso', 'spine1': 'upper_torso',
    'spine2': 'upper_torso', 'spine3': 'upper_torso',
    'left_collar': 'upper_torso', 'right_collar': 'upper_torso',
    'neck': 'neck', 'head': 'head',
    'left_hip': 'left_leg', 'left_knee': 'left_leg',
    'right_hip': 'right_leg', 'right_knee': 'right_leg',
    'left_ankle': 'left_foot', 'left_foot': 'left_foot',
    'right_ankle': 'right_foot', 'right_foot': 'right_foot',
    'left_shoulder': 'left_arm', 'left_elbow': 'left_arm',
    'right_shoulder': 'right_arm', 'right_elbow': 'right_arm',
    'left_wrist': 'left_hand', 'left_hand': 'left_hand',
    'right_wrist': 'right_hand', 'right_hand': 'right_hand',
}
_PART_AXIS = {
    'head': 1, 'neck': 1, 'upper_torso': 1, 'lower_torso': 1,
    'left_arm': 0, 'right_arm': 0, 'left_hand': 0, 'right_hand': 0,
    'left_leg': 1, 'right_leg': 1, 'left_foot': 2, 'right_foot': 2
}
#: Meaning of the 10 shape components (``beta_names``).
SYNTHETIC_BETA_NAMES = ('height', 'girth', 'shoulder_width', 'hip_width',
                        'arm_length', 'leg_length', 'torso_length',
                        'head_size', 'belly', 'limb_thickness')

# ---------------------------------------------------------------------------
# Design (metres; left side, the right side is mirrored)
# ---------------------------------------------------------------------------
#: Rest joints of the design (left/centre joints; right ones are mirrored).
_JOINTS_LEFT = {
    'pelvis': (0.0, -0.22, -0.005),
    'left_hip': (0.085, -0.30, 0.0),
    'spine1': (0.0, -0.12, -0.005),
    'left_knee': (0.10, -0.70, 0.005),
    'spine2': (0.0, 0.0, -0.005),
    'left_ankle': (0.095, -1.06, -0.02),
    'spine3': (0.0, 0.09, -0.005),
    'left_foot': (0.10, -1.115, 0.10),
    'neck': (0.0, 0.30, -0.02),
    'left_collar': (0.075, 0.205, -0.02),
    'head': (0.0, 0.36, -0.005),
    'left_shoulder': (0.205, 0.225, -0.01),
    'left_elbow': (0.46, 0.22, -0.02),
    'left_wrist': (0.71, 0.22, -0.02),
    'left_hand': (0.79, 0.218, -0.015),
}
#: Torso rings: (y, outer half width, inner column half width, z front,
#: z back) and the joint owning the band above each ring.
_TORSO_RINGS = (
    (-0.36, 0.160, 0.025, 0.070, -0.085),
    (-0.24, 0.175, 0.060, 0.100, -0.115),
    (-0.12, 0.160, 0.060, 0.100, -0.090),  # spine1
    (0.00, 0.145, 0.060, 0.095, -0.080),  # spine2
    (0.09, 0.155, 0.060, 0.110, -0.085),  # spine3
    (0.17, 0.165, 0.060, 0.115, -0.090),
    (0.27, 0.175, 0.060, 0.080, -0.090),
    (0.31, 0.130, 0.050, 0.040, -0.070),
)
_TORSO_BANDS = ('pelvis', 'pelvis', 'spine1', 'spine2', 'spine3', 'spine3',
                'spine3')
_COLLAR_BANDS = (5, 6)  # bands whose lateral faces belong to the collars
# Limb rings: (centre, half size along u, half size along v, owning joint)
_LEG = (
    ((0.095, -0.42, 0.0), 0.075, 0.080, 'left_hip'),
    ((0.100, -0.55, 0.005), 0.065, 0.070, 'left_hip'),
    ((0.100, -0.70, 0.005), 0.050, 0.055, 'left_hip'),
    ((0.100, -0.82, -0.010), 0.052, 0.058, 'left_knee'),
    ((0.095, -1.06, -0.020), 0.032, 0.038, 'left_knee'),
    ((0.095, -1.15, -0.035), 0.038, 0.058, 'left_ankle'),
)
_FOOT = (  # extruded forward (+z) from the front of the heel block
    ((0.100, -1.118, 0.100), 0.046, 0.032, 'left_ankle'),
    ((0.105, -1.130, 0.175), 0.040, 0.018, 'left_foot'),
)
_ARM = (  # extruded along +x from the torso side; u = y, v = z
    ((0.205, 0.225, -0.010), 0.055, 0.055, 'left_collar'),
    ((0.330, 0.222, -0.015), 0.048, 0.048, 'left_shoulder'),
    ((0.460, 0.220, -0.020), 0.038, 0.040, 'left_shoulder'),
    ((0.590, 0.220, -0.020), 0.037, 0.035, 'left_elbow'),
    ((0.710, 0.220, -0.020), 0.022, 0.032, 'left_elbow'),
    ((0.790, 0.218, -0.015), 0.018, 0.050, 'left_wrist'),
    ((0.860, 0.215, -0.010), 0.016, 0.054, 'left_hand'),
    ((0.950, 0.212, -0.010), 0.010, 0.050, 'left_hand'),
)
_NECK_HEAD = (  # extruded along +y from the top of the torso; u = x, v = z
    ((0.0, 0.345, -0.015), 0.050, 0.050, 'neck'),
    ((0.0, 0.400, 0.005), 0.075, 0.085, 'head'),
    ((0.0, 0.470, 0.015), 0.085, 0.100, 'head'),
    ((0.0, 0.535, 0.005), 0.075, 0.090, 'head'),
    ((0.0, 0.585, 0.000), 0.040, 0.050, 'head'),
)
# End points of the leaf bones (used for bone axes).
_LEAF_ENDS = {
    'left_foot': (0.105, -1.13, 0.19),
    'head': (0.0, 0.58, 0.0),
    'left_hand': (0.95, 0.212, -0.01),
}
_PRIMARY_CHILD = {
    'pelvis': 'spine1', 'left_hip': 'left_knee', 'left_knee': 'left_ankle',
    'spine1': 'spine2', 'spine2': 'spine3', 'spine3': 'neck',
    'left_ankle': 'left_foot', 'neck': 'head',
    'left_collar': 'left_shoulder', 'left_shoulder': 'left_elbow',
    'left_elbow': 'left_wrist', 'left_wrist': 'left_hand'
}
_AXIAL_JOINTS = ('pelvis', 'spine1', 'spine2', 'spine3')


def _mirror_x(p: Sequence[float]) -> Tuple[float, float, float]:
    return (-p[0], p[1], p[2])


def _full_joints() -> np.ndarray:
    """Design joints (24, 3) from the left-side table."""
    joints = np.zeros((24, 3))
    for name, pos in _JOINTS_LEFT.items():
        joints[J[name]] = pos
        if name.startswith('left'):
            joints[J[_LR[name]]] = _mirror_x(pos)
    return joints


def _bone_ends(joints: np.ndarray) -> np.ndarray:
    """End point (24, 3) of the bone owned by each joint."""
    ends = np.zeros_like(joints)
    for name in SMPL_JOINT_NAMES:
        left = name if not name.startswith('right') else _LR[name]
        sign = -1.0 if name.startswith('right') else 1.0
        if left in _PRIMARY_CHILD:
            child = _PRIMARY_CHILD[left]
            child = _LR[child] if sign < 0 and child.startswith(
                'left') else child
            ends[J[name]] = joints[J[child]]
        else:
            end = np.array(_LEAF_ENDS[left], dtype=float)
            end[0] *= sign
            ends[J[name]] = end
    return ends


# ---------------------------------------------------------------------------
# Proportion jitter: a smooth space warp applied to the cage and the design
# ---------------------------------------------------------------------------
def _warp(points: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Warp (N, 3) points by factors (height, girth, arm, leg length)."""
    f_h, f_g, f_a, f_l = factors
    y_hip, y_pelvis, x_sh = -0.30, -0.22, 0.205
    x, y, z = points[:, 0].copy(), points[:, 1].copy(), points[:, 2].copy()
    y = y + f_l * np.minimum(y - y_hip, 0.0)
    x = x + np.sign(x) * f_a * np.maximum(np.abs(x) - x_sh, 0.0)
    x = x + f_g * np.clip(x, -x_sh, x_sh)
    z = z * (1.0 + f_g)
    y = y_pelvis + (y - y_pelvis) * (1.0 + f_h)
    return np.stack([x, y, z], axis=1)


def _jitter_factors(seed: int, jitter: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=4) * jitter


def synthetic_rest_joints(seed: int = 0, jitter: float = 0.03) -> np.ndarray:
    """Designed rest joints of the synthetic body.

    ``make_synthetic_smpl(seed=seed, jitter=jitter)['J']`` (the regressed
    joints) reproduces them to within a few millimetres.

    Args:
        seed (int): Seed of the proportion jitter.
        jitter (float): Relative amplitude of the proportion jitter.

    Returns:
        np.ndarray: (24, 3) joint positions in metres (SMPL order).
    """
    return _warp(_full_joints(), _jitter_factors(seed, jitter))


# ---------------------------------------------------------------------------
# Quad cage (box modelling) and Catmull-Clark refinement
# ---------------------------------------------------------------------------
class _Cage:
    """A closed quad mesh grown by extrusion, each face labelled."""

    def __init__(self) -> None:
        self.verts: List[np.ndarray] = []
        self.quads: List[List[int]] = []
        self.labels: List[int] = []

    def add_verts(self, pts: np.ndarray) -> List[int]:
        start = len(self.verts)
        self.verts.extend(np.asarray(pts, dtype=float))
        return list(range(start, start + len(pts)))

    def add_quad(self, quad: Sequence[int], label: int) -> int:
        self.quads.append(list(quad))
        self.labels.append(label)
        return len(self.quads) - 1

    def centroid(self, fid: int) -> np.ndarray:
        return np.mean([self.verts[i] for i in self.quads[fid]], axis=0)

    def extrude(self, fid: int, center: Sequence[float], axis_u: np.ndarray,
                half_u: float, axis_v: np.ndarray, half_v: float,
                label: int) -> List[int]:
        """Extrude face ``fid`` to a rectangle; return the side face ids.

        The face (kept in place as the new cap) must be a rectangle roughly
        aligned with ``axis_u`` / ``axis_v``; each of its corners moves to the
        corner of the new rectangle on the same side.
        """
        old = self.quads[fid]
        pts = np.array([self.verts[i] for i in old])
        c_old = pts.mean(0)
        center = np.asarray(center, dtype=float)
        su = np.sign((pts - c_old) @ axis_u)
        sv = np.sign((pts - c_old) @ axis_v)
        assert np.all(su != 0) and np.all(sv != 0), 'degenerate extrusion'
        new_pts = (center + su[:, None] * half_u * axis_u +
                   sv[:, None] * half_v * axis_v)
        new = self.add_verts(new_pts)
        sides = []
        for i in range(4):
            a, b = old[i], old[(i + 1) % 4]
            sides.append(self.add_quad((a, b, new[(i + 1) % 4], new[i]),
                                       label))
        self.quads[fid] = new
        self.labels[fid] = label
        return sides


def _mirror_rings(rings: Sequence, mirror: bool) -> List:
    out = []
    for center, hu, hv, name in rings:
        if mirror:
            center = _mirror_x(center)
            name = _LR[name]
        out.append((center, hu, hv, name))
    return out


def _build_cage() -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Build the labelled quad cage: (verts (N, 3), quads (M, 4), labels)."""
    cage = _Cage()
    rings = []
    for y, w, m, zf, zb in _TORSO_RINGS:
        pts = [(-w, y, zf), (-m, y, zf), (m, y, zf), (w, y, zf), (w, y, zb),
               (m, y, zb), (-m, y, zb), (-w, y, zb)]
        rings.append(cage.add_verts(np.array(pts)))
    side_faces = {}
    for k, band in enumerate(_TORSO_BANDS):
        r0, r1 = rings[k], rings[k + 1]
        for i in range(8):
            j = (i + 1) % 8
            name = band
            quad = (r0[i], r0[j], r1[j], r1[i])
            cx = np.mean([cage.verts[q][0] for q in quad])
            if k in _COLLAR_BANDS and i not in (1, 5):
                name = 'left_collar' if cx > 0 else 'right_collar'
            fid = cage.add_quad(quad, J[name])
            if k == 5 and i in (3, 7):  # torso sides at the shoulder band
                side_faces['left' if i == 3 else 'right'] = fid
    b, t = rings[0], rings[-1]
    bottom = {
        'right': cage.add_quad((b[0], b[7], b[6], b[1]), J['pelvis']),
        'mid': cage.add_quad((b[1], b[6], b[5], b[2]), J['pelvis']),
        'left': cage.add_quad((b[2], b[5], b[4], b[3]), J['pelvis']),
    }
    cage.add_quad((t[0], t[1], t[6], t[7]), J['right_collar'])
    top_mid = cage.add_quad((t[1], t[2], t[5], t[6]), J['spine3'])
    cage.add_quad((t[2], t[3], t[4], t[5]), J['left_collar'])

    ex, ey, ez = np.eye(3)
    for side in ('left', 'right'):
        mirror = side == 'right'
        # leg and foot
        fid = bottom[side]
        sides = []
        for center, hu, hv, name in _mirror_rings(_LEG, mirror):
            sides = cage.extrude(fid, center, ex, hu, ez, hv, J[name])
        front = max(sides, key=lambda s: cage.centroid(s)[2])
        for center, hu, hv, name in _mirror_rings(_FOOT, mirror):
            cage.extrude(front, center, ex, hu, ey, hv, J[name])
        # arm and hand
        fid = side_faces[side]
        for center, hu, hv, name in _mirror_rings(_ARM, mirror):
            cage.extrude(fid, center, ey, hu, ez, hv, J[name])
    for center, hu, hv, name in _NECK_HEAD:
        cage.extrude(top_mid, center, ex, hu, ez, hv, J[name])
    return (np.array(cage.verts), np.array(cage.quads, dtype=np.int64),
            np.array(cage.labels, dtype=np.int64))


def _catmull_clark(verts: np.ndarray,
                   quads: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """One Catmull-Clark step of a closed quad mesh.

    Args:
        verts (np.ndarray): (N, 3) vertices.
        quads (np.ndarray): (M, 4) quads (consistent orientation).

    Returns:
        tuple: New vertices (N + E + M, 3) (old, edge, face points) and quads
        (4M, 4); child quads ``4m .. 4m + 3`` come from quad ``m``.
    """
    nv, nf = len(verts), len(quads)
    face_pts = verts[quads].mean(1)
    directed = np.stack([quads, np.roll(quads, -1, axis=1)], -1).reshape(-1, 2)
    edges, inv = np.unique(
        np.sort(directed, axis=1), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    ne = len(edges)
    counts = np.bincount(inv, minlength=ne)
    if np.any(counts != 2):
        raise RuntimeError('the cage is not a closed 2-manifold')
    fsum = np.zeros((ne, 3))
    np.add.at(fsum, inv, np.repeat(face_pts, 4, axis=0))
    edge_pts = (verts[edges[:, 0]] + verts[edges[:, 1]] + fsum) / 4.0
    valence = np.bincount(edges.ravel(), minlength=nv).astype(float)
    q_sum = np.zeros((nv, 3))
    np.add.at(q_sum, quads.ravel(), np.repeat(face_pts, 4, axis=0))
    mid = (verts[edges[:, 0]] + verts[edges[:, 1]]) / 2.0
    r_sum = np.zeros((nv, 3))
    np.add.at(r_sum, edges[:, 0], mid)
    np.add.at(r_sum, edges[:, 1], mid)
    n = valence[:, None]
    new_verts = (q_sum / n + 2.0 * r_sum / n + (n - 3.0) * verts) / n
    eid = inv.reshape(nf, 4)
    a = quads
    b = nv + eid
    c = np.broadcast_to((nv + ne + np.arange(nf))[:, None], (nf, 4))
    d = nv + np.roll(eid, 1, axis=1)
    new_quads = np.stack([a, b, c, d], axis=-1).reshape(-1, 4)
    return np.concatenate([new_verts, edge_pts, face_pts]), new_quads


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


# ---------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------
class _FakeChumpyCh:
    """Pickled as ``chumpy.ch.Ch`` (the array in the ``'x'`` state key)."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self._dirty_vars = set()  # a few chumpy-like extra attributes
        self._itr = None


class _fake_chumpy_modules:
    """Context registering ``chumpy`` / ``chumpy.ch`` so pickle can name
    :class:`_FakeChumpyCh` as ``chumpy.ch.Ch``; removed afterwards."""

    def __enter__(self) -> None:
        self._saved = {k: sys.modules.get(k) for k in ('chumpy', 'chumpy.ch')}
        pkg = types.ModuleType('chumpy')
        mod = types.ModuleType('chumpy.ch')
        pkg.ch = mod
        mod.Ch = _FakeChumpyCh
        self._cls = (_FakeChumpyCh.__module__, _FakeChumpyCh.__qualname__)
        _FakeChumpyCh.__module__, _FakeChumpyCh.__qualname__ = ('chumpy.ch',
                                                                'Ch')
        sys.modules['chumpy'], sys.modules['chumpy.ch'] = pkg, mod

    def __exit__(self, *exc: Any) -> None:
        _FakeChumpyCh.__module__, _FakeChumpyCh.__qualname__ = self._cls
        for key, value in self._saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def _to_release_pickle(data: Dict[str, Any], chumpy_like: bool) -> bytes:
    import scipy.sparse as sp
    out = dict(
        v_template=np.asarray(data['v_template']),
        shapedirs=np.asarray(data['shapedirs']),
        posedirs=np.asarray(data['posedirs']),
        J_regressor=sp.csc_matrix(data['J_regressor']),
        weights=np.asarray(data['weights']),
        kintree_table=np.asarray(data['kintree_table']),
        f=np.asarray(data['f'], dtype=np.uint32),
        J=np.asarray(data['J']),
        bs_style=data.get('bs_style', 'lbs'),
        bs_type=data.get('bs_type', 'lrotmin'),
    )
    for key in ('vertex_ids', 'vt', 'ft', 'face_uv', 'face_part_labels',
                'part_names', 'beta_names'):
        if key in data:
            out[key] = data[key]
    if 'joint_regressor_extra' in data:  # as in HMR's neutral SMPL
        out['cocoplus_regressor'] = sp.csc_matrix(
            data['joint_regressor_extra'])
    if not chumpy_like:
        return pickle.dumps(out, protocol=2)
    out['shapedirs'] = _FakeChumpyCh(out['shapedirs'])
    with _fake_chumpy_modules():
        return pickle.dumps(out, protocol=2)


def save_synthetic_smpl(path: str,
                        fmt: Optional[str] = None,
                        chumpy_like: bool = True,
                        **kwargs: Any) -> str:
    """Write the synthetic body to a file.

    Args:
        path (str): Output file.
        fmt (str, optional): ``'npz'`` (read with ``np.load``, no pickle) or
            ``'pkl'`` (a protocol-2 pickle laid out like the SMPL release:
            ``J_regressor`` a ``scipy.sparse.csc_matrix``, ``f`` uint32,
            ``bs_style`` / ``bs_type``, the COCO-plus regressor as HMR's
            ``cocoplus_regressor``). Defaults to the extension of ``path``.
        chumpy_like (bool): For ``'pkl'``, store ``shapedirs`` as an object
            whose pickle names ``chumpy.ch.Ch`` like the release does
            (readable without chumpy by mmlwgan's loader). Defaults to True.
        **kwargs: Passed to :func:`make_synthetic_smpl`.

    Returns:
        str: The path written.
    """
    if fmt is None:
        fmt = osp.splitext(path)[1].lstrip('.').lower() or 'npz'
    if fmt not in ('npz', 'pkl'):
        raise ValueError(f"fmt should be 'npz' or 'pkl', got {fmt!r}")
    data = make_synthetic_smpl(**kwargs)
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.' + fmt, dir=dirname)
    os.close(fd)
    try:
        if fmt == 'npz':
            save_smpl_npz(data, tmp)
        else:
            with open(tmp, 'wb') as f:
                f.write(_to_release_pickle(data, chumpy_like))
        os.replace(tmp, path)  # atomic: safe with parallel test workers
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def get_synthetic_smpl_path(directory: str,
                            fmt: str = 'npz',
                            filename: Optional[str] = None,
                            **kwargs: Any) -> str:
    """Return a synthetic SMPL file in ``directory``, writing it once.

    Args:
        directory (str): Folder (created if needed), e.g. a pytest
            ``tmp_path_factory`` folder.
        fmt (str): ``'npz'`` or ``'pkl'``. Defaults to ``'npz'``.
        filename (str, optional): File name. Defaults to
            ``SMPL_NEUTRAL.<fmt>`` so that the directory itself also works as
            a ``model_path``.
        **kwargs: Passed to :func:`make_synthetic_smpl`; give a distinct
            ``filename`` for non-default arguments.

    Returns:
        str: Path of the file.
    """
    path = osp.join(str(directory), filename or f'SMPL_NEUTRAL.{fmt}')
    if not osp.isfile(path):
        save_synthetic_smpl(path, fmt=fmt, **kwargs)
    return path

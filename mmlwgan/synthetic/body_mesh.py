# Copyright (c) mmlwgan contributors. All rights reserved.
"""The geometry of the synthetic body (for :mod:`.body`).

Its design (joint positions and the cage's rings and extrusions, in metres,
left side; the right side is mirrored), the proportion jitter (a smooth
space warp applied to the cage and the design) and the box modelling: a
quad cage (torso rings with legs, arms, neck and head extruded from its
faces) refined by Catmull-Clark steps, which keeps the surface closed by
construction. Also the body's part names and the joint -> part map.
"""
from typing import List, Sequence, Tuple

import numpy as np

from mmlwgan.models.body.smpl import SMPL_JOINT_NAMES

__all__ = [
    'SYNTHETIC_PART_NAMES', 'SYNTHETIC_BETA_NAMES', 'synthetic_rest_joints'
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

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Procedural SMPL motions: smooth pose sequences with large pose changes.

Used by the demo, the synthetic iPER generator and tests. Poses are SMPL's
(N, 72) axis-angle vectors (24 joints x 3, joint order of SMPL). The global
orientation includes a 180-degree turn about x, so that a SMPL-format body
(y up, facing +z at rest) appears upright and facing the camera in the
project's image convention (y down, z larger = farther, camera looking
towards +z).
"""
from typing import Callable, Dict

import numpy as np
from scipy.spatial.transform import Rotation

# SMPL joint indices used below.
L_HIP, R_HIP, SPINE1, L_KNEE, R_KNEE, SPINE2 = 1, 2, 3, 4, 5, 6
SPINE3, NECK, HEAD = 9, 12, 15
L_COLLAR, R_COLLAR, L_SHOULDER, R_SHOULDER = 13, 14, 16, 17
L_ELBOW, R_ELBOW = 18, 19


def _set(pose: np.ndarray, joint: int, rotvec) -> None:
    pose[:, 3 * joint:3 * joint + 3] = rotvec


def global_orient(yaw: np.ndarray) -> np.ndarray:
    """Upright-to-camera orientation turned by ``yaw`` radians about the
    body's vertical axis.

    Args:
        yaw (np.ndarray): (N,) angles in radians; 0 faces the camera, pi shows
            the back.

    Returns:
        np.ndarray: (N, 3) axis-angle.
    """
    flip = Rotation.from_rotvec([np.pi, 0.0, 0.0])
    turn = Rotation.from_rotvec(np.stack(
        [np.zeros_like(yaw), yaw, np.zeros_like(yaw)], axis=1))
    return (flip * turn).as_rotvec()


def rest_arms_down(num_frames: int, arm_angle: float = 1.2) -> np.ndarray:
    """A neutral standing pose with the arms lowered, repeated.

    Args:
        num_frames (int): N.
        arm_angle (float): how far the arms come down from the T-pose, in
            radians.

    Returns:
        np.ndarray: (N, 72) float32.
    """
    pose = np.zeros((num_frames, 72), dtype=np.float64)
    pose[:, :3] = global_orient(np.zeros(num_frames))
    # SMPL's left arm points along +x at rest: lower it about -z, the right
    # one about +z.
    _set(pose, L_SHOULDER, [0.0, 0.0, -arm_angle])
    _set(pose, R_SHOULDER, [0.0, 0.0, arm_angle])
    return pose


def walk(num_frames: int, cycles: float = 2.0) -> np.ndarray:
    """Walking in place: legs and arms swing, knees bend.

    Returns:
        np.ndarray: (N, 72) axis-angle.
    """
    t = np.linspace(0, 2 * np.pi * cycles, num_frames)
    pose = rest_arms_down(num_frames)
    swing = 0.6 * np.sin(t)
    zeros = np.zeros_like(t)
    pose[:, 3 * L_HIP:3 * L_HIP + 3] = np.stack([-swing, zeros, zeros], 1)
    pose[:, 3 * R_HIP:3 * R_HIP + 3] = np.stack([swing, zeros, zeros], 1)
    pose[:, 3 * L_KNEE] = 0.8 * np.clip(np.sin(t + 0.5), 0, None)
    pose[:, 3 * R_KNEE] = 0.8 * np.clip(-np.sin(t + 0.5), 0, None)
    pose[:, 3 * L_SHOULDER + 1] = 0.5 * np.sin(t)
    pose[:, 3 * R_SHOULDER + 1] = 0.5 * np.sin(t)
    pose[:, 3 * L_ELBOW + 1] = -0.5
    pose[:, 3 * R_ELBOW + 1] = 0.5
    return pose


def wave(num_frames: int, cycles: float = 2.0) -> np.ndarray:
    """Both arms go up and down, the torso bends sideways, the head nods."""
    t = np.linspace(0, 2 * np.pi * cycles, num_frames)
    pose = rest_arms_down(num_frames)
    lift = 1.2 * (0.5 - 0.5 * np.cos(t))  # 0 .. 2.4 rad
    pose[:, 3 * L_SHOULDER + 2] = -1.2 + lift
    pose[:, 3 * R_SHOULDER + 2] = 1.2 - lift
    pose[:, 3 * L_ELBOW + 1] = -0.9 * np.sin(t) ** 2
    pose[:, 3 * R_ELBOW + 1] = 0.9 * np.sin(t) ** 2
    pose[:, 3 * SPINE2 + 2] = 0.25 * np.sin(t)
    pose[:, 3 * NECK] = 0.2 * np.sin(2 * t)
    return pose


def squat(num_frames: int, cycles: float = 1.5) -> np.ndarray:
    """Knees and hips bend deeply, the arms reach forward."""
    t = np.linspace(0, 2 * np.pi * cycles, num_frames)
    pose = rest_arms_down(num_frames)
    depth = 0.5 - 0.5 * np.cos(t)
    for hip in (L_HIP, R_HIP):
        pose[:, 3 * hip] = -1.2 * depth
    for knee in (L_KNEE, R_KNEE):
        pose[:, 3 * knee] = 2.0 * depth
    pose[:, 3 * SPINE1] = 0.4 * depth
    pose[:, 3 * L_SHOULDER + 1] = -1.2 * depth
    pose[:, 3 * R_SHOULDER + 1] = 1.2 * depth
    return pose


def turn_around(num_frames: int, turns: float = 1.0) -> np.ndarray:
    """Turning a full circle about the vertical axis while walking."""
    pose = walk(num_frames, cycles=2 * turns)
    yaw = np.linspace(0, 2 * np.pi * turns, num_frames)
    pose[:, :3] = global_orient(yaw)
    return pose


def dance(num_frames: int) -> np.ndarray:
    """A mix of the motions above, chained smoothly (waving while turning and
    squatting)."""
    t = np.linspace(0, 1, num_frames)
    pose = wave(num_frames, cycles=3)
    sq = squat(num_frames, cycles=2)
    for j in (L_HIP, R_HIP, L_KNEE, R_KNEE, SPINE1):
        pose[:, 3 * j:3 * j + 3] = 0.6 * sq[:, 3 * j:3 * j + 3]
    pose[:, :3] = global_orient(0.9 * np.sin(2 * np.pi * t))
    return pose


MOTIONS: Dict[str, Callable[[int], np.ndarray]] = dict(
    walk=walk, wave=wave, squat=squat, turn_around=turn_around, dance=dance,
    rest=rest_arms_down)


def make_motion(name: str, num_frames: int) -> np.ndarray:
    """A named motion as (N, 72) float32 axis-angle poses.

    Args:
        name (str): one of ``MOTIONS``.
        num_frames (int): N >= 1.
    """
    if name not in MOTIONS:
        raise ValueError(
            f'unknown motion {name!r}; choose one of {sorted(MOTIONS)}')
    if num_frames < 1:
        raise ValueError(f'num_frames must be >= 1, got {num_frames}')
    return MOTIONS[name](num_frames).astype(np.float32)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Rotation helpers (batched, differentiable, any leading dimensions).

Conventions: rotation matrices act on column vectors (``x' = R @ x``);
axis-angle vectors are ``angle * unit_axis`` with the angle in radians and a
right-handed (counter-clockwise when the axis points at the viewer) sense,
exactly like SMPL's pose parameters.
"""
from typing import Sequence, Union

import torch

__all__ = [
    'axis_angle_to_matrix', 'matrix_to_axis_angle', 'euler_to_matrix',
    'rotate_points'
]


def axis_angle_to_matrix(axis_angle: torch.Tensor,
                         eps: float = 1e-8) -> torch.Tensor:
    """Convert axis-angle vectors to rotation matrices (Rodrigues).

    Args:
        axis_angle (torch.Tensor): Rotations of shape (..., 3), radians.
        eps (float): Small-angle threshold; below it the first-order
            expansion ``I + [w]x`` is used so gradients stay finite.

    Returns:
        torch.Tensor: Rotation matrices of shape (..., 3, 3).
    """
    sq = (axis_angle * axis_angle).sum(-1, keepdim=True)  # (..., 1)
    large = sq > eps * eps
    # keep NaN-free gradients at 0: sqrt only sees the masked values
    angle = torch.sqrt(torch.where(large, sq, torch.ones_like(sq)))
    axis = axis_angle / angle
    x, y, z = axis.unbind(-1)
    zeros = torch.zeros_like(x)
    skew = torch.stack([zeros, -z, y, z, zeros, -x, -y, x, zeros],
                       dim=-1).reshape(axis.shape[:-1] + (3, 3))
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device)
    sin = torch.sin(angle)[..., None]
    cos = torch.cos(angle)[..., None]
    rot = eye + sin * skew + (1 - cos) * (skew @ skew)
    # first order for tiny angles: I + [w]x
    w = axis_angle
    wx, wy, wz = w.unbind(-1)
    small = eye + torch.stack(
        [zeros, -wz, wy, wz, zeros, -wx, -wy, wx, zeros],
        dim=-1).reshape(w.shape[:-1] + (3, 3))
    return torch.where(large[..., None], rot, small)


def matrix_to_axis_angle(matrix: torch.Tensor,
                         eps: float = 1e-6) -> torch.Tensor:
    """Convert rotation matrices to axis-angle vectors.

    Args:
        matrix (torch.Tensor): Rotation matrices of shape (..., 3, 3).
        eps (float): Numerical tolerance near angles 0 and pi.

    Returns:
        torch.Tensor: Axis-angle vectors of shape (..., 3), angle in
        [0, pi].
    """
    trace = matrix[..., 0, 0] + matrix[..., 1, 1] + matrix[..., 2, 2]
    cos = ((trace - 1) / 2).clamp(-1.0, 1.0)
    angle = torch.acos(cos)
    vee = torch.stack([
        matrix[..., 2, 1] - matrix[..., 1, 2],
        matrix[..., 0, 2] - matrix[..., 2, 0],
        matrix[..., 1, 0] - matrix[..., 0, 1]
    ], -1)
    sin = torch.sin(angle)
    generic = vee * (angle / (2 * sin.clamp_min(eps)))[..., None]
    small = vee / 2  # angle ~ 0: w ~ vee / 2
    # angle ~ pi: sym(R) = cos I + (1 - cos) a a^T gives the axis up to sign
    sym = (matrix + matrix.transpose(-1, -2)) / 2
    eye = torch.eye(3, dtype=matrix.dtype, device=matrix.device)
    outer = (sym - cos[..., None, None] * eye) / (1 - cos).clamp_min(
        eps)[..., None, None]
    diag = torch.diagonal(outer, dim1=-2, dim2=-1)
    idx = diag.argmax(-1)[..., None, None].expand(outer.shape[:-1] + (1, ))
    axis = torch.gather(outer, -1, idx).squeeze(-1)
    axis = axis / torch.linalg.norm(axis, dim=-1, keepdim=True).clamp_min(eps)
    sign = torch.where((axis * vee).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    near_pi = sign * axis * angle[..., None]
    out = torch.where((sin > eps)[..., None], generic, small)
    return torch.where((cos < -0.99)[..., None], near_pi, out)


def _axis_rotation(axis: str, angle: torch.Tensor) -> torch.Tensor:
    cos, sin = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones_like(angle), torch.zeros_like(angle)
    if axis == 'x':
        flat = (one, zero, zero, zero, cos, -sin, zero, sin, cos)
    elif axis == 'y':
        flat = (cos, zero, sin, zero, one, zero, -sin, zero, cos)
    elif axis == 'z':
        flat = (cos, -sin, zero, sin, cos, zero, zero, zero, one)
    else:
        raise ValueError(f'unknown axis {axis!r}')
    return torch.stack(flat, -1).reshape(angle.shape + (3, 3))


def euler_to_matrix(angles: Union[torch.Tensor, Sequence[float]],
                    convention: str = 'xyz',
                    degrees: bool = False) -> torch.Tensor:
    """Rotation matrices from Euler angles about fixed (extrinsic) axes.

    ``convention='xyz'`` rotates first about x, then about y, then about z:
    ``R = Rz(c) @ Ry(b) @ Rx(a)`` for ``angles = (a, b, c)``.

    Args:
        angles (torch.Tensor | Sequence[float]): Angles of shape (..., 3) in
            the order of ``convention``.
        convention (str): Three letters of ``'xyz'``, the order in which the
            rotations are applied. Defaults to ``'xyz'``.
        degrees (bool): Whether the angles are in degrees. Defaults to False.

    Returns:
        torch.Tensor: Rotation matrices of shape (..., 3, 3).
    """
    angles = torch.as_tensor(angles)
    if not angles.is_floating_point():
        angles = angles.float()
    if len(convention) != 3 or set(convention) - set('xyz'):
        raise ValueError(f'invalid Euler convention {convention!r}')
    if degrees:
        angles = torch.deg2rad(angles)
    rot = None
    for i, axis in enumerate(convention):
        r = _axis_rotation(axis, angles[..., i])
        rot = r if rot is None else r @ rot
    return rot


def rotate_points(points: torch.Tensor,
                  rotation: torch.Tensor,
                  center: Union[torch.Tensor, None] = None) -> torch.Tensor:
    """Rotate points about a center.

    Args:
        points (torch.Tensor): Points of shape (B, N, 3).
        rotation (torch.Tensor): Rotation matrices (B, 3, 3) or (3, 3).
        center (torch.Tensor, optional): Rotation centers (B, 3) or (3,).
            Defaults to the origin.

    Returns:
        torch.Tensor: Rotated points ``R (p - c) + c`` of shape (B, N, 3).
    """
    if center is None:
        return points @ rotation.transpose(-1, -2)
    center = center.reshape(*center.shape[:-1], 1, 3)
    return (points - center) @ rotation.transpose(-1, -2) + center

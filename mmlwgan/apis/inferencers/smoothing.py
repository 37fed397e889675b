# Copyright (c) mmlwgan contributors. All rights reserved.
"""Temporal smoothing of SMPL sequences (reference poses from HMR jitter).

Poses are smoothed on rotations, not on raw axis-angle vectors (which jump
by 2 pi and are not linear): every joint's axis-angle becomes a rotation
matrix, the nine entries are low-pass filtered over time, and the result is
projected back onto SO(3) (the nearest rotation, by SVD) before going back
to axis-angle. Cameras are filtered directly (the scale in the log domain);
shapes linearly.

Filters (``method``):

* ``'savgol'`` (default): Savitzky-Golay, polynomial order 2, centred window
  (keeps peaks of fast motions better than a box filter);
* ``'gaussian'``: Gaussian, sigma = window / 4;
* ``'mean'``: moving average;
* ``'one_euro'``: the causal One-Euro filter (adaptive cut-off, no
  look-ahead; ``window`` is ignored), usable on a stream with
  :class:`OneEuroFilter`.

All windowed filters are normalised (weights sum to one) with edge-value
padding, so a constant sequence is returned unchanged.

Examples:
    >>> thetas = smooth_thetas(thetas, window=7)          # (N, 85)
    >>> poses = smooth_poses(poses, window=5, method='gaussian')  # (N, 72)
"""
from typing import Optional

import numpy as np
import torch

from mmlwgan.models.body import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = [
    'SMOOTH_METHODS', 'temporal_filter', 'project_to_so3', 'smooth_rotations',
    'smooth_poses', 'smooth_cams', 'smooth_thetas', 'OneEuroFilter'
]

SMOOTH_METHODS = ('savgol', 'gaussian', 'mean', 'one_euro')


def _odd_window(window: int, n: int) -> int:
    window = int(window)
    if window % 2 == 0:
        window += 1
    if window > n:
        window = n if n % 2 == 1 else n - 1
    return max(window, 1)


def temporal_filter(x: np.ndarray, window: int = 5, method: str = 'savgol',
                    polyorder: int = 2, min_cutoff: float = 1.0,
                    beta: float = 0.0, fps: float = 30.0) -> np.ndarray:
    """Low-pass filter an (N, ...) array along time (axis 0).

    Args:
        x (np.ndarray): (N, ...) values.
        window (int): window length in frames (made odd, clipped to N).
        method (str): one of :data:`SMOOTH_METHODS`.
        polyorder (int): Savitzky-Golay polynomial order. Defaults to 2.
        min_cutoff, beta (float): One-Euro parameters (Hz, speed gain).
        fps (float): frame rate for the One-Euro filter.

    Returns:
        np.ndarray: filtered array of the same shape (float64).
    """
    if method not in SMOOTH_METHODS:
        raise ValueError(f'unknown smoothing method {method!r}; choose one '
                         f'of {SMOOTH_METHODS}')
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        return x.copy()
    if method == 'one_euro':
        filt = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, fps=fps)
        return np.stack([filt(v) for v in x])
    window = _odd_window(window, n)
    if window <= 1:
        return x.copy()
    flat = x.reshape(n, -1)
    if method == 'savgol':
        from scipy.signal import savgol_filter
        order = min(polyorder, window - 1)
        out = savgol_filter(flat, window, order, axis=0, mode='nearest')
    elif method == 'gaussian':
        from scipy.ndimage import gaussian_filter1d
        out = gaussian_filter1d(flat, sigma=window / 4.0, axis=0,
                                mode='nearest', truncate=2.0)
    else:
        from scipy.ndimage import uniform_filter1d
        out = uniform_filter1d(flat, size=window, axis=0, mode='nearest')
    return out.reshape(x.shape)


def project_to_so3(mats: np.ndarray) -> np.ndarray:
    """Nearest rotation matrices (Frobenius norm) of (..., 3, 3) matrices."""
    u, _, vt = np.linalg.svd(mats)
    det = np.linalg.det(u @ vt)
    fix = np.ones(mats.shape[:-1])
    fix[..., -1] = det
    return (u * fix[..., None, :]) @ vt


def smooth_rotations(rotmats: np.ndarray, window: int = 5,
                     method: str = 'savgol', **kwargs) -> np.ndarray:
    """Smooth (N, ..., 3, 3) rotation matrices over time and re-orthonormalise
    them (SVD projection onto SO(3))."""
    out = temporal_filter(rotmats, window, method, **kwargs)
    return project_to_so3(out)


def _closest_equivalent(aa: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Of the axis-angle ``aa`` and its equivalent ``aa - 2 pi aa/|aa|``,
    pick the one closer to ``ref`` (keeps the input's convention)."""
    norm = np.linalg.norm(aa, axis=-1, keepdims=True)
    unit = aa / np.maximum(norm, 1e-12)
    alt = aa - 2 * np.pi * unit
    use_alt = (np.linalg.norm(alt - ref, axis=-1)
               < np.linalg.norm(aa - ref, axis=-1))[..., None] & (norm > 1e-6)
    return np.where(use_alt, alt, aa)


def smooth_poses(poses: np.ndarray, window: int = 5, method: str = 'savgol',
                 **kwargs) -> np.ndarray:
    """Smooth (N, 72) axis-angle SMPL poses on rotation matrices.

    Joints whose rotation does not change keep their input axis-angle
    exactly; others are given in the axis-angle form closest to the input.

    Returns:
        np.ndarray: (N, 72) float32.
    """
    poses = np.asarray(poses, dtype=np.float64)
    n = poses.shape[0]
    aa = poses.reshape(n, -1, 3)
    rot = axis_angle_to_matrix(torch.from_numpy(aa)).numpy()
    smooth = smooth_rotations(rot, window, method, **kwargs)
    out = matrix_to_axis_angle(torch.from_numpy(smooth)).numpy()
    out = _closest_equivalent(out, aa)
    same = np.abs(smooth - rot).reshape(n, -1, 9).max(-1) < 1e-6
    out = np.where(same[..., None], aa, out)
    return out.reshape(poses.shape).astype(np.float32)


def smooth_cams(cams: np.ndarray, window: int = 5, method: str = 'savgol',
                **kwargs) -> np.ndarray:
    """Smooth (N, 3) weak-perspective cameras ``[s, tx, ty]`` (the scale in
    the log domain, so it stays positive)."""
    cams = np.asarray(cams, dtype=np.float64)
    log = np.concatenate([np.log(np.maximum(cams[:, :1], 1e-8)),
                          cams[:, 1:]], axis=1)
    out = temporal_filter(log, window, method, **kwargs)
    out[:, 0] = np.exp(out[:, 0])
    same = np.abs(out - cams) < 1e-7  # unchanged values stay bit-exact
    return np.where(same, cams, out).astype(np.float32)


def smooth_thetas(thetas: np.ndarray,
                  window: int = 5,
                  method: str = 'savgol',
                  smooth_cam: bool = True,
                  smooth_pose: bool = True,
                  smooth_shape: bool = True,
                  num_betas: Optional[int] = None,
                  **kwargs) -> np.ndarray:
    """Smooth an (N, 85) theta sequence (camera, pose and shape).

    Args:
        thetas (np.ndarray): (N, 3 + 72 + num_betas).
        window (int): window in frames (odd; clipped to N).
        method (str): ``'savgol'``, ``'gaussian'``, ``'mean'`` or
            ``'one_euro'``.
        smooth_cam, smooth_pose, smooth_shape (bool): which parts.
        num_betas (int, optional): defaults to ``thetas.shape[1] - 75``.
        **kwargs: filter options (``polyorder``, ``min_cutoff``, ``beta``,
            ``fps``).

    Returns:
        np.ndarray: (N, 85) float32.
    """
    thetas = np.asarray(thetas, dtype=np.float32)
    if thetas.ndim != 2 or thetas.shape[1] < 75:
        raise ValueError(f'thetas should be (N, 85), got {thetas.shape}')
    out = thetas.copy()
    if len(thetas) < 2:
        return out
    if smooth_cam:
        out[:, :3] = smooth_cams(thetas[:, :3], window, method, **kwargs)
    if smooth_pose:
        out[:, 3:75] = smooth_poses(thetas[:, 3:75], window, method,
                                    **kwargs)
    if smooth_shape and thetas.shape[1] > 75:
        shape = thetas[:, 75:]
        filt = temporal_filter(shape, window, method, **kwargs)
        out[:, 75:] = np.where(np.abs(filt - shape) < 1e-7, shape, filt)
    return out


class OneEuroFilter:
    """The One-Euro filter (Casiez et al., CHI 2012) on arrays, causal.

    ``x_hat = a * x + (1 - a) * x_hat_prev`` with a cut-off frequency that
    grows with the (filtered) speed: ``min_cutoff + beta * |dx|``. Call it
    on each new frame; for rotations filter matrices and project them with
    :func:`project_to_so3`.

    Args:
        min_cutoff (float): cut-off at rest, Hz. Lower = smoother.
        beta (float): speed coefficient. Higher = less lag on fast motion.
        d_cutoff (float): cut-off of the speed estimate, Hz.
        fps (float): frame rate.
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0,
                 d_cutoff: float = 1.0, fps: float = 30.0) -> None:
        self.min_cutoff = min_cutoff
        self.beta = beta
        self.d_cutoff = d_cutoff
        self.fps = fps
        self.reset()

    def reset(self) -> None:
        self._x = None
        self._dx = None

    def _alpha(self, cutoff):
        tau = 1.0 / (2 * np.pi * cutoff)
        return 1.0 / (1.0 + tau * self.fps)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self._x is None:
            self._x = x.copy()
            self._dx = np.zeros_like(x)
            return x.copy()
        dx = (x - self._x) * self.fps
        a_d = self._alpha(self.d_cutoff)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        a = self._alpha(cutoff)
        self._x = a * x + (1 - a) * self._x
        return self._x.copy()

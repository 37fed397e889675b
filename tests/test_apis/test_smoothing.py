# Copyright (c) mmlwgan contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmlwgan.apis.inferencers.smoothing import (SMOOTH_METHODS,
                                                OneEuroFilter,
                                                project_to_so3, smooth_cams,
                                                smooth_poses,
                                                smooth_rotations,
                                                smooth_thetas)
from mmlwgan.models.body import axis_angle_to_matrix
from mmlwgan.synthetic.motions import make_motion

N = 60


def rotmats(poses):
    return axis_angle_to_matrix(
        torch.from_numpy(np.asarray(poses, np.float64)).reshape(
            len(poses), -1, 3)).numpy()


def geodesic(a, b):
    """Mean rotation angle between two (N, J, 3, 3) sets."""
    rel = np.swapaxes(a, -1, -2) @ b
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1) / 2
    return float(np.arccos(np.clip(cos, -1, 1)).mean())


def jitter(rot):
    """Mean angle between consecutive frames' rotations."""
    return geodesic(rot[1:], rot[:-1])


@pytest.fixture(scope='module')
def noisy():
    rng = np.random.default_rng(0)
    clean = np.zeros((N, 85), np.float32)
    clean[:, 3:75] = make_motion('walk', N)
    clean[:, 0] = 0.8 + 0.05 * np.sin(np.linspace(0, 3, N))
    clean[:, 1] = np.linspace(-0.2, 0.2, N)
    clean[:, 75:] = 0.3
    noisy = clean.copy()
    noisy[:, 3:75] += rng.normal(0, 0.08, (N, 72)).astype(np.float32)
    noisy[:, 0] *= np.exp(rng.normal(0, 0.05, N)).astype(np.float32)
    noisy[:, 1:3] += rng.normal(0, 0.03, (N, 2)).astype(np.float32)
    noisy[:, 75:] += rng.normal(0, 0.1, (N, 10)).astype(np.float32)
    return clean, noisy


@pytest.mark.parametrize('method', SMOOTH_METHODS)
def test_smoothing_reduces_jitter(noisy, method):
    clean, noisy = noisy
    kwargs = dict(min_cutoff=1.0, beta=0.0) if method == 'one_euro' else {}
    out = smooth_thetas(noisy, window=7, method=method, **kwargs)
    assert out.shape == noisy.shape and out.dtype == np.float32
    r_clean, r_noisy, r_out = (rotmats(x[:, 3:75])
                               for x in (clean, noisy, out))
    # less frame-to-frame jitter, closer to the clean motion
    assert jitter(r_out) < 0.6 * jitter(r_noisy)
    if method != 'one_euro':  # causal: lags behind the motion
        assert geodesic(r_out, r_clean) < geodesic(r_noisy, r_clean)
    cam_jit = np.abs(np.diff(out[:, 1:3], axis=0)).mean()
    assert cam_jit < 0.6 * np.abs(np.diff(noisy[:, 1:3], axis=0)).mean()
    assert (out[:, 0] > 0).all()
    assert np.abs(out[:, 75:] - 0.3).mean() < np.abs(noisy[:, 75:] -
                                                     0.3).mean()


@pytest.mark.parametrize('method', SMOOTH_METHODS)
def test_constant_sequence_unchanged(method):
    theta = np.zeros((20, 85), np.float32)
    theta[:, :3] = [0.9, 0.1, -0.2]
    theta[:, 3:75] = make_motion('wave', 1)  # includes a pi root rotation
    theta[:, 75:] = np.linspace(-1, 1, 10)
    out = smooth_thetas(theta, window=9, method=method)
    np.testing.assert_array_equal(out, theta)


def test_smoothed_rotations_are_rotations(noisy):
    _, noisy = noisy
    rot = rotmats(noisy[:, 3:75])
    out = smooth_rotations(rot, window=9, method='gaussian')
    eye = np.broadcast_to(np.eye(3), out.shape)
    np.testing.assert_allclose(np.swapaxes(out, -1, -2) @ out, eye,
                               atol=1e-9)
    np.testing.assert_allclose(np.linalg.det(out), 1.0, atol=1e-9)
    # the SO(3) projection of a scaled rotation is the rotation
    np.testing.assert_allclose(project_to_so3(rot * 0.7), rot, atol=1e-9)


def test_axis_angle_convention_kept():
    """Angles near pi come back in the input's form, not their negation."""
    poses = np.zeros((5, 72), np.float32)
    poses[:, 0] = np.pi - 0.01 + np.array([0, 1e-3, -1e-3, 2e-3, 0])
    out = smooth_poses(poses, window=5)
    assert (out[:, 0] > 3.0).all()
    np.testing.assert_allclose(out[:, 0], poses[:, 0], atol=2e-3)


def test_short_sequences_and_bad_method():
    one = np.zeros((1, 85), np.float32)
    one[0, 0] = 1
    np.testing.assert_array_equal(smooth_thetas(one), one)
    two = np.repeat(one, 2, 0)
    two[1, 1] = 0.5
    out = smooth_thetas(two, window=31)  # window clipped to the length
    assert out.shape == (2, 85) and np.isfinite(out).all()
    with pytest.raises(ValueError, match='unknown smoothing method'):
        smooth_cams(two[:, :3], method='kalman')


def test_one_euro_streaming_matches_batch(noisy):
    _, noisy = noisy
    filt = OneEuroFilter(min_cutoff=0.5, beta=0.1)
    stream = np.stack([filt(c) for c in noisy[:, 1:3]])
    batch = smooth_cams(np.concatenate([noisy[:, :1], noisy[:, 1:3]], 1),
                        method='one_euro', min_cutoff=0.5, beta=0.1)
    np.testing.assert_allclose(batch[:, 1:], stream, atol=1e-6)
    filt.reset()
    assert filt(np.ones(2)).tolist() == [1.0, 1.0]

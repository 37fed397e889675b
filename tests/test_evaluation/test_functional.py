# Copyright (c) mmlwgan contributors. All rights reserved.
"""Values of the pure metric functions against hand / brute-force results."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mmlwgan.evaluation.functional import (feature_stats, frechet_distance,
                                           inception_score, lpips_distance,
                                           masked_l1, psnr, ssim)


def _rand_pair(shape=(16, 14, 3), seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1, 1, shape)
    b = np.clip(a + rng.normal(0, 0.3, shape), -1, 1)
    return a, b


def _brute_ssim(x, y, data_range, win, weights=None, sample_cov=True,
                K1=0.01, K2=0.03):
    """SSIM by explicit loops over the windows of the valid region."""
    H, W, C = x.shape
    r = win // 2
    if weights is None:
        weights = np.full((win, win), 1. / win**2)
    n = win * win
    norm = n / (n - 1) if sample_cov else 1.
    c1, c2 = (K1 * data_range)**2, (K2 * data_range)**2
    per_channel = []
    for c in range(C):
        vals = []
        for i in range(r, H - r):
            for j in range(r, W - r):
                px = x[i - r:i + r + 1, j - r:j + r + 1, c]
                py = y[i - r:i + r + 1, j - r:j + r + 1, c]
                mx, my = (weights * px).sum(), (weights * py).sum()
                vx = norm * ((weights * px * px).sum() - mx * mx)
                vy = norm * ((weights * py * py).sum() - my * my)
                vxy = norm * ((weights * px * py).sum() - mx * my)
                vals.append(((2 * mx * my + c1) * (2 * vxy + c2)) /
                            ((mx**2 + my**2 + c1) * (vx + vy + c2)))
        per_channel.append(np.mean(vals))
    return float(np.mean(per_channel))


# ----------------------------------------------------------------- SSIM


def test_ssim_identical_is_one():
    a, _ = _rand_pair()
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    u8 = ((a + 1) * 127.5).astype(np.uint8)
    assert ssim(u8, u8) == pytest.approx(1.0, abs=1e-12)
    t = torch.from_numpy(a).permute(2, 0, 1).float()
    assert ssim(t, t) == pytest.approx(1.0, abs=1e-12)
    assert ssim(a, a, gaussian_weights=True,
                use_sample_covariance=False) == pytest.approx(1.0, abs=1e-12)


def test_ssim_release_default_matches_brute_force():
    # release: skimage defaults, 7x7 uniform window, sample covariance,
    # data range 2 for [-1, 1] floats
    a, b = _rand_pair()
    expected = _brute_ssim(a, b, data_range=2., win=7)
    assert ssim(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert ssim(a, b) < 1


def test_ssim_gaussian_matches_brute_force():
    a, b = _rand_pair((15, 13, 3), seed=1)
    g = np.exp(-np.arange(-5, 6)**2 / (2 * 1.5**2))
    g /= g.sum()
    weights = np.outer(g, g)
    expected = _brute_ssim(a, b, 2., 11, weights=weights, sample_cov=False)
    got = ssim(a, b, gaussian_weights=True, sigma=1.5,
               use_sample_covariance=False)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_ssim_torch_chw_equals_numpy_hwc_and_uint8_range():
    a, b = _rand_pair()
    ta = torch.from_numpy(a).permute(2, 0, 1)
    tb = torch.from_numpy(b).permute(2, 0, 1)
    assert ssim(ta, tb) == pytest.approx(ssim(a, b), abs=1e-12)
    assert ssim(ta[None], tb[None]) == pytest.approx(ssim(a, b), abs=1e-12)
    u1 = np.round((a + 1) * 127.5).astype(np.uint8)
    u2 = np.round((b + 1) * 127.5).astype(np.uint8)
    expected = _brute_ssim(u1.astype(float), u2.astype(float), 255., 7)
    assert ssim(u1, u2) == pytest.approx(expected, rel=1e-9)
    # grayscale
    assert ssim(a[..., 0], b[..., 0]) == pytest.approx(
        _brute_ssim(a[..., :1], b[..., :1], 2., 7), rel=1e-9)


def test_ssim_against_skimage_if_available():
    metrics = pytest.importorskip('skimage.metrics')
    a, b = _rand_pair((20, 18, 3), seed=2)
    ref = metrics.structural_similarity(a, b, channel_axis=2, data_range=2.)
    assert ssim(a, b) == pytest.approx(ref, rel=1e-6)
    ref = metrics.structural_similarity(
        a, b, channel_axis=2, data_range=2., gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False)
    assert ssim(a, b, gaussian_weights=True, use_sample_covariance=False
                ) == pytest.approx(ref, rel=1e-6)


def test_ssim_errors():
    a, b = _rand_pair()
    with pytest.raises(ValueError, match='Images differ in shape'):
        ssim(a, b[:-1])
    with pytest.raises(ValueError, match='smaller than the 7 x 7 SSIM'):
        ssim(a[:5, :5], b[:5, :5])  # smaller than the window
    with pytest.raises(ValueError,
                       match='multichannel=False needs single-channel'):
        ssim(a, b, multichannel=False)


# ----------------------------------------------------------------- PSNR


def test_psnr_hand_values():
    a = np.zeros((4, 5, 3))
    b = np.full((4, 5, 3), 0.5)
    # [-1, 1] floats: data range 2, MSE 0.25
    assert psnr(a, b) == pytest.approx(10 * math.log10(4 / 0.25))
    ta, tb = torch.zeros(3, 4, 5), torch.full((3, 4, 5), 0.5)
    assert psnr(ta, tb) == pytest.approx(10 * math.log10(16))
    u1 = np.zeros((4, 5, 3), np.uint8)
    u2 = np.full((4, 5, 3), 10, np.uint8)
    assert psnr(u1, u2) == pytest.approx(10 * math.log10(255**2 / 100))
    assert psnr(a, b, data_range=1.) == pytest.approx(10 * math.log10(4))
    assert psnr(a, a) == float('inf')
    # mixed errors: half the pixels off by 1
    c = a.copy()
    c[:2] = 1.
    assert psnr(a, c) == pytest.approx(10 * math.log10(4 / 0.5))


# ------------------------------------------------------------ masked L1


def test_masked_l1_hand_values():
    pred = torch.zeros(3, 2, 2)
    gt = torch.zeros(3, 2, 2)
    gt[:, 0, 0] = 1.0   # inside the mask
    gt[:, 1, 1] = 0.5   # outside the mask
    mask = torch.tensor([[[1., 1.], [0., 0.]]])
    # inside: pixels (0,0) err 1 and (0,1) err 0 over 3 channels -> 3 / 6
    assert float(masked_l1(pred, gt, mask)) == pytest.approx(0.5)
    # full image: (3 * 1 + 3 * 0.5) / 12
    assert float(masked_l1(pred, gt)) == pytest.approx(4.5 / 12)
    # batched, one empty mask -> NaN
    out = masked_l1(torch.stack([pred, pred]), torch.stack([gt, gt]),
                    torch.stack([mask, torch.zeros_like(mask)]))
    assert out.shape == (2, )
    assert float(out[0]) == pytest.approx(0.5) and math.isnan(float(out[1]))
    # numpy inputs
    assert float(masked_l1(pred.numpy(), gt.numpy(), mask.numpy())
                 ) == pytest.approx(0.5)


# ---------------------------------------------------------------- LPIPS


class _TinyLPIPS(nn.Module):
    """Two 'layers': the scaled image and its 2x2 average pooling."""

    def __init__(self):
        super().__init__()
        self.shift, self.scale = 0.1, 0.5
        self.lin_w = [torch.tensor([1., 2., 3.]), torch.tensor([.5, .25, 4.])]
        self.lins = nn.ModuleList()
        for w in self.lin_w:
            conv = nn.Conv2d(3, 1, 1, bias=False)
            conv.weight.data = w.view(1, 3, 1, 1).clone()
            self.lins.append(conv)
        self.requires_grad_(False)

    def features(self, x):
        x = (x - self.shift) / self.scale
        return [x, F.avg_pool2d(x, 2)]


def _numpy_lpips(net, a, b):
    """The LPIPS definition written out in numpy for one image pair."""
    total = 0.
    for fa, fb, w in zip(net.features(torch.from_numpy(a)[None]),
                         net.features(torch.from_numpy(b)[None]), net.lin_w):
        fa, fb = fa[0].double().numpy(), fb[0].double().numpy()
        na = fa / (np.sqrt((fa**2).sum(0, keepdims=True)) + 1e-10)
        nb = fb / (np.sqrt((fb**2).sum(0, keepdims=True)) + 1e-10)
        d = (na - nb)**2                               # (C, h, w)
        weighted = (w.double().numpy()[:, None, None] * d).sum(0)
        total += weighted.mean()
    return total


def test_lpips_definition_with_hand_built_net():
    rng = np.random.default_rng(3)
    a = rng.uniform(-1, 1, (3, 6, 8))
    b = rng.uniform(-1, 1, (3, 6, 8))
    net = _TinyLPIPS().double()
    got = lpips_distance(net, torch.from_numpy(a), torch.from_numpy(b))
    assert got.shape == (1, )
    assert float(got) == pytest.approx(_numpy_lpips(net, a, b), rel=1e-10)
    # batched = per image
    ta, tb = torch.from_numpy(np.stack([a, b])), torch.from_numpy(
        np.stack([b, b]))
    got = lpips_distance(net, ta, tb)
    assert float(got[0]) == pytest.approx(_numpy_lpips(net, a, b), rel=1e-10)
    assert float(got[1]) == pytest.approx(0., abs=1e-12)
    # normalize=True maps [0, 1] inputs to [-1, 1]
    got01 = lpips_distance(net, (ta + 1) / 2, (tb + 1) / 2, normalize=True)
    torch.testing.assert_close(got01, lpips_distance(net, ta, tb))


def test_lpips_identical_zero_and_symmetric_with_lpipsnet():
    from mmlwgan.evaluation.feature_nets import LPIPSNet
    torch.manual_seed(0)
    net = LPIPSNet('alex')
    a = torch.rand(2, 3, 64, 64) * 2 - 1
    b = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.all(lpips_distance(net, a, a).abs() < 1e-6)
        d_ab, d_ba = lpips_distance(net, a, b), lpips_distance(net, b, a)
    torch.testing.assert_close(d_ab, d_ba)
    assert torch.all(d_ab > 0)
    # without linear layers: the lpips=False baseline sums over channels
    net_sum = _TinyLPIPS().double()
    del net_sum.lins
    net_sum.lins = None
    x, y = a[:1].double(), b[:1].double()
    expected = sum(((f1 / (f1.norm(dim=1, keepdim=True) + 1e-10) -
                     f2 / (f2.norm(dim=1, keepdim=True) + 1e-10))**2
                    ).sum(1).mean()
                   for f1, f2 in zip(net_sum.features(x), net_sum.features(y)))
    assert float(lpips_distance(net_sum, x, y)) == pytest.approx(
        float(expected), rel=1e-10)


# ------------------------------------------------------- Inception score


def test_inception_score_uniform_is_one():
    probs = np.full((10, 7), 1 / 7)
    mean, std = inception_score(probs)
    assert mean == pytest.approx(1.0) and std == 0
    # any identical rows give 1
    row = np.array([0.7, 0.2, 0.1])
    assert inception_score(np.tile(row, (5, 1)))[0] == pytest.approx(1.0)


def test_inception_score_confident_even_classes():
    k = 4
    probs = np.tile(np.eye(k), (3, 1))     # 12 samples, 3 per class
    mean, std = inception_score(probs)
    assert mean == pytest.approx(k)
    mean, std = inception_score(torch.from_numpy(np.tile(np.eye(k), (2, 1))),
                                splits=2)
    assert mean == pytest.approx(k) and std == pytest.approx(0, abs=1e-12)
    # confident but all the same class -> 1
    assert inception_score(np.tile(np.eye(k)[:1], (6, 1)))[0] == \
        pytest.approx(1.0)
    with pytest.raises(ValueError, match='into 13 splits'):
        inception_score(probs, splits=13)


# ------------------------------------------------------ Fréchet distance


def test_frechet_identical_is_zero():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(5, 5))
    sigma = a @ a.T + np.eye(5)
    mu = rng.normal(size=5)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-8)


def test_frechet_shifted_identity_is_squared_norm():
    m = np.array([1., -2., 0.5, 3.])
    eye = np.eye(4)
    assert frechet_distance(np.zeros(4), eye, m, eye) == pytest.approx(
        float(m @ m))
    # diagonal covariances: sum(a + b - 2 sqrt(a b))
    a, b = np.array([1., 4., 9.]), np.array([4., 1., 1.])
    expected = float(np.sum(a + b - 2 * np.sqrt(a * b)))
    assert frechet_distance(np.zeros(3), np.diag(a), np.zeros(3),
                            np.diag(b)) == pytest.approx(expected)


def test_feature_stats():
    feats = np.array([[0., 1.], [2., 3.], [4., 8.]])
    mu, sigma = feature_stats(feats)
    np.testing.assert_allclose(mu, [2., 4.])
    np.testing.assert_allclose(sigma, np.cov(feats, rowvar=False))
    mu_t, sigma_t = feature_stats(torch.from_numpy(feats))
    np.testing.assert_allclose(sigma_t, sigma)
    with pytest.raises(ValueError, match='At least two samples'):
        feature_stats(feats[:1])

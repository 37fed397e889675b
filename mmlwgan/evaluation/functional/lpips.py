# Copyright (c) mmlwgan contributors. All rights reserved.
"""LPIPS, the learned perceptual image patch similarity (Zhang et al. 2018).

The definition of the ``lpips`` package (version 0.1, ``spatial=False``),
which the release used as a distance (lower is better):

.. math::

    d(x, y) = \\sum_l \\frac{1}{H_l W_l} \\sum_{h, w}
        w_l \\cdot (\\hat f^l_{hw}(x) - \\hat f^l_{hw}(y))^2

where :math:`f^l` are backbone activations of the scaled input
(``(x - shift) / scale``, done by the network), :math:`\\hat f` is
:math:`f` divided by its L2 norm over channels (plus 1e-10), and :math:`w_l`
is a 1 x 1 convolution with one output channel (the "linear" layer). Without
linear layers (the package's ``lpips=False`` baseline) the squared
differences are summed over channels.
"""
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor


def normalize_tensor(feat: Tensor, eps: float = 1e-10) -> Tensor:
    """Divide a feature map (N, C, H, W) by its L2 norm over channels."""
    norm = torch.sqrt(torch.sum(feat**2, dim=1, keepdim=True))
    return feat / (norm + eps)


def lpips_from_features(feats1: Sequence[Tensor],
                        feats2: Sequence[Tensor],
                        lins: Optional[Sequence[Callable]] = None) -> Tensor:
    """LPIPS from the backbone activations of two batches.

    Args:
        feats1, feats2 (Sequence[Tensor]): per layer (N, C_l, H_l, W_l).
        lins (Sequence[Callable], optional): per layer, a map (N, C_l, H, W)
            -> (N, 1, H, W); None sums over channels.

    Returns:
        Tensor: (N,) distances.
    """
    if len(feats1) != len(feats2):
        raise ValueError('Both images need the same number of layers.')
    if lins is not None and len(lins) != len(feats1):
        raise ValueError(f'{len(lins)} linear layers for {len(feats1)} '
                         'feature layers.')
    val = 0.
    for k, (f1, f2) in enumerate(zip(feats1, feats2)):
        diff = (normalize_tensor(f1) - normalize_tensor(f2))**2
        if lins is None:
            res = diff.sum(dim=1, keepdim=True)
        else:
            res = lins[k](diff)
        val = val + res.mean(dim=(2, 3))
    return val.reshape(-1)


def lpips_distance(net, img1: Tensor, img2: Tensor,
                   normalize: bool = False) -> Tensor:
    """LPIPS distance between two images or batches.

    Args:
        net: the LPIPS network, e.g.
            :class:`mmlwgan.evaluation.feature_nets.LPIPSNet`. It must have
            ``features(x) -> list of (N, C_l, H_l, W_l)`` (input scaling
            included) and ``lins``, a sequence of per-layer linear layers or
            None.
        img1, img2 (Tensor): (N, 3, H, W) or (3, H, W), float in [-1, 1]
            (in [0, 1] with ``normalize=True``).
        normalize (bool): Map inputs from [0, 1] to [-1, 1] first.

    Returns:
        Tensor: (N,) distances (0 for identical images; symmetric).
    """
    if img1.shape != img2.shape:
        raise ValueError(f'Images differ in shape: {tuple(img1.shape)} vs '
                         f'{tuple(img2.shape)}.')
    if img1.dim() == 3:
        img1, img2 = img1[None], img2[None]
    if normalize:
        img1, img2 = 2 * img1 - 1, 2 * img2 - 1
    n = img1.shape[0]
    # one pass through the backbone for both batches
    feats = net.features(torch.cat([img1, img2], dim=0))
    feats1 = [f[:n] for f in feats]
    feats2 = [f[n:] for f in feats]
    return lpips_from_features(feats1, feats2, getattr(net, 'lins', None))

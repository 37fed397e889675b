# Copyright (c) mmlwgan contributors. All rights reserved.
"""Fréchet distance between Gaussians fitted to features (FID, FReID)."""
import warnings
from typing import Tuple, Union

import numpy as np
import torch
from mmengine.logging import print_log
from scipy import linalg


def feature_stats(feats: Union[np.ndarray, torch.Tensor]
                  ) -> Tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``np.cov``, N - 1 normalised) of (N, D) features.

    Raises:
        ValueError: with fewer than two samples (no covariance).
    """
    if isinstance(feats, torch.Tensor):
        feats = feats.detach().cpu().numpy()
    feats = np.asarray(feats, dtype=np.float64)
    if feats.ndim != 2:
        raise ValueError(f'feats must be (N, D), got {feats.shape}.')
    if feats.shape[0] < 2:
        raise ValueError('At least two samples are needed for a covariance, '
                         f'got {feats.shape[0]}.')
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1: np.ndarray,
                     sigma1: np.ndarray,
                     mu2: np.ndarray,
                     sigma2: np.ndarray,
                     eps: float = 1e-6) -> float:
    """Fréchet distance of ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``|mu1 - mu2|^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``, with
    the usual numerical guards (pytorch-fid's, which the release copied):
    if the matrix square root is not finite, ``eps`` is added to the
    diagonals; a small imaginary part from round-off is dropped, a large one
    raises.

    Args:
        mu1, mu2 (np.ndarray): (D,) means.
        sigma1, sigma2 (np.ndarray): (D, D) covariances.
        eps (float): Diagonal offset for a singular product.

    Returns:
        float: the squared Fréchet distance (0 for identical Gaussians).
    """
    mu1 = np.atleast_1d(mu1).astype(np.float64)
    mu2 = np.atleast_1d(mu2).astype(np.float64)
    sigma1 = np.atleast_2d(sigma1).astype(np.float64)
    sigma2 = np.atleast_2d(sigma2).astype(np.float64)
    if mu1.shape != mu2.shape:
        raise ValueError(f'Means differ in shape: {mu1.shape} vs {mu2.shape}.')
    if sigma1.shape != sigma2.shape:
        raise ValueError('Covariances differ in shape: '
                         f'{sigma1.shape} vs {sigma2.shape}.')
    diff = mu1 - mu2
    with warnings.catch_warnings():
        # fewer samples than dimensions make the product singular; like
        # pytorch-fid's ``sqrtm(..., disp=False)`` do not warn, check below
        warnings.simplefilter('ignore', linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        print_log('frechet_distance: singular product; adding '
                  f'{eps} to the diagonal of the covariances.',
                  logger='current', level=30)
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            m = np.max(np.abs(covmean.imag))
            raise ValueError(f'frechet_distance: imaginary component {m}.')
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) -
                 2 * np.trace(covmean))

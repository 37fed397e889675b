# Copyright (c) mmlwgan contributors. All rights reserved.
"""Inception score (Salimans et al. 2016) from class probabilities."""
from typing import Tuple, Union

import numpy as np
import torch
from scipy.special import rel_entr


def inception_score(probs: Union[np.ndarray, torch.Tensor],
                    splits: int = 1) -> Tuple[float, float]:
    """Inception score ``exp(E_x KL(p(y|x) || p(y)))``.

    The samples are cut into ``splits`` consecutive parts of (almost) equal
    size; in each, ``p(y)`` is the mean of the rows and the score is computed;
    the mean and standard deviation over the parts are returned. The release
    (``his_evaluators``) computed one score over all cross-imitation samples,
    i.e. ``splits=1``. ``0 log 0`` is taken as 0.

    Args:
        probs (np.ndarray | torch.Tensor): (N, K) class probabilities (rows
            sum to 1), e.g. the softmax of Inception-v3's logits.
        splits (int): Number of parts. Defaults to 1.

    Returns:
        tuple(float, float): mean and standard deviation of the scores. The
        score is 1 when every sample predicts the same distribution and K
        when the samples are confident and spread evenly over the K classes.
    """
    if isinstance(probs, torch.Tensor):
        probs = probs.detach().cpu().numpy()
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise ValueError(f'probs must be (N, K), got {probs.shape}.')
    n = probs.shape[0]
    if splits < 1 or n < splits:
        raise ValueError(f'Cannot cut {n} samples into {splits} splits.')
    scores = []
    for i in range(splits):
        part = probs[i * n // splits:(i + 1) * n // splits]
        py = part.mean(axis=0, keepdims=True)
        kl = rel_entr(part, py).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return float(np.mean(scores)), float(np.std(scores))

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Pixel-wise metrics: PSNR and (masked) L1.

:func:`psnr` follows the image conventions of :mod:`.ssim` (numpy (H, W, C)
uint8 / float in [-1, 1], or torch (C, H, W) in [-1, 1]). :func:`masked_l1`
works on torch tensors (numpy arrays are converted).
"""
import math
from typing import Optional, Union

import numpy as np
import torch

from .ssim import ImageLike, image_pair


def psnr(img1: ImageLike, img2: ImageLike,
         data_range: Optional[float] = None) -> float:
    """Peak signal-to-noise ratio, ``10 log10(data_range^2 / MSE)``.

    The MSE is taken over all pixels and channels.

    Args:
        img1, img2 (np.ndarray | torch.Tensor): the images, same shape.
        data_range (float, optional): ``max - min`` of the value range.
            Defaults to 255 for ``uint8`` inputs and 2 for floats in [-1, 1]
            (the same value as 255 on the uint8 scale).

    Returns:
        float: PSNR in dB; ``inf`` for identical images.
    """
    x, y, data_range = image_pair(img1, img2, data_range)
    mse = float(np.mean((x - y)**2))
    if mse == 0:
        return float('inf')
    return 10. * math.log10(float(data_range)**2 / mse)


def masked_l1(pred: Union[torch.Tensor, np.ndarray],
              gt: Union[torch.Tensor, np.ndarray],
              mask: Optional[Union[torch.Tensor, np.ndarray]] = None
              ) -> torch.Tensor:
    """Mean absolute error inside a mask, per image.

    ``sum(|pred - gt| * mask) / (C * sum(mask))`` over the channels and
    pixels of each image: the mean L1 over the masked pixels, on the value
    scale of the inputs (the model's [-1, 1] in mmlwgan's metrics). Without a
    mask it is the plain mean L1 of each image.

    Args:
        pred, gt (torch.Tensor | np.ndarray): (..., C, H, W).
        mask (torch.Tensor | np.ndarray, optional): (..., 1, H, W) or
            (..., C, H, W), weights in [0, 1] (usually {0, 1}).

    Returns:
        torch.Tensor: shape ``pred.shape[:-3]`` (a 0-d tensor for one
        image), float64; NaN for an image whose mask is empty.
    """
    pred = torch.as_tensor(pred).double()
    gt = torch.as_tensor(gt, device=pred.device).double()
    if pred.shape != gt.shape or pred.dim() < 3:
        raise ValueError('pred and gt must be (..., C, H, W) of one shape, '
                         f'got {tuple(pred.shape)} and {tuple(gt.shape)}.')
    err = (pred - gt).abs()
    if mask is None:
        return err.mean(dim=(-3, -2, -1))
    mask = torch.as_tensor(mask, device=pred.device).double()
    mask = mask.expand_as(err)
    total = (err * mask).sum(dim=(-3, -2, -1))
    weight = mask.sum(dim=(-3, -2, -1))
    return torch.where(weight > 0, total / weight.clamp_min(1e-12),
                       torch.full_like(total, float('nan')))

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Mask, smoothness and pixel losses of the Liquid Warping GAN.

As in the release (``models/impersonator_trainer.py``):

* attention mask: ``nn.BCELoss()`` (``--mask_bce``) or ``nn.MSELoss()``
  between the predicted masks (background weight, sigmoid output) of the
  source and target streams, concatenated along the batch, and the rendered
  background masks eroded with a 3x3 box (``morph(cond[:, -1:], ks=3,
  mode='erode')``); weight ``lambda_mask`` (1 in the ICCV release, 5 in
  iPERCore);
* mask smoothness: ``mean|M[..., :, 1:] - M[..., :, :-1]| +
  mean|M[..., 1:, :] - M[..., :-1, :]|`` -- an anisotropic L1 total variation
  with each direction averaged separately (``_compute_loss_smooth``); weight
  ``lambda_mask_smooth = 1``;
* source reconstruction: ``nn.L1Loss()`` (element mean) on the composited
  source image; weight ``lambda_rec = 10``.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmlwgan.registry import MODELS

__all__ = ['MaskLoss', 'TVLoss', 'L1Loss', 'masked_l1', 'total_variation']


def total_variation(x: Tensor) -> Tensor:
    """The release's mask smoothness: mean absolute horizontal difference
    plus mean absolute vertical difference of ``x`` (B, C, H, W)."""
    if x.dim() != 4:
        raise ValueError(f'expected (B, C, H, W), got {tuple(x.shape)}')
    dx = (x[..., :, 1:] - x[..., :, :-1]).abs().mean()
    dy = (x[..., 1:, :] - x[..., :-1, :]).abs().mean()
    return dx + dy


def masked_l1(pred: Tensor,
              target: Tensor,
              mask: Optional[Tensor] = None,
              eps: float = 1e-8) -> Tensor:
    """Mean absolute error, optionally over the pixels where ``mask`` > 0.

    ``mask`` (B, 1|C, H, W) weighs each pixel; the result is
    ``sum(|pred - target| * mask) / (sum(mask broadcast to pred) + eps)``,
    the mean of the error over the masked elements (mmagic's convention).
    Without a mask: ``mean|pred - target|`` (``nn.L1Loss()``).
    """
    if pred.shape != target.shape:
        raise ValueError(f'pred {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} differ in shape')
    diff = (pred.float() - target.float()).abs()
    if mask is None:
        return diff.mean()
    mask = mask.float().expand_as(diff)
    return (diff * mask).sum() / (mask.sum() + eps)


@MODELS.register_module()
class MaskLoss(nn.Module):
    """Attention-mask loss against the eroded rendered background mask.

    Args:
        loss_type (str): ``'bce'`` (binary cross entropy on probabilities,
            ``nn.BCELoss``) or ``'mse'``. Defaults to ``'bce'``.
        loss_weight (float): Multiplier. Defaults to 1.0.
        erode_kernel (int, optional): If set, the target is eroded with a
            box of this odd size inside the loss (use it when the target is
            the raw rendered background mask; the release erodes with 3).
            Defaults to None: the target is used as given.
        loss_name (str): Defaults to ``'loss_mask'``.

    Shapes:
        forward(pred (B, 1, H, W) in [0, 1], target (B, 1, H, W) in [0, 1])
        -> scalar tensor. Both players' masks may be concatenated along the
        batch, as in the release.
    """

    def __init__(self,
                 loss_type: str = 'bce',
                 loss_weight: float = 1.0,
                 erode_kernel: Optional[int] = None,
                 loss_name: str = 'loss_mask') -> None:
        super().__init__()
        if loss_type not in ('bce', 'mse'):
            raise ValueError(f"loss_type must be 'bce' or 'mse', got "
                             f'{loss_type!r}')
        self.loss_type = loss_type
        self.loss_weight = float(loss_weight)
        self.erode_kernel = erode_kernel
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'pred {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} differ in shape')
        target = target.detach()
        if self.erode_kernel is not None:
            from mmlwgan.models.flows.masks import erode
            target = erode(target, self.erode_kernel)
        # BCE is not autocast-safe: compute it in float32
        with torch.autocast(device_type=pred.device.type, enabled=False):
            p, t = pred.float(), target.float()
            if self.loss_type == 'bce':
                loss = F.binary_cross_entropy(p, t)
            else:
                loss = F.mse_loss(p, t)
        return loss * self.loss_weight


@MODELS.register_module()
class TVLoss(nn.Module):
    """Total variation of a mask, as released (see
    :func:`total_variation`: L1, each direction averaged separately).

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0.
        loss_name (str): Defaults to ``'loss_mask_smooth'``.

    Shapes:
        forward(x (B, C, H, W)) -> scalar tensor.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_mask_smooth') -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self, x: Tensor) -> Tensor:
        return total_variation(x.float()) * self.loss_weight


@MODELS.register_module()
class L1Loss(nn.Module):
    """L1 loss with an optional mask (see :func:`masked_l1`).

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0 (the release's
            ``lambda_rec`` is 10).
        loss_name (str): Defaults to ``'loss_l1'``.

    Shapes:
        forward(pred (B, C, H, W), target (B, C, H, W),
        mask (B, 1|C, H, W) = None) -> scalar tensor.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_l1') -> None:
        super().__init__()
        self.loss_weight = float(loss_weight)
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def forward(self,
                pred: Tensor,
                target: Tensor,
                mask: Optional[Tensor] = None) -> Tensor:
        return masked_l1(pred, target, mask) * self.loss_weight

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Adversarial losses.

The release (``models/impersonator_trainer.py``) trains its PatchGAN with a
least-squares loss whose targets are **not** the usual 1 / 0:

* discriminator: ``mean((D(real) - 1)^2) + mean((D(fake) + 1)^2)``, each term
  times ``lambda_D_prob = 1`` (real target +1, fake target -1);
* generator: ``mean((D(fake) - 0)^2) * lambda_D_prob`` (target 0, the
  midpoint).

:class:`LSGANLoss` gives exactly these numbers with its defaults.
:class:`GANLoss` is the generic loss in mmagic's style
(``forward(pred, target_is_real, is_disc)``), with ``gen_label`` added so
that the release's LSGAN is also ``GANLoss('lsgan', 1, -1, gen_label=0)``.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmlwgan.registry import MODELS

__all__ = ['GANLoss', 'LSGANLoss']

Pred = Union[Tensor, Sequence[Tensor]]


@MODELS.register_module()
class GANLoss(nn.Module):
    """GAN loss (mmagic's ``GANLoss`` interface).

    Args:
        gan_type (str): ``'lsgan'`` (MSE to a label), ``'vanilla'`` (binary
            cross entropy on logits), ``'hinge'`` or ``'wgan'``.
        real_label (float): Target of real samples. Defaults to 1.0.
        fake_label (float): Target of fake samples. Defaults to 0.0.
        loss_weight (float): Multiplier. Defaults to 1.0.
        gen_label (float, optional): 'lsgan' / 'vanilla' only: the target of
            the generator's loss (``is_disc=False``), whatever
            ``target_is_real`` says. None (default): the generator uses
            ``real_label`` when ``target_is_real`` (the usual non-saturating
            form). The release uses 0 (with labels +1 / -1).
        weight_disc (bool): Also multiply the discriminator's loss by
            ``loss_weight``. Defaults to False (mmagic: the weight is for the
            generator only).
        loss_name (str): Defaults to ``'loss_gan'``.

    Shapes:
        ``forward(pred, target_is_real, is_disc=False)``: ``pred`` is the
        discriminator output (any shape), or a list of outputs (multi-scale),
        whose losses are summed. Returns a scalar tensor.
    """

    def __init__(self,
                 gan_type: str = 'lsgan',
                 real_label: float = 1.0,
                 fake_label: float = 0.0,
                 loss_weight: float = 1.0,
                 gen_label: Optional[float] = None,
                 weight_disc: bool = False,
                 loss_name: str = 'loss_gan') -> None:
        super().__init__()
        if gan_type not in ('lsgan', 'vanilla', 'hinge', 'wgan'):
            raise NotImplementedError(
                f'GAN type {gan_type!r} is not implemented; choose lsgan, '
                'vanilla, hinge or wgan')
        if gen_label is not None and gan_type not in ('lsgan', 'vanilla'):
            raise ValueError(f'gen_label needs a label-based gan_type, got '
                             f'{gan_type!r}')
        self.gan_type = gan_type
        self.real_label = float(real_label)
        self.fake_label = float(fake_label)
        self.gen_label = None if gen_label is None else float(gen_label)
        self.loss_weight = float(loss_weight)
        self.weight_disc = weight_disc
        self._loss_name = loss_name

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def get_target_label(self, pred: Tensor, target_is_real: bool,
                         is_disc: bool = True) -> Tensor:
        """Target tensor (like ``pred``) of the label-based losses."""
        if not is_disc and self.gen_label is not None:
            value = self.gen_label
        else:
            value = self.real_label if target_is_real else self.fake_label
        return torch.full_like(pred, value)

    def _single(self, pred: Tensor, target_is_real: bool,
                is_disc: bool) -> Tensor:
        pred = pred.float()
        if self.gan_type == 'lsgan':
            return F.mse_loss(pred,
                              self.get_target_label(pred, target_is_real,
                                                    is_disc))
        if self.gan_type == 'vanilla':
            return F.binary_cross_entropy_with_logits(
                pred, self.get_target_label(pred, target_is_real, is_disc))
        if self.gan_type == 'hinge':
            if is_disc:
                sign = -1.0 if target_is_real else 1.0
                return F.relu(1.0 + sign * pred).mean()
            return -pred.mean()
        # wgan
        return -pred.mean() if target_is_real else pred.mean()

    def forward(self,
                pred: Pred,
                target_is_real: bool,
                is_disc: bool = False) -> Tensor:
        """Loss of ``pred`` for the given target.

        Args:
            pred (Tensor | list[Tensor]): Discriminator output(s).
            target_is_real (bool): Whether the target is the real label.
            is_disc (bool): Whether the loss is for the discriminator.

        Returns:
            Tensor: Scalar loss.
        """
        preds = [pred] if isinstance(pred, Tensor) else list(pred)
        loss = sum(self._single(p, target_is_real, is_disc) for p in preds)
        if is_disc and not self.weight_disc:
            return loss
        return loss * self.loss_weight


@MODELS.register_module()
class LSGANLoss(GANLoss):
    """The release's least-squares GAN loss.

    Discriminator: ``loss_weight * mse(D(real), real_label)`` and
    ``loss_weight * mse(D(fake), fake_label)`` (call it twice and add);
    generator: ``loss_weight * mse(D(fake), gen_label)``.

    Args:
        real_label (float): Defaults to 1.0 (release).
        fake_label (float): Defaults to -1.0 (release).
        gen_label (float): Defaults to 0.0 (release).
        loss_weight (float): ``lambda_D_prob``, applied to both players as in
            the release. Defaults to 1.0.
        loss_name (str): Defaults to ``'loss_gan'``.

    Example:
        >>> gan = LSGANLoss()
        >>> d_loss = gan(d_real, True, is_disc=True) + gan(d_fake, False,
        ...                                               is_disc=True)
        >>> g_loss = gan(d_fake_for_g, True, is_disc=False)
    """

    def __init__(self,
                 real_label: float = 1.0,
                 fake_label: float = -1.0,
                 gen_label: float = 0.0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_gan') -> None:
        super().__init__(
            gan_type='lsgan',
            real_label=real_label,
            fake_label=fake_label,
            loss_weight=loss_weight,
            gen_label=gen_label,
            weight_disc=True,
            loss_name=loss_name)

# Copyright (c) mmlwgan contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine import Config

from mmlwgan.models.losses import L1Loss, MaskLoss, TVLoss
from mmlwgan.registry import MODELS


def test_tv_constant_and_step():
    tv = TVLoss()
    assert tv(torch.full((2, 1, 5, 6), 0.7)).item() == 0.0
    step = torch.zeros(1, 1, 4, 4)
    step[..., 2:] = 1.0  # a vertical edge: one column of |dx| = 1
    # mean|dx| over 4 x 3 = 4 / 12, mean|dy| = 0
    assert tv(step).item() == pytest.approx(1 / 3)
    assert tv(step.transpose(-1, -2)).item() == pytest.approx(1 / 3)
    assert TVLoss(loss_weight=2.0)(step).item() == pytest.approx(2 / 3)


def test_masked_l1_hand_value():
    pred = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)
    target = torch.zeros(1, 1, 2, 2)
    assert L1Loss()(pred, target).item() == pytest.approx(2.5)
    mask = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).view(1, 1, 2, 2)
    assert L1Loss()(pred, target, mask).item() == pytest.approx(2.5)
    mask = torch.tensor([[1.0, 1.0], [0.0, 0.0]]).view(1, 1, 2, 2)
    assert L1Loss(loss_weight=10.0)(pred, target, mask).item() == \
        pytest.approx(15.0)
    # a one-channel mask broadcasts over colour channels
    pred3 = pred.expand(1, 3, 2, 2)
    assert L1Loss()(pred3, target.expand(1, 3, 2, 2), mask).item() == \
        pytest.approx(1.5)


def test_mask_loss_hand_values():
    """The predicted mask is the background weight and the target the
    background: a confident, right prediction costs little, the same
    prediction against the inverted target a lot."""
    pred = torch.tensor([0.9, 0.2, 0.7, 0.4]).view(1, 1, 2, 2)
    target = torch.tensor([1.0, 0.0, 1.0, 0.0]).view(1, 1, 2, 2)
    bce = -(math.log(0.9) + math.log(0.8) + math.log(0.7) +
            math.log(0.6)) / 4  # 0.2990
    assert MaskLoss('bce')(pred, target).item() == pytest.approx(bce)
    inverted = -(math.log(0.1) + math.log(0.2) + math.log(0.3) +
                 math.log(0.4)) / 4  # 1.4708
    assert MaskLoss('bce')(pred, 1 - target).item() == pytest.approx(
        inverted)
    mse = (0.1**2 + 0.2**2 + 0.3**2 + 0.4**2) / 4  # 0.075
    assert MaskLoss('mse', loss_weight=5.0)(pred, target).item() == \
        pytest.approx(5 * mse)


def test_tv_hand_value():
    x = torch.tensor([[0.0, 0.5, 1.0], [0.0, 0.0, 0.25]]).view(1, 1, 2, 3)
    # |dx|: 0.5, 0.5, 0, 0.25 -> mean 0.3125; |dy|: 0, 0.5, 0.75 -> 5 / 12
    assert TVLoss()(x).item() == pytest.approx(0.3125 + 5 / 12)


def test_mask_loss_matches_torch():
    torch.manual_seed(0)
    pred = torch.rand(2, 1, 8, 8).clamp(0.01, 0.99)
    target = (torch.rand(2, 1, 8, 8) > 0.5).float()
    bce = MaskLoss('bce')(pred, target)
    assert bce.item() == pytest.approx(
        F.binary_cross_entropy(pred, target).item())
    assert bce.item() == pytest.approx(
        torch.nn.BCELoss()(pred, target).item())
    assert MaskLoss('mse', loss_weight=5.0)(pred, target).item() == \
        pytest.approx(5 * F.mse_loss(pred, target).item())
    # optional erosion of the target inside the loss
    bg = torch.ones(1, 1, 9, 9)
    bg[..., 3:6, 3:6] = 0.0  # body in the middle
    eroded = torch.ones(1, 1, 9, 9)
    eroded[..., 2:7, 2:7] = 0.0
    p = torch.full((1, 1, 9, 9), 0.3)
    assert MaskLoss('mse', erode_kernel=3)(p, bg).item() == pytest.approx(
        F.mse_loss(p, eroded).item())


def test_config_weights():
    cfg = Config.fromfile('configs/_base_/models/lwgan_losses.py')
    rec = MODELS.build(cfg.rec_loss)
    mask = MODELS.build(cfg.mask_loss)
    tv = MODELS.build(cfg.tv_loss)
    assert (rec.loss_weight, mask.loss_weight, tv.loss_weight) == (10, 1, 1)
    assert cfg.tsf_loss.loss_weight == 10 and cfg.face_loss.loss_weight == 5
    assert cfg.gan_loss.loss_weight == 1
    for c in (cfg.rec_loss, cfg.tsf_loss, cfg.face_loss, cfg.mask_loss,
              cfg.tv_loss, cfg.gan_loss):
        assert 'loss' in c.loss_name
    assert mask.loss_type == 'bce' and rec.loss_name == 'loss_rec'

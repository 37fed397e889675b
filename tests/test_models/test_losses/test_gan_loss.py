# Copyright (c) mmlwgan contributors. All rights reserved.
import pytest
import torch
from mmengine import Config

from mmlwgan.models.losses import GANLoss, LSGANLoss
from mmlwgan.registry import MODELS

PRED = torch.tensor([0.5, -0.5, 2.0]).view(1, 1, 1, 3)


def test_lsgan_release_values():
    gan = LSGANLoss()
    # D: real target +1, fake target -1; G: target 0
    d_real = ((0.5 - 1)**2 + (-0.5 - 1)**2 + (2 - 1)**2) / 3
    d_fake = ((0.5 + 1)**2 + (-0.5 + 1)**2 + (2 + 1)**2) / 3
    g = (0.5**2 + 0.5**2 + 2.0**2) / 3
    assert gan(PRED, True, is_disc=True).item() == pytest.approx(d_real)
    assert gan(PRED, False, is_disc=True).item() == pytest.approx(d_fake)
    assert gan(PRED, True, is_disc=False).item() == pytest.approx(g)
    assert gan(PRED, False, is_disc=False).item() == pytest.approx(g)
    gan2 = LSGANLoss(loss_weight=2.0)  # lambda_D_prob on both players
    assert gan2(PRED, True, is_disc=True).item() == pytest.approx(2 * d_real)
    assert gan2(PRED, True).item() == pytest.approx(2 * g)


def test_config_defaults_give_release_numbers():
    cfg = Config.fromfile('configs/_base_/models/lwgan_losses.py')
    gan = MODELS.build(cfg.gan_loss)
    assert gan.loss_name == 'loss_gan'
    assert gan(PRED, True, is_disc=True).item() == pytest.approx(3.5 / 3)
    assert gan(PRED, False, is_disc=True).item() == pytest.approx(11.5 / 3)
    assert gan(PRED, True, is_disc=False).item() == pytest.approx(1.5)
    generic = GANLoss('lsgan', 1.0, -1.0, gen_label=0.0, weight_disc=True)
    for real in (True, False):
        for disc in (True, False):
            assert generic(PRED, real, disc).item() == pytest.approx(
                gan(PRED, real, disc).item())


def test_generic_gan_types():
    p = PRED
    # lsgan, mmagic defaults (1 / 0); weight applies to the generator only
    g = GANLoss('lsgan', loss_weight=3.0)
    assert g(p, False, True).item() == pytest.approx((0.25 + 0.25 + 4) / 3)
    assert g(p, True, False).item() == pytest.approx(
        3 * (0.25 + 2.25 + 1) / 3)
    # vanilla == BCE with logits
    v = GANLoss('vanilla')
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    assert v(p, True, True).item() == pytest.approx(
        bce(p, torch.ones_like(p)).item())
    assert v(p, False, True).item() == pytest.approx(
        bce(p, torch.zeros_like(p)).item())
    # hinge
    h = GANLoss('hinge')
    assert h(p, True, True).item() == pytest.approx((0.5 + 1.5 + 0) / 3)
    assert h(p, False, True).item() == pytest.approx((1.5 + 0.5 + 3) / 3)
    assert h(p, True, False).item() == pytest.approx(-2.0 / 3)
    # list of outputs: summed
    assert v([p, p], True, True).item() == pytest.approx(
        2 * v(p, True, True).item())
    with pytest.raises(NotImplementedError, match="GAN type 'nope'"):
        GANLoss('nope')


def test_gradient_reaches_pred():
    pred = PRED.clone().requires_grad_()
    LSGANLoss()(pred, True, is_disc=False).backward()
    assert torch.allclose(pred.grad, 2 * PRED / 3)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""``LiquidWarpingGAN(bg_fill_hole_only=True)``: the background keeps the
source's known pixels, G_BG only fills the hole (training and inference);
off, nothing changes."""
import copy

import pytest
import torch

from mmlwgan.registry import MODELS
from mmlwgan.synthetic.batch import make_synthetic_batch
from mmlwgan.utils import register_all_modules
from mmlwgan.visualization import BodyRenderer

from test_liquid_warping_gan import SIZE, tiny_model_cfg


def model_cfg(smpl_path, **kwargs):
    """The editors' tiny model with a second L1 as perceptual loss and a
    5 px background erosion (a visible hole at 32 px)."""
    cfg = dict(perceptual_loss=dict(type='L1Loss', loss_weight=10.0,
                                    loss_name='loss_tsf'),
               bg_kernel=5)
    cfg.update(kwargs)
    return tiny_model_cfg(smpl_path, **cfg)


def build(smpl_path, seed=0, **kwargs):
    register_all_modules(init_default_scope=False)
    torch.manual_seed(seed)
    return MODELS.build(model_cfg(smpl_path, **kwargs))


@pytest.fixture(scope='module')
def batch(synthetic_smpl_npz):
    register_all_modules(init_default_scope=False)
    renderer = BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                            image_size=SIZE)
    return make_synthetic_batch(renderer, batch_size=2, num_sources=1,
                                seed=0)


def run(model, batch):
    data = model.data_preprocessor(copy.deepcopy(batch), False)['inputs']
    with torch.no_grad():
        out, geo = model.run_generator(data['src_img'], data['src_smpl'],
                                       data['tgt_smpl'])
        raw_bg = model.generator.bg_net(geo['bg_inputs'])
    return data, out, geo, raw_bg


def test_background_keeps_the_known_pixels(synthetic_smpl_npz, batch):
    model = build(synthetic_smpl_npz, bg_fill_hole_only=True).eval()
    data, out, geo, raw_bg = run(model, batch)
    src0 = data['src_img'][:, 0]
    keep = geo['bg_input_mask'][:, 0]
    assert set(keep.unique().tolist()) == {0.0, 1.0}
    assert (keep == 0).any() and (keep == 1).any()
    known = (keep == 1).expand_as(src0)
    # the source where known, G_BG's output in the hole, exactly
    assert torch.equal(out['bg'][known], src0[known])
    assert torch.equal(out['bg'][~known], raw_bg[~known])
    # both images are composited over that background
    m = out['tsf_mask']
    torch.testing.assert_close(out['tsf_img'],
                               m * out['bg'] + (1 - m) * out['tsf_color'])
    m = out['src_mask']
    torch.testing.assert_close(
        out['src_img'], m * out['bg'][:, None] + (1 - m) * out['src_color'])
    # test_step (what evaluation runs) predicts the same image
    samples = model.test_step(copy.deepcopy(batch))
    torch.testing.assert_close(torch.stack([s.pred_img for s in samples]),
                               out['tsf_img'])


def test_keep_known_background_by_hand(synthetic_smpl_npz):
    """A soft mask blends: bg = k * src + (1 - k) * G_BG, hand-computed."""
    model = build(synthetic_smpl_npz, bg_fill_hole_only=True)
    src0 = torch.tensor([[[[0.5, -0.5], [1.0, 0.0]]]]).expand(1, 3, 2, 2)
    g_bg = torch.tensor([[[[-1.0, 0.25], [0.0, 0.5]]]]).expand(1, 3, 2, 2)
    keep = torch.tensor([[[[1.0, 0.0], [0.25, 0.0]]]])
    color = torch.zeros(1, 3, 2, 2)
    mask = torch.tensor([[[[1.0, 1.0], [0.5, 0.0]]]])
    out = model.keep_known_background(
        dict(bg=g_bg, tsf_color=color, tsf_mask=mask),
        dict(bg_input_mask=keep[:, None]), src0)
    want_bg = torch.tensor([[[[0.5, 0.25], [0.25, 0.5]]]]).expand(1, 3, 2, 2)
    torch.testing.assert_close(out['bg'], want_bg)
    want_img = torch.tensor([[[[0.5, 0.25], [0.125, 0.0]]]]).expand(
        1, 3, 2, 2)
    torch.testing.assert_close(out['tsf_img'], want_img)


def test_off_by_default_and_unchanged(synthetic_smpl_npz, batch):
    default = build(synthetic_smpl_npz).eval()
    assert default.bg_fill_hole_only is False
    off = build(synthetic_smpl_npz, bg_fill_hole_only=False).eval()
    on = build(synthetic_smpl_npz, bg_fill_hole_only=True).eval()
    _, a, _, raw_bg = run(default, batch)
    _, b, _, _ = run(off, batch)
    _, c, _, _ = run(on, batch)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    # off: the background is G_BG's whole output (the release)
    assert torch.equal(a['bg'], raw_bg)
    # same weights, on: only the background (and so the images) change
    for k in ('tsf_color', 'tsf_mask', 'src_color', 'src_mask'):
        assert torch.equal(a[k], c[k]), k
    assert not torch.equal(a['tsf_img'], c['tsf_img'])


def test_encode_sources_generated_keeps_known_pixels(synthetic_smpl_npz,
                                                     batch):
    model = build(synthetic_smpl_npz, bg_fill_hole_only=True).eval()
    data = model.data_preprocessor(copy.deepcopy(batch), False)['inputs']
    src, smpl = data['src_img'][0], data['src_smpl'][0]
    gen = model.encode_sources(src, smpl, background='generated')
    orig = model.encode_sources(src, smpl, background='original')
    assert torch.equal(gen['bg'], orig['bg'])
    keep = gen['geo']['bg_input_mask'][:, 0] == 1
    assert torch.equal(gen['bg'][keep.expand_as(gen['bg'])],
                       src[:1][keep.expand(1, 3, -1, -1)])
    plain = build(synthetic_smpl_npz).eval()
    p = plain.encode_sources(src, smpl, background='generated')
    assert not torch.equal(p['bg'], orig['bg'])


def test_g_bg_learns_only_from_the_hole(synthetic_smpl_npz, batch):
    model = build(synthetic_smpl_npz, bg_fill_hole_only=True)
    data = model.data_preprocessor(copy.deepcopy(batch), True)['inputs']
    out, geo = model.run_generator(data['src_img'], data['src_smpl'],
                                   data['tgt_smpl'])
    keep = geo['bg_input_mask'][:, 0]
    g = torch.autograd.grad(out['bg'].sum(), out['bg'],
                            retain_graph=True)[0]
    assert g.shape == out['bg'].shape
    losses = model.generator_losses(out, geo, data['src_img'],
                                    data['tgt_img'])
    total = sum(losses.values())
    total.backward()
    grads = [p.grad for p in model.generator.bg_net.parameters()
             if p.grad is not None]
    assert grads and any(x.abs().sum() > 0 for x in grads)
    # a G_BG output change inside the known region changes nothing
    bg_raw = model.generator.bg_net(geo['bg_inputs']).detach()
    poked = bg_raw + 0.3 * keep
    again = model.keep_known_background(
        dict(out, bg=poked), geo, data['src_img'][:, 0])
    ref = model.keep_known_background(
        dict(out, bg=bg_raw), geo, data['src_img'][:, 0])
    torch.testing.assert_close(again['tsf_img'], ref['tsf_img'])

# Copyright (c) mmlwgan contributors. All rights reserved.
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from mmlwgan.models.flows import convert_grid_align_corners
from mmlwgan.models.generators import (AttentionalLWB, ConcatGenerator,
                                       FeatureWarpingGenerator, LWBGenerator,
                                       ResNetGenerator, ResUnetGenerator,
                                       TextureWarpingGenerator)
from mmlwgan.registry import MODELS

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
CFG_DIR = osp.join(ROOT, 'configs', '_base_', 'models')
H = W = 32


def tiny(in_channels=6, base_channels=8):
    return dict(type='ResUnetGenerator', in_channels=in_channels,
                base_channels=base_channels)


def tiny_bg():
    return dict(type='ResNetGenerator', in_channels=4, base_channels=8)


def tiny_lwb(**kwargs):
    return LWBGenerator(bg_net=tiny_bg(), src_net=tiny(), tsf_net=tiny(),
                        **kwargs)


def rand_inputs(B=2, S=2):
    torch.manual_seed(1)
    return (torch.rand(B, 4, H, W) * 2 - 1, torch.rand(B, S, 6, H, W) * 2 - 1,
            torch.rand(B, 6, H, W) * 2 - 1,
            torch.rand(B, S, H, W, 2) * 2.4 - 1.2)


class Ones(nn.Module):

    def forward(self, x):
        return torch.ones_like(x[:, :1])


def count(module):
    return sum(p.numel() for p in module.parameters())


def test_resnet_generator():
    net = ResNetGenerator(in_channels=4, base_channels=8)
    x = torch.rand(2, 4, H, W) * 2 - 1
    y = net(x)
    assert y.shape == (2, 3, H, W)
    assert y.abs().max() <= 1
    keys = list(net.state_dict())
    assert keys[0] == 'model.0.weight' and keys[-1] == 'model.27.weight'
    assert 'model.12.main.3.weight' in keys and 'model.18.weight' in keys
    assert isinstance(net.model[18], nn.ConvTranspose2d)
    assert net.model[18].output_padding == (1, 1)
    assert all(m.bias is None for m in net.modules()
               if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    assert all(m.affine for m in net.modules()
               if isinstance(m, nn.InstanceNorm2d))
    # release init: N(0, 0.02) convs, IN weight 1 bias 0
    w = ResNetGenerator(base_channels=16).model[6].weight
    assert abs(w.std().item() - 0.02) < 0.002
    assert torch.equal(net.model[1].weight, torch.ones(8))


def test_resunet_generator_fusion_points():
    net = ResUnetGenerator(in_channels=6, base_channels=8)
    assert net.num_fusion_points == 9
    assert net.fusion_channels == [16, 32, 64] + [64] * 6
    x = torch.rand(2, 6, H, W)
    seen = []

    def record(i, feat):
        seen.append((i, feat.shape[1], feat.shape[-1]))
        return feat

    color, mask = net(x)
    color2, mask2, feats = net(x, record, return_features=True)
    assert color.shape == (2, 3, H, W) and mask.shape == (2, 1, H, W)
    assert color.abs().max() <= 1 and mask.min() >= 0 and mask.max() <= 1
    assert torch.equal(color, color2) and torch.equal(mask, mask2)
    # 9 points in order, the stem (full resolution) never
    assert seen == [(0, 16, 16), (1, 32, 8), (2, 64, 4)] + [
        (i, 64, 4) for i in range(3, 9)
    ]
    assert len(feats) == 9
    assert 'attention_reg.0.weight' in net.state_dict()


def test_resunet_skips_carry_fused_features():
    net = ResUnetGenerator(in_channels=6, base_channels=8)
    x = torch.rand(1, 6, H, W)
    captured = {}
    # skippers.1 gets cat([encoder stage 1 output, decoder output])
    hook = net.skippers[1].register_forward_hook(
        lambda m, inp, out: captured.update(x=inp[0]))

    def fuse(i, feat):
        return feat + 100.0 if i == 0 else feat

    enc = net.encode_stages(x, fuse)
    net(x, fuse)
    hook.remove()
    torch.testing.assert_close(captured['x'][:, :16], enc[1])
    assert captured['x'][:, :16].min() >= 100


def test_lwb_generator_outputs_and_composition():
    gen = tiny_lwb()
    bg_in, src_in, tsf_in, flows = rand_inputs()
    out = gen(bg_in, src_in, tsf_in, flows)
    shapes = {k: tuple(v.shape) for k, v in out.items()}
    assert shapes == dict(
        bg=(2, 3, H, W), src_color=(2, 2, 3, H, W), src_mask=(2, 2, 1, H, W),
        src_img=(2, 2, 3, H, W), tsf_color=(2, 3, H, W),
        tsf_mask=(2, 1, H, W), tsf_img=(2, 3, H, W))
    m, bg = out['tsf_mask'], out['bg']
    torch.testing.assert_close(out['tsf_img'],
                               m * bg + (1 - m) * out['tsf_color'])
    m = out['src_mask']
    torch.testing.assert_close(
        out['src_img'], m * bg[:, None] + (1 - m) * out['src_color'])
    # mask = 1 (all background) -> the background
    gen.tsf_net.attention_reg = Ones()
    gen.src_net.attention_reg = Ones()
    out = gen(bg_in, src_in, tsf_in, flows)
    torch.testing.assert_close(out['tsf_img'], out['bg'])
    torch.testing.assert_close(out['src_img'],
                               out['bg'][:, None].expand(-1, 2, -1, -1, -1))


def test_fusion_changes_target_only_through_flows():
    gen = tiny_lwb().eval()
    bg_in, src_in, tsf_in, flows = rand_inputs(B=1, S=1)
    with torch.no_grad():
        fused = gen(bg_in, src_in, tsf_in, flows)['tsf_color']
        bg_only = gen(bg_in, src_in, tsf_in,
                      torch.full_like(flows, -2))['tsf_color']
        plain, _ = gen.tsf_net(tsf_in)
    assert not torch.allclose(fused, plain)
    torch.testing.assert_close(bg_only, plain)


@pytest.mark.parametrize('fusion', [None, 'att'])
def test_encode_once_decode_many_equals_forward(fusion):
    cfg = None
    if fusion == 'att':
        cfg = dict(type='AttentionalLWB', hidden_channels=8)
    gen = tiny_lwb(fusion=cfg).eval()
    if fusion == 'att':
        assert all(isinstance(f, AttentionalLWB) for f in gen.fusions)
    N, S = 3, 2
    torch.manual_seed(2)
    bg_in = torch.rand(1, 4, H, W)
    src_in = torch.rand(1, S, 6, H, W)
    tsf_in = torch.rand(N, 6, H, W)
    flows = torch.rand(N, S, H, W, 2) * 2 - 1
    with torch.no_grad():
        full = gen(bg_in.expand(N, -1, -1, -1),
                   src_in.expand(N, -1, -1, -1, -1), tsf_in, flows)
        bg = gen.bg_net(bg_in)
        cache = gen.encode_sources(src_in)
        assert len(cache['features']) == 9
        assert cache['features'][0].shape == (1, S, 16, 16, 16)
        dec = gen.decode_targets(tsf_in, flows, cache, bg=bg)
    for key in ('tsf_color', 'tsf_mask', 'tsf_img'):
        assert torch.allclose(dec[key], full[key], atol=1e-5), key
    torch.testing.assert_close(cache['src_color'][0],
                               full['src_color'][1], atol=1e-5, rtol=0)
    # without a background: no composited image
    assert 'tsf_img' not in gen.decode_targets(tsf_in, flows, cache)
    # a single source with 4-D flows
    with torch.no_grad():
        c1 = gen.encode_sources(src_in[:, 0], decode=False)
        d1 = gen.decode_targets(tsf_in, flows[:, 0], c1)
        d2 = gen.decode_targets(tsf_in, flows[:, :1],
                                gen.encode_sources(src_in[:, :1]))
    torch.testing.assert_close(d1['tsf_color'], d2['tsf_color'])
    with pytest.raises(ValueError, match='flows for 1 sources, cache holds'):
        gen.decode_targets(tsf_in, flows[:, :1], cache)


def test_flow_convention_conversion():
    gen = tiny_lwb(flow_align_corners=False)
    assert gen.fusion_align_corners is True
    flows = torch.rand(2, 3, H, W, 2) * 2 - 1
    expected = convert_grid_align_corners(
        flows.flatten(0, 1), to_align_corners=True).view_as(flows)
    torch.testing.assert_close(gen.prepare_flows(flows), expected)
    assert torch.equal(tiny_lwb().prepare_flows(flows), flows)


def test_feature_warping_generator():
    gen = FeatureWarpingGenerator(
        bg_net=tiny_bg(), src_net=tiny(), tsf_net=tiny(in_channels=3))
    assert gen.fusion_points == (0, 1, 2) and len(gen.fusions) == 3
    bg_in, src_in, tsf_in, flows = rand_inputs()
    out = gen(bg_in, src_in, tsf_in, flows)
    assert out['tsf_img'].shape == (2, 3, H, W)
    assert out['src_img'].shape == (2, 2, 3, H, W)
    cache = gen.encode_sources(src_in, decode=False)
    assert cache['features'][3] is None and 'src_color' not in cache
    # the target stream only sees the cond channels
    with torch.no_grad():
        a = gen.decode_targets(tsf_in, flows, cache)['tsf_color']
        tsf2 = tsf_in.clone()
        tsf2[:, :3] = 0
        b = gen.decode_targets(tsf2, flows, cache)['tsf_color']
    torch.testing.assert_close(a, b)


def test_single_stream_baselines():
    bg_in, src_in, tsf_in, flows = rand_inputs(B=2, S=1)
    wc = ConcatGenerator(bg_net=tiny_bg(), tsf_net=tiny(in_channels=15),
                         num_sources=2)
    out = wc(bg_in, src_in, tsf_in, flows)
    assert set(out) == {'bg', 'tsf_color', 'tsf_mask', 'tsf_img'}
    assert not wc.has_source_stream
    # one source is repeated to fill the two slots
    cache = wc.encode_sources(src_in)
    assert torch.equal(cache['inputs'],
                       torch.cat([src_in[:, 0], src_in[:, 0]], dim=1))
    seen = {}
    hook = wc.tsf_net.encoders[0].register_forward_hook(
        lambda m, inp, out: seen.update(x=inp[0]))
    with torch.no_grad():
        dec = wc.decode_targets(tsf_in, None, wc.encode_sources(src_in[:1]))
    hook.remove()
    assert seen['x'].shape == (2, 15, H, W)
    assert torch.equal(seen['x'][:, 12:], tsf_in[:, 3:])
    assert dec['tsf_color'].shape == (2, 3, H, W)
    with pytest.raises(ValueError, match='W_C with 2 sources needs'):
        ConcatGenerator(bg_net=tiny_bg(), tsf_net=tiny(in_channels=9))
    wt = TextureWarpingGenerator(bg_net=tiny_bg(), tsf_net=tiny())
    out = wt(bg_in, src_in, tsf_in)
    assert out['tsf_img'].shape == (2, 3, H, W) and 'src_img' not in out
    plain, _ = wt.tsf_net(tsf_in)
    torch.testing.assert_close(out['tsf_color'], plain)


def test_build_from_registry():
    gen = MODELS.build(
        dict(type='LWBGenerator', bg_net=tiny_bg(), src_net=tiny(),
             tsf_net=tiny(), fusion=dict(type='AvgLWB')))
    assert isinstance(gen, LWBGenerator)
    with pytest.raises(ValueError, match=r'fusion_points \(9,\) out of range'):
        tiny_lwb(fusion_points=[9])
    with pytest.raises(ValueError, match='channels differ at fusion point'):
        LWBGenerator(bg_net=tiny_bg(), src_net=tiny(base_channels=4),
                     tsf_net=tiny())


def _build_meta(cfg):
    with torch.device('meta'):
        return MODELS.build(cfg)


def test_full_width_parameter_counts():
    """Counted on the meta device: no memory, no forward pass."""
    cfg = Config.fromfile(osp.join(CFG_DIR, 'lwgan_generator.py'))
    gen = _build_meta(cfg.generator)
    assert count(gen) == 97452736
    assert count(gen.bg_net) == 31445184
    assert count(gen.src_net) == count(gen.tsf_net) == 33003776
    assert count(_build_meta(cfg.discriminator)) == 6962625
    abl = Config.fromfile(osp.join(CFG_DIR, 'lwgan_generator_ablations.py'))
    expected = dict(
        generator_wc=64477184,
        generator_wt=64448960,
        generator_wf=97443328,
        generator_attlwb=116937920,
        generator_addlwb=97452736,
        generator_avglwb=97452736)
    for name, n in expected.items():
        assert count(_build_meta(abl[name])) == n, name

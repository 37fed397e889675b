# Copyright (c) mmlwgan contributors. All rights reserved.
"""``LWBGenerator(residual_color=True)``: G_SID / G_TSF correct their input
image (colour = clamp(input RGB + head, -1, 1)); off, nothing changes."""
import torch

from mmlwgan.models.generators import LWBGenerator
from mmlwgan.models.generators.lwb_generator import residual_color

H = W = 32


def tiny(in_channels=6):
    return dict(type='ResUnetGenerator', in_channels=in_channels,
                base_channels=8)


def build(seed=0, **kwargs):
    torch.manual_seed(seed)
    return LWBGenerator(
        bg_net=dict(type='ResNetGenerator', in_channels=4, base_channels=8),
        src_net=tiny(), tsf_net=tiny(), **kwargs).eval()


def rand_inputs(B=2, S=2):
    g = torch.Generator().manual_seed(1)
    return (torch.rand(B, 4, H, W, generator=g) * 2 - 1,
            torch.rand(B, S, 6, H, W, generator=g) * 2 - 1,
            torch.rand(B, 6, H, W, generator=g) * 2 - 1,
            torch.rand(B, S, H, W, 2, generator=g) * 2.4 - 1.2)


def zero_color_heads(gen):
    with torch.no_grad():
        gen.src_net.color_head.weight.zero_()
        gen.tsf_net.color_head.weight.zero_()


def test_zero_heads_give_the_input_image_exactly():
    gen = build(residual_color=True)
    zero_color_heads(gen)
    bg_in, src_in, tsf_in, flows = rand_inputs()
    with torch.no_grad():
        out = gen(bg_in, src_in, tsf_in, flows)
        cache = gen.encode_sources(src_in, decode=True)
        dec = gen.decode_targets(tsf_in, flows, cache)
    # G_TSF's colour is I_syn, G_SID's the (background-removed) source
    assert torch.equal(out['tsf_color'], tsf_in[:, :3])
    assert torch.equal(out['src_color'], src_in[:, :, :3])
    assert torch.equal(dec['tsf_color'], tsf_in[:, :3])
    assert torch.equal(cache['src_color'], src_in[:, :, :3])
    # composited as before
    m = out['tsf_mask']
    torch.testing.assert_close(out['tsf_img'],
                               m * out['bg'] + (1 - m) * tsf_in[:, :3])


def test_residual_adds_the_head_and_clamps():
    gen = build(residual_color=True)
    plain = build(residual_color=False)
    bg_in, src_in, tsf_in, flows = rand_inputs()
    with torch.no_grad():
        out = gen(bg_in, src_in, tsf_in, flows)
        head = plain(bg_in, src_in, tsf_in, flows)  # same weights: the head
    assert torch.equal(out['tsf_mask'], head['tsf_mask'])
    torch.testing.assert_close(
        out['tsf_color'], (tsf_in[:, :3] + head['tsf_color']).clamp(-1, 1))
    torch.testing.assert_close(
        out['src_color'],
        (src_in[:, :, :3] + head['src_color']).clamp(-1, 1))
    assert out['tsf_color'].abs().max() <= 1
    x = torch.tensor([0.9, -0.9, 0.2])
    assert torch.equal(residual_color(torch.tensor([0.5, -0.5, 0.1]), x),
                       torch.tensor([1.0, -1.0, 0.2 + 0.1]))


def test_residual_gradients_reach_the_heads():
    gen = build(residual_color=True).train()
    bg_in, src_in, tsf_in, flows = rand_inputs()
    out = gen(bg_in, src_in, tsf_in, flows)
    (out['tsf_img'].mean() + out['src_img'].mean()).backward()
    assert gen.tsf_net.color_head.weight.grad.abs().sum() > 0
    assert gen.src_net.color_head.weight.grad.abs().sum() > 0


def test_off_by_default_and_unchanged():
    """The default is the release's maths with the same parameters: the
    colours are the colour heads' outputs themselves (captured by hooks on
    ``img_reg``), so a fixed-seed model gives what it gave before the
    option existed."""
    default = build()
    assert default.residual_color is False
    assert list(default.state_dict()) == list(
        build(residual_color=True).state_dict())
    heads = {}
    for name in ('src_net', 'tsf_net'):
        getattr(default, name).img_reg.register_forward_hook(
            lambda m, i, o, name=name: heads.__setitem__(name, o))
    bg_in, src_in, tsf_in, flows = rand_inputs()
    with torch.no_grad():
        a = default(bg_in, src_in, tsf_in, flows)
        b = build(residual_color=False)(bg_in, src_in, tsf_in, flows)
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert torch.equal(a['tsf_color'], heads['tsf_net'])
    assert torch.equal(a['src_color'].flatten(0, 1), heads['src_net'])


def test_texture_warping_baseline_residual():
    """W_T offers the same option: zero head -> I_syn; off -> the head."""
    from mmlwgan.models.generators import TextureWarpingGenerator

    def wt(**kwargs):
        torch.manual_seed(0)
        return TextureWarpingGenerator(
            bg_net=dict(type='ResNetGenerator', in_channels=4,
                        base_channels=8),
            tsf_net=tiny(), **kwargs).eval()

    gen, plain = wt(residual_color=True), wt()
    assert not plain.residual_color
    bg_in, src_in, tsf_in, flows = rand_inputs()
    with torch.no_grad():
        out = gen(bg_in, src_in, tsf_in, flows)
        head = plain(bg_in, src_in, tsf_in, flows)
        torch.testing.assert_close(
            out['tsf_color'],
            (tsf_in[:, :3] + head['tsf_color']).clamp(-1, 1))
        gen.tsf_net.color_head.weight.zero_()
        out = gen(bg_in, src_in, tsf_in, flows)
    assert torch.equal(out['tsf_color'], tsf_in[:, :3])

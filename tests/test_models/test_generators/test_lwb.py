# Copyright (c) mmlwgan contributors. All rights reserved.
import pytest
import torch

from mmlwgan.models.generators import (AddLWB, AttentionalLWB, AvgLWB,
                                       LiquidWarpingBlock, warp_sources)
from mmlwgan.registry import MODELS


def identity_flow(B, H, W, align_corners):
    """Each pixel's own centre, in the given grid_sample convention."""
    if align_corners:
        xs = torch.linspace(-1, 1, W)
        ys = torch.linspace(-1, 1, H)
    else:
        xs = (2 * torch.arange(W) + 1) / W - 1
        ys = (2 * torch.arange(H) + 1) / H - 1
    gy, gx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([gx, gy], dim=-1).expand(B, H, W, 2).clone()


@pytest.mark.parametrize('align_corners', [True, False])
def test_identity_flow_adds_source(align_corners):
    torch.manual_seed(0)
    lwb = LiquidWarpingBlock(align_corners=align_corners)
    tgt = torch.randn(2, 5, 8, 8)
    src = torch.randn(2, 5, 8, 8)
    # flow at image resolution (32 px), resized to the 8 px features
    flow = identity_flow(2, 32, 32, align_corners)
    out = lwb(tgt, src, flow)
    assert out.shape == (2, 5, 8, 8)
    inner = (slice(None), slice(None), slice(1, -1), slice(1, -1))
    torch.testing.assert_close(out[inner], (tgt + src)[inner], atol=1e-5,
                               rtol=0)
    if align_corners:  # linear grids resize exactly: every pixel
        torch.testing.assert_close(out, tgt + src, atol=1e-5, rtol=0)


def test_background_flow_gives_target():
    lwb = LiquidWarpingBlock()
    tgt = torch.randn(1, 4, 8, 8)
    src = torch.randn(1, 3, 4, 8, 8)
    flows = torch.full((1, 3, 32, 32, 2), -2.0)
    assert torch.equal(lwb(tgt, src, flows), tgt)


def test_two_sources_sum():
    lwb = LiquidWarpingBlock()
    tgt = torch.randn(2, 4, 8, 8)
    src = torch.randn(2, 2, 4, 8, 8)
    ident = identity_flow(2, 16, 16, True)
    flows = torch.stack([ident, ident], dim=1)
    out = lwb(tgt, src, flows)
    torch.testing.assert_close(out, tgt + src[:, 0] + src[:, 1], atol=1e-5,
                               rtol=0)
    # second source entirely background: only the first one counts
    flows[:, 1] = -2
    torch.testing.assert_close(lwb(tgt, src, flows), tgt + src[:, 0],
                               atol=1e-5, rtol=0)


def test_flow_at_feature_resolution_and_shapes():
    lwb = LiquidWarpingBlock()
    tgt = torch.randn(1, 3, 8, 8)
    src = torch.randn(1, 3, 8, 8)
    out = lwb(tgt, src, identity_flow(1, 8, 8, True))
    torch.testing.assert_close(out, tgt + src, atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match='batch/source sizes differ'):
        lwb(tgt, torch.randn(1, 2, 3, 8, 8), torch.zeros(1, 3, 8, 8, 2))
    with pytest.raises(ValueError, match=r'flows \(B, S, H, W, 2\)'):
        lwb(tgt, src, torch.zeros(1, 8, 8, 3))


def test_strict_background_drops_blended_edge():
    torch.manual_seed(0)
    flow = identity_flow(1, 32, 32, True)
    # columns 14.. are background: feature column 3 samples image column
    # 13.3, blending body column 13 with background column 14
    flow[:, :, 14:] = -2
    tgt = torch.zeros(1, 2, 8, 8)
    src = torch.randn(1, 2, 8, 8)
    loose = LiquidWarpingBlock()(tgt, src, flow)
    strict = LiquidWarpingBlock(strict_background=True)(tgt, src, flow)
    # pure background columns give nothing in both; the blended column on
    # the outline samples the source in the release mode only
    assert torch.equal(loose[..., 4:], tgt[..., 4:])
    assert (loose[..., 3] != 0).any()
    assert torch.equal(strict[..., 3:], tgt[..., 3:])
    torch.testing.assert_close(strict[..., :3], (tgt + src)[..., :3],
                               atol=1e-5, rtol=0)


def test_variants_and_registry():
    import mmengine.registry
    lwb = MODELS.build(dict(type='mmlwgan.LiquidWarpingBlock'))
    assert isinstance(lwb, LiquidWarpingBlock) and lwb.align_corners
    # other projects build it from mmengine's root registry
    lwb2 = mmengine.registry.MODELS.build(
        dict(type='mmlwgan.LiquidWarpingBlock', align_corners=False))
    assert isinstance(lwb2, LiquidWarpingBlock) and not lwb2.align_corners
    tgt, src = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8)
    flow = identity_flow(1, 8, 8, True)
    torch.testing.assert_close(AddLWB()(tgt, src, flow), tgt + src,
                               atol=1e-5, rtol=0)
    torch.testing.assert_close(AvgLWB()(tgt, src, flow), (tgt + src) / 2,
                               atol=1e-5, rtol=0)
    warped = warp_sources(src, flow)
    assert warped.shape == (1, 1, 3, 8, 8)


def test_attentional_lwb():
    torch.manual_seed(0)
    att = AttentionalLWB(in_channels=6, src_channels=4, key_channels=5,
                         hidden_channels=8)
    tgt = torch.randn(2, 6, 8, 8)
    src = torch.randn(2, 3, 4, 8, 8)
    flows = torch.rand(2, 3, 16, 16, 2) * 2 - 1
    out, alpha = att(tgt, src, flows, return_attention=True)
    assert out.shape == (2, 6, 8, 8)
    assert alpha.shape == (2, 3, 8, 8)
    assert (alpha >= 0).all()
    torch.testing.assert_close(alpha.sum(dim=1), torch.ones(2, 8, 8))

    # one source: weight 1, deterministic; two identical sources mix to the
    # same value
    one, a1 = att(tgt, src[:, :1], flows[:, :1], return_attention=True)
    torch.testing.assert_close(a1, torch.ones(2, 1, 8, 8))
    assert torch.equal(one, att(tgt, src[:, 0], flows[:, 0]))
    two = att(tgt, src[:, [0, 0]], flows[:, [0, 0]])
    torch.testing.assert_close(two, one, atol=1e-5, rtol=1e-5)

    # the result is SPADE on the target: IN(tgt) * (1 + gamma) + beta
    with torch.no_grad():
        for conv in (att.spade.mlp_gamma, att.spade.mlp_beta):
            conv.weight.zero_()
            conv.bias.zero_()
    normed = torch.nn.functional.instance_norm(tgt)
    torch.testing.assert_close(att(tgt, src, flows), normed, atol=1e-5,
                               rtol=1e-5)

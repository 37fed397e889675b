# Copyright (c) mmlwgan contributors. All rights reserved.
import pytest
import torch
from mmengine import Config, DefaultScope
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.utils import import_modules_from_strings

from mmlwgan.registry import BODY_MODELS, MODELS, RENDERERS
from mmlwgan.utils import register_all_modules


def test_registries_are_children_of_mmengine():
    assert MODELS.parent is ROOT_MODELS
    assert MODELS.scope == 'mmlwgan'
    register_all_modules(init_default_scope=False)
    assert 'MeshRasterizer' in RENDERERS.module_dict
    assert 'SMPL' in BODY_MODELS.module_dict
    assert 'FlowComposer' in MODELS.module_dict


def test_build_from_another_toolbox_scope():
    """Parts of mmlwgan used from a config whose default scope is another
    toolbox's (mmpose's when installed, else mmengine's), through
    ``custom_imports`` and scope-prefixed types."""
    try:
        import mmpose  # noqa: F401
        scope = 'mmpose'
    except ImportError:
        scope = 'mmengine'
    cfg = Config(dict(
        default_scope=scope,
        custom_imports=dict(imports=['mmlwgan'], allow_failed_imports=False),
        model=dict(type='mmlwgan.FlowComposer',
                   rasterizer=dict(type='MeshRasterizer', image_size=16))))
    import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope(scope):
        composer = ROOT_MODELS.build(cfg.model)
    assert type(composer).__name__ == 'FlowComposer'
    verts = torch.tensor([[[-0.5, -0.5, 0.5], [0.5, -0.5, 0.5],
                           [0.0, 0.5, 0.5]]])
    out = composer(verts + 0.1, verts, torch.tensor([[0, 1, 2]]))
    covered = out['tgt_body'][0, 0] > 0
    assert covered.any()
    assert torch.all(out['flow'][0][~covered] == -2)


def test_unknown_type_gives_clear_error():
    with pytest.raises(KeyError, match='NoSuchRasterizer'):
        RENDERERS.build(dict(type='NoSuchRasterizer', image_size=8))


def test_liquid_warping_block_in_an_mmpose_config():
    """``type='mmlwgan.LiquidWarpingBlock'`` from an mmpose-scoped config:
    built through mmpose's own registry and run on real tensors."""
    pytest.importorskip('mmpose')
    from mmpose.registry import MODELS as MMPOSE_MODELS
    cfg = Config(dict(
        default_scope='mmpose',
        custom_imports=dict(imports=['mmlwgan'], allow_failed_imports=False),
        fusion=dict(type='mmlwgan.LiquidWarpingBlock', align_corners=False),
        backbone=dict(type='ResNet', depth=18)))
    import_modules_from_strings(**cfg.custom_imports)
    with DefaultScope.overwrite_default_scope('mmpose'):
        lwb = MMPOSE_MODELS.build(cfg.fusion)
        backbone = MMPOSE_MODELS.build(cfg.backbone)  # mmpose's own part
    assert type(lwb).__module__.startswith('mmlwgan')
    assert type(backbone).__module__.startswith('mmpose')
    tgt = torch.randn(1, 4, 8, 8)
    src = torch.randn(1, 4, 8, 8)
    # identity flow in the align_corners=False convention
    ys = (2 * torch.arange(8) + 1) / 8 - 1
    yy, xx = torch.meshgrid(ys, ys, indexing='ij')
    flow = torch.stack([xx, yy], -1)[None]
    torch.testing.assert_close(lwb(tgt, src, flow), tgt + src)
    # background flow adds nothing
    torch.testing.assert_close(lwb(tgt, src, torch.full_like(flow, -2.)), tgt)

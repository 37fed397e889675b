# Copyright (c) mmlwgan contributors. All rights reserved.
import importlib.util

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmlwgan.models.backbones.resnet_v2 import PreActBottleneck, ResNetV2
from mmlwgan.models.body import SMPL, weak_perspective_project
from mmlwgan.models.body.hmr import HMR, IterativeRegressor, default_mean_theta
from mmlwgan.models.body.hmr_api import (HMRPredictor, crop_person,
                                         crop_to_image_coords,
                                         prepare_hmr_inputs, theta_to_smpl)
from mmlwgan.registry import MODELS

MMPOSE_AVAILABLE = importlib.util.find_spec('mmpose') is not None

# A narrow ResNetV2-50 (same topology as the release, 128-d features).
TINY_BACKBONE = dict(type='ResNetV2', depth=50, stem_channels=8,
                     base_channels=4)


@MODELS.register_module(name='TestHMRTinyBackbone', force=True)
class TinyBackbone(nn.Module):
    """A minimal backbone returning a tuple of feature maps."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, stride=4, padding=1)

    def forward(self, x):
        return (F.relu(self.conv(x)), )


def tiny_hmr(**kwargs) -> HMR:
    cfg = dict(backbone=dict(TINY_BACKBONE), hidden_channels=32)
    cfg.update(kwargs)
    return HMR(**cfg)


# ---------------------------------------------------------------- backbone
def test_resnet_v2_release_layout_and_full_forward():
    """Full-width ResNetV2-50 at 224 px, inside a default (release) HMR."""
    torch.manual_seed(0)
    hmr = HMR()
    net = hmr.backbone
    assert isinstance(net, ResNetV2) and hmr.feat_dim == 2048
    assert net.conv1.bias is not None and net.conv1.stride == (2, 2)
    # TF-slim puts a stage's stride in its last unit; the last stage has 1.
    for name, stride in zip(net.stage_names, (2, 2, 2, 1)):
        units = getattr(net, name)
        assert [u.conv2.stride[0] for u in units] == [1] * (len(units) - 1) \
            + [stride]
        assert units[0].shortcut is not None
        assert units[0].shortcut[0].bias is not None
        assert all(u.shortcut is None for u in units[1:])
        assert units[0].conv3.bias is not None
        assert units[0].conv1.bias is None and units[0].conv2.bias is None
    assert [len(getattr(net, n)) for n in net.stage_names] == [3, 4, 6, 3]

    x = torch.rand(1, 3, 224, 224) * 2 - 1
    net.out_indices = (0, 1, 2, 3)
    with torch.no_grad():
        feats = net(x)
        assert [tuple(f.shape[1:]) for f in feats] == [(256, 28, 28),
                                                       (512, 14, 14),
                                                       (1024, 7, 7),
                                                       (2048, 7, 7)]
        net.out_indices = (3, )
        # The release's avg_pool2d(7) on the final BN-ReLU map.
        feat = hmr.extract_feat(x)
        ref = F.avg_pool2d(feats[-1], 7).flatten(1)
        assert torch.allclose(feat, ref, atol=1e-6)
        assert (feats[-1] >= 0).all()  # post_bn + ReLU
        thetas = hmr(x)
    assert len(thetas) == 3
    assert all(t.shape == (1, 85) for t in thetas)


def test_maxpool_ceil_mode_is_tf_same_padding():
    x = torch.randn(2, 3, 112, 112)
    ours = F.max_pool2d(x, 3, 2, ceil_mode=True)
    tf_same = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=-float('inf')), 3, 2)
    assert ours.shape[-1] == 56 and torch.equal(ours, tf_same)


@pytest.mark.parametrize('in_ch,mid,stride', [(8, 2, 2), (8, 2, 1),
                                              (4, 2, 2), (4, 2, 1)])
def test_preact_bottleneck_matches_manual(in_ch, mid, stride):
    torch.manual_seed(1)
    unit = PreActBottleneck(in_ch, mid, stride=stride).eval()
    for bn in (unit.bn1, unit.bn2, unit.bn3):
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
        bn.bias.data.uniform_(-0.2, 0.2)
    x = torch.randn(2, in_ch, 9, 9)

    def bn(m, t):
        return F.batch_norm(t, m.running_mean, m.running_var, m.weight,
                            m.bias, False, 0.0, m.eps)

    pre = F.relu(bn(unit.bn1, x))
    h = F.relu(bn(unit.bn2, F.conv2d(pre, unit.conv1.weight)))
    h = F.relu(bn(unit.bn3, F.conv2d(h, unit.conv2.weight, stride=stride,
                                     padding=1)))
    h = F.conv2d(h, unit.conv3.weight, unit.conv3.bias)
    if in_ch != mid * 4:  # projection of the pre-activation
        sc = F.conv2d(pre, unit.shortcut[0].weight, unit.shortcut[0].bias,
                      stride=stride)
    else:  # TF-slim subsample: 1x1 max-pool
        sc = F.max_pool2d(x, 1, stride=stride)
    with torch.no_grad():
        assert torch.allclose(unit(x), h + sc, atol=1e-5)


def test_resnet_v2_bad_args():
    with pytest.raises(KeyError, match='invalid depth 18 for ResNetV2'):
        ResNetV2(depth=18)
    with pytest.raises(ValueError, match=r'out_indices should be in \[0, 4\)'):
        ResNetV2(depth=50, out_indices=(4, ))


# ---------------------------------------------------------------- regressor
def test_default_mean_theta():
    mean = default_mean_theta()
    assert mean.shape == (85, )
    assert mean[0] == pytest.approx(0.9)
    assert mean[3] == pytest.approx(np.pi)
    assert mean[[1, 2]].abs().sum() == 0 and mean[4:].abs().sum() == 0


def test_regressor_iterations_add_deltas():
    torch.manual_seed(0)
    reg = IterativeRegressor(in_channels=16, hidden_channels=32).eval()
    feat = torch.randn(3, 16)
    with torch.no_grad():
        thetas = reg(feat)
        assert len(thetas) == 3 and all(t.shape == (3, 85) for t in thetas)
        prev = reg.mean_theta.expand(3, -1)
        for theta in thetas:
            delta = reg.fc_blocks(torch.cat([feat, prev], 1))
            assert torch.allclose(theta, prev + delta, atol=1e-6)
            assert delta.abs().max() > 0
            prev = theta
        assert not torch.allclose(thetas[0], thetas[1])
        init = torch.randn(3, 85)
        assert torch.allclose(
            reg(feat, init)[0], init + reg.fc_blocks(torch.cat([feat, init],
                                                               1)))
    names = [n for n, _ in reg.fc_blocks.named_children()]
    assert names == ['fc1', 'relu1', 'dropout1', 'fc2', 'relu2', 'dropout2',
                     'fc3']
    assert reg.fc_blocks.dropout1.p == 0.5
    # dropout is active when the regressor alone is trained
    reg.train()
    a, b = reg(feat)[-1], reg(feat)[-1]
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match=r'feat should be \(B, '):
        reg(torch.randn(3, 8))
    with pytest.raises(ValueError, match='mean_theta should have 85 values'):
        IterativeRegressor(mean_theta=[0.0] * 10)


# ---------------------------------------------------------------- HMR
def test_hmr_frozen_eval_deterministic():
    torch.manual_seed(0)
    hmr = tiny_hmr()
    assert hmr.feat_dim == 128
    assert all(not p.requires_grad for p in hmr.parameters())
    assert not hmr.training

    class Parent(BaseModule):

        def __init__(self):
            super().__init__()
            self.hmr = hmr
            self.head = nn.Linear(2, 2)

    parent = Parent()
    parent.train()
    assert parent.training and parent.head.training
    assert not any(m.training for m in hmr.modules())
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    t1, t2 = hmr(x), hmr(x)
    assert all(torch.equal(a, b) for a, b in zip(t1, t2))
    assert torch.equal(hmr.predict_theta(x), t1[-1])
    # iterations differ by the regressor's deltas
    feat = hmr.extract_feat(x)
    prev = hmr.regressor.mean_theta.expand(2, -1)
    for theta in t1:
        delta = hmr.regressor.fc_blocks(torch.cat([feat, prev], 1))
        assert torch.allclose(theta - prev, delta, atol=1e-5)
        prev = theta

    trainable = tiny_hmr(frozen=False)
    trainable.train()
    assert trainable.training
    assert all(p.requires_grad for p in trainable.parameters())


def test_hmr_random_init_warns_once(monkeypatch):
    import mmlwgan.utils.logging as log_mod
    messages = []
    monkeypatch.setattr(log_mod, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    log_mod._SEEN.discard('mmlwgan.HMR.random')
    tiny_hmr()
    tiny_hmr()
    assert len([m for m in messages if 'HMR' in m and 'random' in m]) == 1


def test_hmr_pretrained_loading(tmp_path):
    torch.manual_seed(0)
    src = tiny_hmr()
    for p in src.parameters():
        p.data.uniform_(-1, 1)
    src.regressor.mean_theta.uniform_()
    path = str(tmp_path / 'hmr.pth')
    torch.save(dict(meta=dict(), state_dict=src.state_dict()), path)

    def same(a, b):
        sa, sb = a.state_dict(), b.state_dict()
        return sa.keys() == sb.keys() and all(
            torch.equal(sa[k], sb[k]) for k in sa)

    a = tiny_hmr(pretrained=path)
    assert same(a, src)
    b = tiny_hmr(init_cfg=dict(type='Pretrained', checkpoint=path))
    assert same(b, src)
    # a parent's initialisers must not leave HMR with other weights
    b.init_weights()
    assert same(b, src)

    class Parent(BaseModule):

        def __init__(self):
            super().__init__(init_cfg=[
                dict(type='Constant', val=0.0, layer=['Conv2d', 'Linear']),
            ])
            self.hmr = b

    Parent().init_weights()
    assert same(b, src)
    assert not b.training and not any(p.requires_grad for p in b.parameters())

    # the release's key layout (resnet.*, smpl.*) and a DataParallel prefix
    release = {('module.' + k.replace('backbone.', 'resnet.', 1)): v
               for k, v in src.state_dict().items()}
    release['module.smpl.v_template'] = torch.zeros(5, 3)
    path2 = str(tmp_path / 'release.pth')
    torch.save(release, path2)
    assert same(tiny_hmr(pretrained=path2), src)

    with pytest.raises(ValueError,
                       match='give the pretrained HMR weights once'):
        tiny_hmr(pretrained=path,
                 init_cfg=dict(type='Pretrained', checkpoint=path2))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        tiny_hmr(pretrained=str(tmp_path / 'missing.pth'))


def test_hmr_swappable_backbone():
    hmr = MODELS.build(
        dict(type='HMR', backbone=dict(type='TestHMRTinyBackbone',
                                       channels=16), feat_dim=16,
             hidden_channels=32))
    assert isinstance(hmr.backbone, TinyBackbone)
    thetas = hmr(torch.zeros(2, 3, 32, 32))
    assert len(thetas) == 3 and thetas[-1].shape == (2, 85)
    with pytest.raises(ValueError, match='feat_dim'):
        HMR(backbone=dict(type='TestHMRTinyBackbone'))
    bad = HMR(backbone=dict(type='TestHMRTinyBackbone', channels=16),
              feat_dim=8, hidden_channels=32)
    with pytest.raises(ValueError, match='feat_dim'):
        bad(torch.zeros(1, 3, 32, 32))
    # a module instance is accepted too
    hmr2 = HMR(backbone=TinyBackbone(4), feat_dim=4, hidden_channels=8)
    assert hmr2(torch.zeros(1, 3, 16, 16))[-1].shape == (1, 85)


@pytest.mark.skipif(not MMPOSE_AVAILABLE, reason='mmpose is not installed')
def test_hmr_mmpose_backbone():
    hmr = MODELS.build(
        dict(type='HMR', backbone=dict(type='mmpose.ResNet', depth=18),
             feat_dim=512, hidden_channels=32))
    thetas = hmr(torch.zeros(1, 3, 64, 64))
    assert thetas[-1].shape == (1, 85)
    assert not any(p.requires_grad for p in hmr.parameters())


# ---------------------------------------------------------------- API
@pytest.fixture(scope='module')
def smpl(synthetic_smpl_npz):
    return SMPL(synthetic_smpl_npz)


def test_prepare_hmr_inputs():
    img = np.zeros((50, 40, 3), np.uint8)
    img[..., 0] = 255
    out = prepare_hmr_inputs(img)
    assert out.shape == (1, 3, 224, 224)
    assert torch.allclose(out[:, 0], torch.ones(1, 224, 224))
    assert torch.allclose(out[:, 1:], -torch.ones(1, 2, 224, 224))
    out = prepare_hmr_inputs([img, np.zeros((60, 60, 3), np.uint8)])
    assert out.shape == (2, 3, 224, 224)
    x = torch.rand(2, 3, 224, 224) * 2 - 1
    assert torch.equal(prepare_hmr_inputs(x), x)
    assert prepare_hmr_inputs(torch.rand(3, 100, 100)).shape == (1, 3, 224,
                                                                 224)
    with pytest.raises(TypeError,
                       match='numpy images should be uint8 RGB'):
        prepare_hmr_inputs(np.zeros((10, 10, 3), np.float32))


def test_crop_person():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (400, 400, 3), dtype=np.uint8)
    # diagonal 150 -> the crop side is 224 original pixels (no resampling);
    # centre (145.5, 210.5): crop pixel i sits on image pixel i + 34 (x)
    # and j + 99 (y).
    box = (100.5, 150.5, 190.5, 270.5)
    crop, info = crop_person(img, box)
    assert crop.shape == (224, 224, 3) and crop.dtype == np.uint8
    assert info['side'] == pytest.approx(224.0)
    np.testing.assert_array_equal(crop, img[99:323, 34:258])
    # NDC of crop pixel centres -> original pixels
    ij = torch.tensor([[0.0, 0.0], [223.0, 10.0]])
    ndc = (2 * ij + 1) / 224 - 1
    px = crop_to_image_coords(ndc, info)
    assert torch.allclose(px, ij + torch.tensor([34.0, 99.0]), atol=1e-4)
    # a box at the corner: outside pixels repeat the edge (np.pad 'edge')
    crop2, _ = crop_person(img, (0.5, 0.5, 90.5, 120.5))
    np.testing.assert_array_equal(crop2[0, 0], img[0, 0])
    assert (crop2[:20, 150] == crop2[0, 150]).all()
    # float tensors and the longer-side mode
    t = torch.from_numpy(img).permute(2, 0, 1).float() / 127.5 - 1
    crop3, info3 = crop_person(t, box, image_size=112, diag_len=None,
                               scale=2.0)
    assert crop3.shape == (1, 3, 112, 112)
    assert info3['side'] == pytest.approx(240.0)


def test_predictor_projects_joints(smpl):
    torch.manual_seed(0)
    hmr = tiny_hmr()
    predictor = HMRPredictor(hmr, smpl)
    x = torch.rand(2, 3, 224, 224) * 2 - 1
    out = predictor(x, return_all_iters=True)
    assert out['theta'].shape == (2, 85) and out['cam'].shape == (2, 3)
    assert out['pose'].shape == (2, 72) and out['shape'].shape == (2, 10)
    assert out['vertices'].shape == (2, smpl.num_verts, 3)
    assert out['joints2d'].shape == (2, 19, 2)
    assert len(out['thetas']) == 3
    theta = hmr(x)[-1]
    assert torch.allclose(out['theta'], theta)
    assert torch.equal(out['cam'], theta[:, :3])
    assert torch.equal(out['pose'], theta[:, 3:75])
    assert torch.equal(out['shape'], theta[:, 75:])
    body = smpl(theta[:, 3:75], theta[:, 75:])
    assert torch.allclose(out['vertices'], body['vertices'], atol=1e-6)
    assert torch.allclose(out['joints3d'], body['keypoints_extra'],
                          atol=1e-6)
    ref = weak_perspective_project(body['keypoints_extra'], theta[:, :3])
    assert torch.allclose(out['joints2d'], ref[..., :2], atol=1e-6)
    # by hand: s * (XY + t)
    s, t = theta[:, None, :1], theta[:, None, 1:3]
    manual = s * (body['keypoints_extra'][..., :2] + t)
    assert torch.allclose(out['joints2d'], manual, atol=1e-6)
    # uint8 HWC input goes through the same path
    img = ((x[0].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
    out2 = predictor(img)
    assert out2['joints2d'].shape == (1, 19, 2)
    # theta_to_smpl on a chosen camera
    theta2 = torch.zeros(1, 85)
    theta2[0, :3] = torch.tensor([0.5, 0.1, -0.2])
    res = theta_to_smpl(theta2, smpl)
    j = smpl(theta2[:, 3:75], theta2[:, 75:])['keypoints_extra']
    assert torch.allclose(res['joints2d'],
                          0.5 * (j[..., :2] + torch.tensor([0.1, -0.2])),
                          atol=1e-6)


def test_predictor_from_configs(synthetic_smpl_npz):
    predictor = HMRPredictor(
        dict(type='HMR', backbone=dict(type='TestHMRTinyBackbone',
                                       channels=8), feat_dim=8,
             hidden_channels=16),
        dict(type='SMPL', model_path=synthetic_smpl_npz))
    out = predictor(torch.zeros(1, 3, 224, 224))
    assert out['joints2d'].shape == (1, 19, 2)

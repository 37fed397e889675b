# Copyright (c) mmlwgan contributors. All rights reserved.
import os
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmlwgan.models.losses.sphereface import (SPHEREFACE_INPUT_SIZE,
                                              SphereFace20a)
from mmlwgan.registry import MODELS

# Header of official_checkpoints/sphere20a.txt.
NUM_TENSORS, NUM_VALUES = 62, 22670656


@pytest.fixture(scope='module')
def net():
    torch.manual_seed(0)
    return SphereFace20a()


def test_layout(net):
    sd = net.state_dict()
    assert len(sd) == NUM_TENSORS
    assert sum(v.numel() for v in sd.values()) == NUM_VALUES
    assert sum(p.numel() for p in net.parameters()) == NUM_VALUES
    assert isinstance(net.relu1_1, nn.PReLU)
    assert net.relu1_1.weight.shape == (64, )
    assert net.conv1_1.stride == (2, 2) and net.conv1_2.stride == (1, 1)
    assert net.conv3_9.weight.shape == (256, 256, 3, 3)
    assert net.fc5.weight.shape == (512, 21504)
    names = [k for k in sd]
    assert names[:3] == ['conv1_1.weight', 'conv1_1.bias', 'relu1_1.weight']
    assert names[-2:] == ['fc5.weight', 'fc5.bias']
    assert isinstance(MODELS.build(dict(type='SphereFace20a')), SphereFace20a)


def test_forward_matches_release_wiring(net):
    torch.manual_seed(1)
    x = torch.rand(2, 3, *SPHEREFACE_INPUT_SIZE) * 2 - 1
    with torch.no_grad():
        feats, emb = net(x)
    assert [tuple(f.shape) for f in feats] == [(2, 64, 56, 48),
                                               (2, 128, 28, 24),
                                               (2, 256, 14, 12),
                                               (2, 512, 7, 6)]
    assert emb.shape == (2, 512)

    def u(name, t):
        return getattr(net, 'relu' + name)(getattr(net, 'conv' + name)(t))

    with torch.no_grad():
        h = u('1_1', x)
        h = h + u('1_3', u('1_2', h))
        assert torch.allclose(feats[0], h, atol=1e-5)
        h = u('2_1', feats[0])
        h = h + u('2_3', u('2_2', h))
        h = h + u('2_5', u('2_4', h))
        assert torch.allclose(feats[1], h, atol=1e-5)
        h = u('3_1', feats[1])
        for a, b in (('3_2', '3_3'), ('3_4', '3_5'), ('3_6', '3_7'),
                     ('3_8', '3_9')):
            h = h + u(b, u(a, h))
        assert torch.allclose(feats[2], h, atol=1e-5)
        h = u('4_1', feats[2])
        h = h + u('4_3', u('4_2', h))
        assert torch.allclose(feats[3], h, atol=1e-5)
        assert torch.allclose(emb, net.fc5(h.flatten(1)), atol=1e-5)
    with pytest.raises(ValueError, match='112 x 96'):
        net(torch.zeros(1, 3, 112, 112))


def test_frozen_but_differentiable(net):
    assert not any(p.requires_grad for p in net.parameters())

    class Parent(BaseModule):

        def __init__(self):
            super().__init__()
            self.face = net

    Parent().train()
    assert not any(m.training for m in net.modules())
    x = torch.zeros(1, 3, 112, 96, requires_grad=True)
    feats, emb = net(x)
    (emb.sum() + sum(f.mean() for f in feats)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in net.parameters())


def test_pretrained(tmp_path, net, monkeypatch):
    import mmlwgan.utils.logging as log_mod
    state = {k: torch.randn_like(v.float()) for k, v in
             net.state_dict().items()}
    raw = {'module.' + k: v for k, v in state.items()}
    raw['module.fc6.weight'] = torch.randn(512, 7)  # training classifier
    path = str(tmp_path / 'sphere20a.pth')
    torch.save(dict(state_dict=raw), path)
    messages = []
    monkeypatch.setattr(log_mod, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    loaded = SphereFace20a(pretrained=path)
    assert not any('random' in m for m in messages)
    for k, v in loaded.state_dict().items():
        assert torch.equal(v, state[k]), k
    loaded2 = SphereFace20a(init_cfg=dict(type='Pretrained',
                                          checkpoint=path))

    class Parent(BaseModule):

        def __init__(self):
            super().__init__(init_cfg=dict(type='Constant', val=0.0,
                                           layer=['Conv2d', 'Linear']))
            self.face = loaded2

    Parent().init_weights()  # the parent's initialiser is undone
    for k, v in loaded2.state_dict().items():
        assert torch.equal(v, state[k]), k
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        SphereFace20a(pretrained=osp.join(str(tmp_path), 'nope.pth'))
    with pytest.raises(ValueError, match='give the SphereFace weights once'):
        SphereFace20a(pretrained=path,
                      init_cfg=dict(type='Pretrained', checkpoint=path))
    assert os.path.isfile(path)


def test_random_warns_once(monkeypatch):
    import mmlwgan.utils.logging as log_mod
    messages = []
    monkeypatch.setattr(log_mod, 'print_log',
                        lambda msg, **kw: messages.append(msg))
    log_mod._SEEN.discard('mmlwgan.SphereFace20a.random')
    SphereFace20a()
    SphereFace20a()
    assert len(messages) == 1 and 'SphereFace20a' in messages[0]

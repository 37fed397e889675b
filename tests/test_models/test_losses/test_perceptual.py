# Copyright (c) mmlwgan contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn

from mmlwgan.models.losses import VGG19, PerceptualLoss
from mmlwgan.models.losses.perceptual import (VGG19_LAYER_IDS,
                                              _make_vgg19_features)
from mmlwgan.registry import MODELS

RELEASE_IDS = (1, 6, 11, 20, 29)


def _no_download(monkeypatch):
    import torch.hub
    import torchvision.models._api as tv_api

    def boom(*args, **kwargs):
        raise AssertionError('tried to download')

    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', boom)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', boom)
    monkeypatch.setattr(tv_api, 'load_state_dict_from_url', boom)


def _torchvision_vgg19_file(path, drop=None):
    """A random VGG19 state dict in torchvision's format (all 16 conv layers
    of ``features`` and a (shrunken) classifier, which must be ignored)."""
    torch.manual_seed(0)
    feats = _make_vgg19_features(37)
    state = {f'features.{k}': v for k, v in feats.state_dict().items()}
    state['classifier.0.weight'] = torch.randn(8, 4)
    state['classifier.0.bias'] = torch.randn(8)
    if drop is not None:
        state.pop(drop)
    torch.save(state, path)
    return state


def test_layer_ids_match_release():
    names = ('relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1')
    assert tuple(VGG19_LAYER_IDS[n] for n in names) == RELEASE_IDS
    import torchvision
    tv = torchvision.models.vgg.make_layers(
        torchvision.models.vgg.cfgs['E'])
    for i in RELEASE_IDS:
        assert isinstance(tv[i], nn.ReLU)
        assert isinstance(tv[i - 1], nn.Conv2d)
    ours = _make_vgg19_features(30)
    assert [type(m) for m in ours] == [type(m) for m in tv[:30]]


def test_construct_never_downloads_and_is_frozen(monkeypatch):
    _no_download(monkeypatch)
    loss = MODELS.build(dict(type='PerceptualLoss', loss_weight=10.0))
    assert loss.loss_name == 'loss_perceptual'
    assert all(not p.requires_grad for p in loss.parameters())
    loss.train()
    assert not loss.vgg.training


def test_load_pretrained_file(tmp_path, monkeypatch):
    _no_download(monkeypatch)
    path = str(tmp_path / 'vgg19.pth')
    state = _torchvision_vgg19_file(path)
    loss = PerceptualLoss(pretrained=path)
    own = loss.vgg.state_dict()
    assert set(own) == {f'features.{i}.{p}' for i in range(0, 29)
                        for p in ('weight', 'bias')
                        if f'features.{i}.{p}' in state}
    for k, v in own.items():
        assert torch.equal(v, state[k]), k
    # a parent's initialiser clobbering the VGG is undone by init_weights
    with torch.no_grad():
        loss.vgg.features[0].weight.zero_()
    loss.init_weights()
    assert torch.equal(loss.vgg.features[0].weight,
                       state['features.0.weight'])


def test_load_wrong_file_names_missing_key(tmp_path):
    path = str(tmp_path / 'bad.pth')
    _torchvision_vgg19_file(path, drop='features.28.weight')
    with pytest.raises(KeyError, match='features.28.weight'):
        PerceptualLoss(pretrained=path)
    with pytest.raises(FileNotFoundError,
                       match='pretrained weights file not found'):
        PerceptualLoss(pretrained=str(tmp_path / 'nope.pth'))


def test_values_identity_and_noise():
    torch.manual_seed(0)
    loss = PerceptualLoss()
    img = torch.rand(2, 3, 32, 32) * 2 - 1
    assert loss(img, img).item() == 0.0
    small = loss((img + 0.05 * torch.randn_like(img)).clamp(-1, 1), img)
    large = loss((img + 0.5 * torch.randn_like(img)).clamp(-1, 1), img)
    assert 0 < small.item() < large.item()


def test_layer_weights_and_loss_weight(monkeypatch):
    loss = PerceptualLoss(loss_weight=10.0, input_norm='none')

    def fake_forward(x):  # feature i == (i + 1) * mean(x)
        return [torch.ones(x.shape[0], 2, 3, 3) * x.mean() * (i + 1)
                for i in range(5)]

    monkeypatch.setattr(loss.vgg, 'forward', fake_forward)
    pred, target = torch.ones(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)
    expected = 10.0 * (1 / 32 * 1 + 1 / 16 * 2 + 1 / 8 * 3 + 1 / 4 * 4 +
                       1.0 * 5)
    assert loss(pred, target).item() == pytest.approx(expected)


def test_imagenet_normalisation_and_gradient():
    loss = PerceptualLoss()
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3, 1, 1)
    mean = torch.tensor([0.485, 0.456, 0.406])
    std = torch.tensor([0.229, 0.224, 0.225])
    expected = (torch.tensor([0.0, 0.5, 1.0]) - mean) / std
    assert torch.allclose(loss.normalize(x).flatten(), expected)
    assert torch.equal(PerceptualLoss(input_norm='none').normalize(x), x)
    pred = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    target = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_()
    loss(pred, target).backward()
    assert pred.grad is not None and pred.grad.abs().sum() > 0
    assert target.grad is None
    assert all(p.grad is None for p in loss.parameters())


def test_vgg19_features_match_torchvision_slices():
    torch.manual_seed(0)
    vgg = VGG19()
    x = torch.randn(1, 3, 32, 32)
    outs = vgg(x)
    ref, h = [], x
    for i, layer in enumerate(vgg.features):
        h = layer(h.clone())
        if i in RELEASE_IDS:
            ref.append(h)
    assert len(outs) == 5
    for o, r in zip(outs, ref):
        assert torch.allclose(o, r)


def test_random_init_warns_once(monkeypatch):
    import mmlwgan.utils.logging as lg
    msgs = []
    monkeypatch.setattr(lg, 'print_log',
                        lambda msg, **kw: msgs.append((msg, kw)))
    monkeypatch.setattr(lg, '_SEEN', set())
    PerceptualLoss()
    PerceptualLoss()
    assert len(msgs) == 1
    assert 'randomly initialised' in msgs[0][0]
    assert msgs[0][1]['level'] == 30

# Copyright (c) mmlwgan contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine import Config

import mmlwgan.models.losses as losses_pkg
from mmlwgan.models.losses import (FaceIdentityLoss, crop_and_resize,
                                   head_boxes_from_keypoints)
from mmlwgan.registry import MODELS

HAS_SPHEREFACE = hasattr(losses_pkg, 'SphereFace20a')


@MODELS.register_module(name='_TinyFaceNet', force=True)
class _TinyFaceNet(nn.Module):
    """A small stand-in with SphereFace20a's interface:
    (B, 3, 112, 96) -> (list of 4 stage features, (B, E) embedding)."""

    def __init__(self, embed_dim: int = 16):
        super().__init__()
        chans = (3, 4, 6, 8, 8)
        self.convs = nn.ModuleList(
            nn.Conv2d(chans[i], chans[i + 1], 3, 2, 1) for i in range(4))
        self.act = nn.PReLU(8)
        self.fc5 = nn.Linear(8 * 7 * 6, embed_dim)

    def forward(self, x):
        feats = []
        for conv in self.convs:
            x = torch.tanh(conv(x))
            feats.append(x)
        emb = self.fc5(self.act(x).flatten(1))
        return feats, emb


def _no_download(monkeypatch):
    import torch.hub

    def boom(*args, **kwargs):
        raise AssertionError('tried to download')

    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', boom)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', boom)


def _loss(**kwargs):
    torch.manual_seed(0)
    return FaceIdentityLoss(face_net=dict(type='_TinyFaceNet'), **kwargs)


def _release_head_rect(kps, h, w):
    """The release's ``find_head_rect``, rewritten for the test."""
    kps = (kps + 1) / 2.0
    min_x = torch.clamp(kps[:, 12:, 0].min(dim=1)[0] - 0.05, min=0.0)
    max_x = torch.clamp(kps[:, 12:, 0].max(dim=1)[0] + 0.05, max=1.0)
    min_y = torch.clamp(kps[:, 12:, 1].min(dim=1)[0] - 0.05, min=0.0)
    max_y = torch.clamp(kps[:, 12:, 1].max(dim=1)[0], max=1.0)
    return torch.stack([(min_x * w).long(), (max_x * w).long(),
                        (min_y * h).long(), (max_y * h).long()], dim=1)


def _kps(batch=1):
    kps = torch.zeros(batch, 19, 2)
    kps[:, 12:, 0] = torch.tensor([-0.2, -0.1, 0.0, 0.1, 0.15, -0.25, 0.2])
    kps[:, 12:, 1] = torch.tensor([-0.3, -0.9, -0.6, -0.7, -0.7, -0.62,
                                   -0.64])
    return kps


def test_head_box_hand_values():
    boxes, valid = head_boxes_from_keypoints(_kps(), image_size=64)
    # u: min 0.375 - 0.05 = 0.325 -> 20.8 -> 20; max 0.6 + 0.05 -> 41.6 -> 41
    # v: min 0.05 - 0.05 = 0 -> 0; max 0.35 (neck, no margin) -> 22.4 -> 22
    assert valid.tolist() == [True]
    assert boxes[0].tolist() == [19.5, -0.5, 40.5, 21.5]
    ref = _release_head_rect(_kps(), 64, 64)[0].tolist()
    assert ref == [20, 41, 0, 22]
    ndc, _ = head_boxes_from_keypoints(_kps(), image_size=64,
                                       box_format='ndc')
    assert torch.allclose(ndc[0], torch.tensor(
        [20 / 32 - 1, -1.0, 41 / 32 - 1, 22 / 32 - 1]))
    # non-square image: x uses W, y uses H
    boxes, _ = head_boxes_from_keypoints(_kps(), image_size=(32, 64))
    ref = _release_head_rect(_kps(), 32, 64)[0].tolist()
    assert boxes[0].tolist() == [ref[0] - 0.5, ref[2] - 0.5, ref[1] - 0.5,
                                 ref[3] - 0.5]
    # unquantised + square + scale: centre and size by hand
    boxes, _ = head_boxes_from_keypoints(
        _kps(), image_size=100, quantize=False, square=True, scale=0.5)
    # x: [32.5, 65] -> c 48.75, half 16.25; y: [0, 35] -> c 17.5, half 17.5
    # square: half 17.5, scaled 8.75
    expected = torch.tensor([48.75 - 8.75, 17.5 - 8.75, 48.75 + 8.75,
                             17.5 + 8.75]) - 0.5
    assert torch.allclose(boxes[0], expected)


def test_head_box_invalid_cases():
    kps = _kps(3)
    kps[1, :, 0] += 5.0  # head far right of the image: empty after clamping
    conf = torch.ones(3, 19, 1)
    conf[2, 12:] = 0.0  # head invisible
    boxes, valid = head_boxes_from_keypoints(torch.cat([kps, conf], -1),
                                             image_size=64)
    assert valid.tolist() == [True, False, False]
    assert boxes[1:].abs().sum() == 0
    # confidences select the joints used
    conf = torch.ones(1, 19, 1)
    conf[0, 17] = 0.0  # drop the leftmost joint (x = -0.25)
    boxes, _ = head_boxes_from_keypoints(
        torch.cat([_kps(), conf], -1), image_size=64)
    assert boxes[0, 0].item() == int((0.4 - 0.05) * 64) - 0.5


def test_crop_known_coloured_square():
    img = -torch.ones(2, 3, 64, 64)
    colour = torch.tensor([0.5, -0.2, 0.8])
    img[:, :, 20:36, 10:30] = colour.view(1, 3, 1, 1)  # rows 20-35, cols 10-29
    box = torch.tensor([[9.5, 19.5, 29.5, 35.5]] * 2)  # pixel extent
    crop = crop_and_resize(img, box, (112, 96))
    assert crop.shape == (2, 3, 112, 96)
    assert torch.allclose(crop, colour.view(1, 3, 1, 1).expand_as(crop),
                          atol=1e-6)
    # cell-centre sampling: the outermost samples blend with the border
    crop = crop_and_resize(img, box, (112, 96), align_corners=False)
    inner = crop[..., 6:-6, 6:-6]
    assert torch.allclose(inner, colour.view(1, 3, 1, 1).expand_as(inner),
                          atol=1e-6)
    ndc = (box + 0.5) / 32 - 1
    crop = crop_and_resize(img, ndc, (112, 96), box_format='ndc')
    assert torch.allclose(crop, colour.view(1, 3, 1, 1).expand_as(crop),
                          atol=1e-6)


def test_crop_matches_release_slicing():
    torch.manual_seed(0)
    img = torch.rand(1, 3, 64, 48)
    x0, x1, y0, y1 = 7, 30, 3, 40
    ref = F.interpolate(img[:, :, y0:y1, x0:x1], size=(112, 96),
                        mode='bilinear', align_corners=True)
    box = torch.tensor([[x0 - 0.5, y0 - 0.5, x1 - 0.5, y1 - 0.5]])
    assert torch.allclose(crop_and_resize(img, box), ref, atol=1e-5)


def test_construction_no_download_random_warning(monkeypatch):
    _no_download(monkeypatch)
    loss = MODELS.build(dict(type='FaceIdentityLoss', loss_weight=5.0,
                             face_net=dict(type='_TinyFaceNet')))
    assert loss.loss_name == 'loss_face' and loss.loss_weight == 5.0
    assert all(not p.requires_grad for p in loss.parameters())
    loss.train()
    assert not loss.net.training


def test_load_pretrained(tmp_path):
    torch.manual_seed(1)
    net = _TinyFaceNet()
    state = dict(net.state_dict())
    state['fc6.weight'] = torch.randn(10, 16)  # the release's classifier
    path = str(tmp_path / 'face.pth')
    torch.save(state, path)
    loss = _loss(pretrained=path)
    for k, v in loss.net.state_dict().items():
        assert torch.equal(v, state[k])
    state.pop('fc5.weight')
    torch.save(state, path)
    with pytest.raises(KeyError, match='fc5.weight'):
        _loss(pretrained=path)


def test_identical_zero_and_gradients():
    loss = _loss(loss_weight=5.0)
    torch.manual_seed(0)
    img = torch.rand(2, 3, 64, 64) * 2 - 1
    boxes = torch.tensor([[10.5, 4.5, 40.5, 40.5], [0.0, 0.0, 63.0, 63.0]])
    assert loss(img, img, boxes=boxes).item() == 0.0
    pred = (torch.rand(2, 3, 64, 64) * 2 - 1).requires_grad_()
    target = img.clone().requires_grad_()
    value = loss(pred, target, boxes=boxes)
    assert value.item() > 0
    value.backward()
    assert pred.grad is not None
    # only the pixels inside the boxes (plus bilinear neighbours) get a grad
    assert pred.grad[0, :, 45:, :].abs().sum() == 0
    assert pred.grad[0, :, 5:40, 11:40].abs().sum() > 0
    assert target.grad is None
    assert all(p.grad is None for p in loss.parameters())


def test_value_weighting_and_invalid_samples():
    loss = _loss(feature_weights=(1, 2, 3, 4, 0.5))
    torch.manual_seed(0)
    pred = torch.rand(3, 3, 64, 64) * 2 - 1
    target = torch.rand(3, 3, 64, 64) * 2 - 1
    boxes = torch.tensor([[10.5, 4.5, 40.5, 40.5], [2.5, 2.5, 2.5, 30.5],
                          [0.0, 0.0, 63.0, 63.0]])  # sample 1 is degenerate

    def by_hand(i):
        fp = loss.net(crop_and_resize(pred[i:i + 1], boxes[i:i + 1]))
        ft = loss.net(crop_and_resize(target[i:i + 1], boxes[i:i + 1]))
        fp, ft = list(fp[0]) + [fp[1]], list(ft[0]) + [ft[1]]
        return sum(w * (a - b).abs().mean()
                   for w, a, b in zip((1, 2, 3, 4, 0.5), fp, ft))

    with torch.no_grad():
        d0, d2 = by_hand(0), by_hand(2)
        assert loss(pred, target, boxes=boxes).item() == pytest.approx(
            ((d0 + d2) / 2).item(), rel=1e-5)
        w = torch.tensor([2.0, 1.0, 0.5])
        assert loss(pred, target, boxes=boxes, weight=w).item() == \
            pytest.approx(((2 * d0 + 0.5 * d2) / 2).item(), rel=1e-5)
        # no valid sample: 0
        assert loss(pred[1:2], target[1:2], boxes=boxes[1:2]).item() == 0.0


def test_keypoints_and_ndc_boxes():
    torch.manual_seed(0)
    pred = torch.rand(1, 3, 64, 64) * 2 - 1
    target = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        boxes, _ = head_boxes_from_keypoints(_kps(), image_size=64)
        by_box = _loss()(pred, target, boxes=boxes)
        by_kps = _loss()(pred, target, keypoints=_kps())
        ndc = (boxes + 0.5) / 32 - 1
        by_ndc = _loss(box_format='ndc')(pred, target, boxes=ndc)
        whole = _loss()(pred, target)
        ref = _loss()(F.interpolate(pred, (112, 96), mode='bilinear',
                                    align_corners=True),
                      F.interpolate(target, (112, 96), mode='bilinear',
                                    align_corners=True))
    assert by_kps.item() == pytest.approx(by_box.item())
    assert by_ndc.item() == pytest.approx(by_box.item(), rel=1e-5)
    assert whole.item() == pytest.approx(ref.item())


def test_config_face_loss_builds_with_stand_in():
    cfg = Config.fromfile('configs/_base_/models/lwgan_losses.py')
    face = dict(cfg.face_loss, face_net=dict(type='_TinyFaceNet'))
    loss = MODELS.build(face)
    assert loss.loss_weight == 5.0
    assert loss.feature_weights == (1.0, ) * 5
    assert loss.head_indices == tuple(range(12, 19))


@pytest.mark.skipif(not HAS_SPHEREFACE, reason='SphereFace20a not written')
def test_real_sphereface(monkeypatch):
    _no_download(monkeypatch)
    loss = FaceIdentityLoss(loss_weight=5.0)
    torch.manual_seed(0)
    img = torch.rand(1, 3, 64, 64) * 2 - 1
    box = torch.tensor([[10.5, 4.5, 40.5, 40.5]])
    assert loss(img, img, boxes=box).item() == 0.0
    pred = (torch.rand(1, 3, 64, 64) * 2 - 1).requires_grad_()
    value = loss(pred, img, boxes=box)
    value.backward()
    assert value.item() > 0 and pred.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.parameters())


@pytest.mark.skipif(not HAS_SPHEREFACE, reason='SphereFace20a not written')
def test_real_sphereface_pretrained_path(tmp_path, monkeypatch):
    _no_download(monkeypatch)
    torch.manual_seed(3)
    net = losses_pkg.SphereFace20a()
    state = dict(net.state_dict())
    state['fc6.weight'] = torch.randn(4, 512)  # the release's classifier
    path = str(tmp_path / 'sphere20a.pth')
    torch.save(state, path)
    loss = FaceIdentityLoss(pretrained=path)
    assert loss.net.checkpoint == path
    for k, v in loss.net.state_dict().items():
        assert torch.equal(v, state[k]), k
    with torch.no_grad():
        loss.net.fc5.weight.zero_()
    loss.init_weights()  # a parent's initialiser is undone
    assert torch.equal(loss.net.fc5.weight, state['fc5.weight'])


def test_random_init_warns_once(monkeypatch):
    import mmlwgan.utils.logging as lg
    msgs = []
    monkeypatch.setattr(lg, 'print_log',
                        lambda msg, **kw: msgs.append(msg))
    monkeypatch.setattr(lg, '_SEEN', set())
    _loss()
    _loss()
    assert len(msgs) == 1 and 'randomly initialised' in msgs[0]
    if HAS_SPHEREFACE:  # the network's own warning only, once
        msgs.clear()
        FaceIdentityLoss()
        FaceIdentityLoss()
        assert len(msgs) == 1 and 'SphereFace20a' in msgs[0]

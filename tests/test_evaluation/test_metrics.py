# Copyright (c) mmlwgan contributors. All rights reserved.
"""Registered metrics: mmengine's Evaluator, weight loading, offline."""
import math
import socket

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator

from mmlwgan.evaluation import (FReIDMetric, InceptionScoreMetric,
                                LPIPSMetric, MaskedL1Metric, PSNRMetric,
                                SSIMMetric)
from mmlwgan.evaluation.feature_nets import (InceptionV3Classifier, LPIPSNet,
                                             PretrainedKeyError, ReIDResNet)
from mmlwgan.evaluation.functional import (feature_stats, frechet_distance,
                                           inception_score, lpips_distance,
                                           masked_l1, psnr, ssim)
from mmlwgan.evaluation.metrics import mask_bbox
from mmlwgan.registry import METRICS
from mmlwgan.structures import LWGANDataSample


def _samples(n=3, size=32, seed=0, same=False):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        gt = torch.rand(3, size, size, generator=g) * 2 - 1
        pred = gt.clone() if same else (
            gt + 0.2 * torch.randn(3, size, size, generator=g)).clamp(-1, 1)
        mask = torch.zeros(1, size, size)
        mask[:, 4:size - 6, 8:size - 10] = 1
        s = LWGANDataSample(metainfo=dict(
            video_id='001/1/1', tgt_frame_id=i, src_frame_ids=[0]))
        s.pred_img, s.gt_img, s.body_mask = pred, gt, mask
        s.warped_img = gt.clone()
        out.append(s)
    return out


def _evaluate(metrics, samples):
    evaluator = Evaluator(metrics)
    evaluator.process(data_samples=samples, data_batch=None)  # -> dicts
    return evaluator.evaluate(len(samples))


def test_pixel_metrics_through_evaluator():
    samples = _samples()
    res = _evaluate([SSIMMetric(), PSNRMetric(), MaskedL1Metric()], samples)
    assert set(res) == {'SSIM', 'PSNR', 'MaskedL1', 'L1'}
    assert res['SSIM'] == pytest.approx(
        np.mean([ssim(s.pred_img, s.gt_img) for s in samples]))
    assert res['PSNR'] == pytest.approx(
        np.mean([psnr(s.pred_img, s.gt_img) for s in samples]))
    assert res['MaskedL1'] == pytest.approx(np.mean(
        [float(masked_l1(s.pred_img, s.gt_img, s.body_mask))
         for s in samples]))
    assert res['L1'] == pytest.approx(np.mean(
        [float((s.pred_img - s.gt_img).abs().mean()) for s in samples]))
    assert 0 < res['SSIM'] < 1


def test_metrics_accept_data_elements_and_prefix():
    samples = _samples(2, same=True)
    metric = SSIMMetric(prefix='self_imitation')
    metric.process(None, samples)  # BaseDataElement, not dicts
    assert metric.evaluate(2) == {'self_imitation/SSIM': pytest.approx(1.0)}
    metric = PSNRMetric()
    metric.process(None, [s.to_dict() for s in samples])
    assert metric.evaluate(2) == {'PSNR': float('inf')}


def test_registry_builds():
    metric = METRICS.build(dict(type='SSIMMetric', gaussian_weights=True))
    assert isinstance(metric, SSIMMetric)
    evaluator = Evaluator([dict(type='mmlwgan.PSNRMetric'),
                           dict(type='mmlwgan.MaskedL1Metric',
                                full_image=False)])
    samples = _samples(2)
    evaluator.process(samples)
    assert set(evaluator.evaluate(2)) == {'PSNR', 'MaskedL1'}


def test_masked_l1_metric_hand_values_and_empty_mask():
    s1 = LWGANDataSample()
    s1.pred_img = torch.zeros(3, 2, 2)
    s1.gt_img = torch.zeros(3, 2, 2)
    s1.gt_img[:, 0, 0] = 1.
    s1.body_mask = torch.tensor([[[1., 1.], [0., 0.]]])
    s2 = LWGANDataSample()
    s2.pred_img = torch.zeros(3, 2, 2)
    s2.gt_img = torch.full((3, 2, 2), 0.5)
    s2.body_mask = torch.zeros(1, 2, 2)  # empty: left out of MaskedL1
    res = _evaluate([MaskedL1Metric()], [s1, s2])
    assert res['MaskedL1'] == pytest.approx(0.5)
    assert res['L1'] == pytest.approx((0.25 + 0.5) / 2)
    res = _evaluate([MaskedL1Metric()], [s2])
    assert math.isnan(res['MaskedL1'])


def test_quantize_option():
    samples = _samples(1)
    m = PSNRMetric(quantize=True)
    m.process(None, samples)
    q = [torch.round((x.clamp(-1, 1) + 1) * 127.5).byte()
         for x in (samples[0].pred_img, samples[0].gt_img)]
    expected = psnr(q[0].permute(1, 2, 0).numpy(),
                    q[1].permute(1, 2, 0).numpy())
    assert m.evaluate(1)['PSNR'] == pytest.approx(expected)


# ------------------------------------------------------------ LPIPS


def _lpips_state_dict(seed=0):
    """A state dict with the lpips package's key names, random values."""
    torch.manual_seed(seed)
    net = LPIPSNet('alex')
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    for k in sd:
        if k.startswith('lin'):
            sd[k] = torch.rand_like(sd[k]) * 0.1
    return sd


def test_lpips_metric_random_init_label_and_zero():
    metric = LPIPSMetric()
    assert metric.key_suffix == '_randinit'
    res = _evaluate([metric], _samples(2, same=True))
    assert list(res) == ['LPIPS_randinit']
    assert res['LPIPS_randinit'] == pytest.approx(0., abs=1e-6)


def test_lpips_metric_loads_weights(tmp_path):
    sd = _lpips_state_dict()
    assert 'net.slice1.0.weight' in sd and 'lin0.model.1.weight' in sd
    path = tmp_path / 'lpips_alex.pth'
    torch.save(sd, str(path))
    metric = LPIPSMetric(pretrained=str(path))
    for k, v in sd.items():
        torch.testing.assert_close(metric.net.state_dict()[k], v)
    samples = _samples(3)
    res = _evaluate([metric], samples)
    assert list(res) == ['LPIPS']
    with torch.no_grad():
        expected = lpips_distance(metric.net,
                                  torch.stack([s.pred_img for s in samples]),
                                  torch.stack([s.gt_img for s in samples]))
    assert res['LPIPS'] == pytest.approx(float(expected.mean()), rel=1e-5)
    assert res['LPIPS'] > 0

    # torchvision backbone names + the package's linear-layer file
    tv = {}
    for k, v in sd.items():
        if k.startswith('net.slice'):
            tv['features.' + k.split('.', 2)[2]] = v
    tv['classifier.1.weight'] = torch.zeros(2, 2)  # ignored
    lin = {k: v for k, v in sd.items() if k.startswith('lin')}
    torch.save(tv, str(tmp_path / 'alexnet.pth'))
    torch.save(lin, str(tmp_path / 'alex.pth'))
    net = LPIPSNet('alex', pretrained=[str(tmp_path / 'alexnet.pth'),
                                       str(tmp_path / 'alex.pth')])
    for k, v in sd.items():
        torch.testing.assert_close(net.state_dict()[k], v)


def test_lpips_missing_key_is_a_clear_error(tmp_path):
    sd = _lpips_state_dict()
    del sd['lin0.model.1.weight']
    path = tmp_path / 'bad.pth'
    torch.save(sd, str(path))
    with pytest.raises(PretrainedKeyError, match='lin0.model.1.weight'):
        LPIPSMetric(pretrained=str(path))
    # PretrainedKeyError is a KeyError
    with pytest.raises(KeyError, match='lin0.model.1.weight'):
        LPIPSNet(pretrained=str(path))
    with pytest.raises(FileNotFoundError, match='downloads nothing'):
        LPIPSNet(pretrained=str(tmp_path / 'absent.pth'))
    sd = _lpips_state_dict()
    sd['lin1.model.1.weight'] = torch.zeros(1, 7, 1, 1)
    torch.save(sd, str(path))
    with pytest.raises(ValueError, match='shape mismatch'):
        LPIPSNet(pretrained=str(path))


def test_nothing_is_downloaded(monkeypatch):
    import torch.hub
    import torchvision.models._api as tv_api

    def forbid(*args, **kwargs):
        raise AssertionError('download attempted')

    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', forbid)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', forbid)
    if hasattr(tv_api, 'load_state_dict_from_url'):
        monkeypatch.setattr(tv_api, 'load_state_dict_from_url', forbid)
    monkeypatch.setattr(socket.socket, 'connect', forbid)
    LPIPSMetric()
    LPIPSMetric(net='vgg')
    InceptionScoreMetric()
    FReIDMetric()


# ------------------------------------------------------------ IS


def test_inception_score_metric(tmp_path):
    samples = _samples(3, size=48)
    metric = InceptionScoreMetric(prefix='cross')
    res = _evaluate([metric], samples)
    assert set(res) == {'cross/IS_randinit', 'cross/IS_std_randinit'}
    assert 1. - 1e-9 <= res['cross/IS_randinit'] <= 3. + 1e-9
    assert res['cross/IS_std_randinit'] == 0.

    # torchvision's checkpoint layout, with the aux classifier
    from torchvision.models import inception_v3
    torch.manual_seed(1)
    full = inception_v3(weights=None, aux_logits=True, init_weights=False)
    sd = full.state_dict()
    assert any(k.startswith('AuxLogits.') for k in sd)
    torch.save(sd, str(tmp_path / 'inception.pth'))
    metric = InceptionScoreMetric(pretrained=str(tmp_path / 'inception.pth'))
    res = _evaluate([metric], samples)
    assert set(res) == {'IS', 'IS_std'}
    full.eval()
    with torch.no_grad():
        x = torch.stack([s.pred_img for s in samples])
        x = torch.nn.functional.interpolate(x, size=(299, 299),
                                            mode='bilinear',
                                            align_corners=False)
        probs = torch.softmax(full(x).double(), dim=1)
    assert res['IS'] == pytest.approx(inception_score(probs)[0], rel=1e-4)


# ------------------------------------------------------------ FReID


def test_mask_bbox():
    mask = torch.zeros(1, 20, 10)
    mask[0, 5:15, 2:6] = 1
    assert mask_bbox(mask) == (2, 5, 6, 15)
    assert mask_bbox(mask, pad=0.5) == (0, 0, 8, 20)
    assert mask_bbox(torch.zeros(20, 10)) is None


def _reid_kwargs():
    return dict(depth=18, input_size=(32, 16))


def test_freid_metric_values_and_crop():
    # identical generated and real people -> 0
    same = _samples(4, size=32, same=True)
    res = _evaluate([FReIDMetric(**_reid_kwargs())], same)
    assert list(res) == ['FReID_randinit']
    assert res['FReID_randinit'] == pytest.approx(0., abs=1e-6)
    different = _samples(4, size=32, seed=3)
    res = _evaluate([FReIDMetric(**_reid_kwargs())], different)
    assert res['FReID_randinit'] > 1e-4

    # only the (padded) mask box is seen: pixels outside do not matter
    metric = FReIDMetric(bbox_pad=0., **_reid_kwargs())
    metric.process(None, same[:2])
    altered = _samples(2, size=32, same=True)
    for s in altered:
        s.pred_img[:, :4] = 0.3     # rows above the box
        s.pred_img[:, :, -10:] = -0.7  # columns right of the box
    metric.process(None, altered)
    r = metric.results
    np.testing.assert_allclose(r[0]['pred_feat'], r[2]['pred_feat'], atol=1e-6)
    np.testing.assert_allclose(r[2]['pred_feat'], r[2]['gt_feat'], atol=1e-6)
    # the value is the Fréchet distance of the stored features
    res = metric.compute_metrics(r)
    mu1, s1 = feature_stats(np.stack([x['pred_feat'] for x in r]))
    mu2, s2 = feature_stats(np.stack([x['gt_feat'] for x in r]))
    assert res['FReID_randinit'] == pytest.approx(
        frechet_distance(mu1, s1, mu2, s2), abs=1e-8)
    assert math.isnan(metric.compute_metrics(r[:1])['FReID_randinit'])


def test_reid_loads_layumi_style_weights(tmp_path):
    torch.manual_seed(2)
    src = ReIDResNet(**_reid_kwargs())
    sd = {'model.' + k: v for k, v in src.backbone.state_dict().items()}
    sd['classifier.add_block.0.weight'] = torch.zeros(4, 4)
    torch.save(sd, str(tmp_path / 'net_last.pth'))
    metric = FReIDMetric(pretrained=str(tmp_path / 'net_last.pth'),
                         **_reid_kwargs())
    for k, v in src.backbone.state_dict().items():
        torch.testing.assert_close(metric.net.backbone.state_dict()[k], v)
    res = _evaluate([metric], _samples(3, same=True))
    assert list(res) == ['FReID']
    del sd['model.layer1.0.conv1.weight']
    torch.save(sd, str(tmp_path / 'bad.pth'))
    with pytest.raises(PretrainedKeyError, match='layer1.0.conv1.weight'):
        ReIDResNet(pretrained=str(tmp_path / 'bad.pth'), **_reid_kwargs())


def test_feature_nets_stay_in_eval_mode():
    for net in (LPIPSNet(), InceptionV3Classifier(), ReIDResNet(depth=18)):
        net.train()
        assert not net.training
        assert not any(p.requires_grad for p in net.parameters())

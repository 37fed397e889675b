# Copyright (c) mmlwgan contributors. All rights reserved.
"""COCO-17 -> COCO-plus-19 mapping and the mmpose keypoint estimator."""
import numpy as np
import pytest

from mmlwgan.models.body.smpl import COCOPLUS_JOINT_NAMES
from mmlwgan.preprocessing import (COCO17_JOINT_NAMES, COCO17_TO_COCOPLUS19,
                                   coco17_to_cocoplus19)

RTMPOSE_S = ('mmpose::body_2d_keypoint/rtmpose/coco/'
             'rtmpose-s_8xb256-420e_coco-256x192.py')


@pytest.fixture
def no_download(monkeypatch):
    import mmengine.runner.checkpoint as ckpt
    import torch.hub

    def refuse(*args, **kwargs):
        raise AssertionError(f'attempted download: {args[:1]}')

    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', refuse)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', refuse)
    monkeypatch.setattr(ckpt, 'load_from_http', refuse)
    monkeypatch.setattr(ckpt, 'load_url', refuse)
    # CheckpointLoader keeps its own references to the scheme loaders.
    for prefix in ('http://', 'https://'):
        monkeypatch.setitem(ckpt.CheckpointLoader._schemes, prefix, refuse)
    with pytest.raises(AssertionError, match='attempted download'):
        ckpt.CheckpointLoader.load_checkpoint('https://example.com/x.pth')
    with pytest.raises(AssertionError, match='attempted download'):
        ckpt.CheckpointLoader.load_checkpoint('open-mmlab://resnet50_v1c')


def test_mapping_table():
    assert len(COCO17_TO_COCOPLUS19) == 19
    for j, name in enumerate(COCOPLUS_JOINT_NAMES):
        src = COCO17_TO_COCOPLUS19[j]
        if name in ('neck', 'head_top'):
            assert src == -1
        else:
            assert COCO17_JOINT_NAMES[src] == name


def test_coco17_to_cocoplus19():
    kpts = np.arange(2 * 17 * 2, dtype=np.float32).reshape(2, 17, 2)
    scores = np.linspace(0.1, 0.9, 34, dtype=np.float32).reshape(2, 17)
    out, conf = coco17_to_cocoplus19(kpts, scores)
    assert out.shape == (2, 19, 2) and conf.shape == (2, 19)
    names = COCOPLUS_JOINT_NAMES
    r_ankle = COCO17_JOINT_NAMES.index('right_ankle')
    np.testing.assert_array_equal(out[:, names.index('right_ankle')],
                                  kpts[:, r_ankle])
    np.testing.assert_array_equal(conf[:, names.index('nose')], scores[:, 0])
    for missing in ('head_top', 'neck'):
        assert (conf[:, names.index(missing)] == 0).all()
        assert (out[:, names.index(missing)] == 0).all()
    out, conf = coco17_to_cocoplus19(kpts, scores, neck='shoulders')
    ls, rs = (COCO17_JOINT_NAMES.index(n)
              for n in ('left_shoulder', 'right_shoulder'))
    np.testing.assert_allclose(out[:, names.index('neck')],
                               (kpts[:, ls] + kpts[:, rs]) / 2)
    np.testing.assert_allclose(conf[:, names.index('neck')],
                               np.minimum(scores[:, ls], scores[:, rs]))
    _, conf = coco17_to_cocoplus19(kpts[0])  # no scores: 1
    assert conf.sum() == 17
    with pytest.raises(ValueError, match=r'keypoints should be \(\.\.\., 17'):
        coco17_to_cocoplus19(np.zeros((18, 2)))


def test_keypoint_estimator_random_rtmpose(no_download):
    pytest.importorskip('mmpose')
    from mmengine.registry import DefaultScope

    from mmlwgan.preprocessing import KeypointEstimator

    def state():
        cur = DefaultScope.get_current_instance()
        return None if cur is None else (cur.instance_name, cur.scope_name)

    with DefaultScope.overwrite_default_scope('mmlwgan'):
        before = state()
        est = KeypointEstimator(RTMPOSE_S, None, flip_test=False)
        assert state() == before
        assert est.model.cfg.model.backbone.init_cfg is None
        img = (np.random.default_rng(0).random((64, 48, 3)) * 255).astype(
            np.uint8)
        boxes = np.array([[4, 4, 40, 60], [10, 20, 30, 50]], np.float32)
        kpts, scores = est(img, boxes)
        assert state() == before
        assert kpts.shape == (2, 17, 2) and scores.shape == (2, 17)
        assert kpts.dtype == np.float32 and scores.dtype == np.float32
        plus, conf = est.predict_cocoplus(img, boxes[:1])
        assert plus.shape == (1, 19, 2) and conf.shape == (1, 19)
        assert conf[0, COCOPLUS_JOINT_NAMES.index('head_top')] == 0
        empty, empty_scores = est(img, np.zeros((0, 4)))
        assert empty.shape == (0, 17, 2) and empty_scores.shape == (0, 17)
    assert est.keypoint_names == COCO17_JOINT_NAMES

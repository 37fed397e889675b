# Copyright (c) mmlwgan contributors. All rights reserved.
"""Person detectors and the one-person tracker."""
import numpy as np
import pytest

from mmlwgan.preprocessing import (FixedBoxDetector, NoPersonError,
                                   PersonTracker, WholeFrameDetector, box_iou,
                                   load_mm_config, strip_pretrained_init_cfg)

RTMDET_TINY = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'


@pytest.fixture
def no_download(monkeypatch):
    """Make every download path of torch / mmengine raise."""
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


def _scope_state():
    from mmengine.registry import DefaultScope
    cur = DefaultScope.get_current_instance()
    return None if cur is None else (cur.instance_name, cur.scope_name)


def test_whole_frame_and_fixed_box():
    img = np.zeros((30, 40, 3), np.uint8)
    boxes, scores = WholeFrameDetector()(img)
    np.testing.assert_array_equal(boxes, [[-0.5, -0.5, 39.5, 29.5]])
    assert boxes.dtype == np.float32 and scores.tolist() == [1.0]

    det = FixedBoxDetector([5, 6, 20, 50])
    boxes, scores = det(img)
    np.testing.assert_array_equal(boxes, [[5, 6, 20, 29.5]])  # clipped
    assert FixedBoxDetector([50, 0, 60, 10])(img)[0].shape == (0, 4)
    with pytest.raises(ValueError, match='with x2 > x1 and y2 > y1'):
        FixedBoxDetector([10, 10, 5, 20])
    with pytest.raises(ValueError, match=r'should be \(H, W, 3\) uint8 RGB'):
        WholeFrameDetector()(np.zeros((4, 4), np.float32))


def test_box_iou():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 1 / 3, 0.0]])


def _dets(*frames):
    return [(np.asarray(f, np.float32).reshape(-1, 4),
             np.linspace(0.9, 0.5, len(f)).astype(np.float32))
            for f in frames]


def test_tracker_keeps_one_person():
    big = [0, 0, 20, 40]
    small = [50, 0, 60, 20]
    # The other person grows larger than the tracked one, the track stays.
    dets = _dets([small, big], [[50, 0, 75, 50], [1, 0, 21, 40]],
                 [[2, 0, 22, 40], [48, 0, 80, 60]])
    boxes, scores = PersonTracker().track(dets)
    np.testing.assert_array_equal(boxes, [big, [1, 0, 21, 40],
                                          [2, 0, 22, 40]])
    assert (scores > 0).all()


def test_tracker_fills_short_gaps():
    dets = _dets([], [[0, 0, 10, 10]], [], [], [[3, 0, 13, 10]], [])
    boxes, scores = PersonTracker(max_gap=2).track(dets)
    np.testing.assert_allclose(boxes[:, 0], [0, 0, 1, 2, 3, 3])
    np.testing.assert_array_equal(scores == 0,
                                  [True, False, True, True, False, True])
    # An unrelated box (no overlap) does not continue the track.
    dets = _dets([[0, 0, 10, 10]], [[40, 40, 50, 50]], [[1, 0, 11, 10]])
    boxes, scores = PersonTracker(max_gap=1).track(dets)
    np.testing.assert_allclose(boxes[1], [0.5, 0, 10.5, 10])
    assert scores[1] == 0


def test_tracker_errors():
    with pytest.raises(NoPersonError, match='frame 0') as info:
        PersonTracker().track(_dets([], [], []))
    assert info.value.frame_index == 0
    dets = _dets([[0, 0, 10, 10]], [[0, 0, 10, 10]], [], [],
                 [[0, 0, 10, 10]])
    with pytest.raises(NoPersonError, match='frame 2') as info:
        PersonTracker(max_gap=1).track(dets)
    assert info.value.frame_index == 2
    with pytest.raises(NoPersonError, match='frame 1'):
        PersonTracker(max_gap=0).track(_dets([[0, 0, 1, 1]], []))
    assert issubclass(NoPersonError, ValueError)


def test_strip_pretrained_init_cfg():
    cfg = dict(
        backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='http://x')),
        neck=dict(init_cfg=[
            dict(type='Kaiming', layer='Conv2d'),
            dict(type='Pretrained', checkpoint='a.pth')
        ]),
        head=dict(pretrained='https://y', layers=[dict(init_cfg=dict(
            type='Pretrained', prefix='x', checkpoint='z'))]))
    strip_pretrained_init_cfg(cfg)
    assert cfg['backbone']['init_cfg'] is None
    assert cfg['neck']['init_cfg'] == [dict(type='Kaiming', layer='Conv2d')]
    assert cfg['head']['pretrained'] is None
    assert cfg['head']['layers'][0]['init_cfg'] is None
    rtm = load_mm_config(RTMDET_TINY)
    assert rtm.model.backbone.init_cfg is None
    with pytest.raises(FileNotFoundError,
                       match='config file .*no/such_config.py not found'):
        load_mm_config('mmdet::no/such_config.py')


def test_person_detector_random_rtmdet(no_download, tmp_path):
    pytest.importorskip('mmdet')
    from mmengine.registry import DefaultScope

    from mmlwgan.preprocessing import PersonDetector
    with DefaultScope.overwrite_default_scope('mmlwgan'):
        before = _scope_state()
        det = PersonDetector(RTMDET_TINY, None, score_thr=0.0, input_size=96)
        assert _scope_state() == before
        img = (np.random.default_rng(0).random((72, 96, 3)) * 255).astype(
            np.uint8)
        boxes, scores = det(img)
        assert _scope_state() == before
    assert boxes.dtype == np.float32 and boxes.ndim == 2
    assert boxes.shape[1] == 4 and scores.shape == (len(boxes), )
    assert (np.diff(scores) <= 0).all()
    assert det.label == 0  # COCO's person
    results = det.detect_batch([img, img[:48]])
    assert len(results) == 2
    with pytest.raises(ValueError, match='URL'):
        PersonDetector(RTMDET_TINY, 'https://example.com/rtmdet.pth')
    with pytest.raises(FileNotFoundError,
                       match='checkpoint .*missing.pth not found'):
        PersonDetector(RTMDET_TINY, str(tmp_path / 'missing.pth'))


def test_person_segmenter_random_rtmdet_ins(no_download):
    pytest.importorskip('mmdet')
    from mmlwgan.preprocessing import PersonSegmenter
    seg = PersonSegmenter('mmdet::rtmdet/rtmdet-ins_tiny_8xb32-300e_coco.py',
                          None, score_thr=0.0, input_size=96, iou_thr=0.0)
    img = (np.random.default_rng(0).random((72, 96, 3)) * 255).astype(
        np.uint8)
    # Random weights rarely say 'person': take the class they do predict.
    result = seg._run([img])[0]
    seg.label = int(result.pred_instances.labels[0])
    mask = seg(img, [10, 10, 50, 60])
    assert mask.shape == (72, 96) and mask.dtype == bool
    seg.iou_thr = 1.01  # nothing overlaps that much
    assert seg(img, [10, 10, 50, 60]) is None

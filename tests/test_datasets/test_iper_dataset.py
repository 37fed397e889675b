# Copyright (c) mmlwgan contributors. All rights reserved.
import json
import os
import os.path as osp
import pickle
import shutil
import struct

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader

from mmlwgan.datasets import (IPERDataError, IPERDataset,
                              IPERMissingFileError, load_pose_shape)
from mmlwgan.synthetic import iper as si

TINY = dict(num_actors=2, num_clothes=1, num_actions=2, num_frames=8,
            image_size=64, seed=0)
TRAIN = ['001/1/1', '001/1/2']
VAL = ['002/1/1', '002/1/2']


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('iper') / 'data')
    si.make_synthetic_iper(out, write_mp4=True, **TINY)
    return out


@pytest.fixture(scope='module')
def renderer(tiny):
    from mmlwgan.visualization import BodyRenderer
    return BodyRenderer(
        dict(type='SMPL', model_path=osp.join(tiny, 'smpl_model.npz')),
        image_size=64)


def _dataset(root, **kwargs):
    kwargs.setdefault('ann_file', 'train.txt')
    kwargs.setdefault('pipeline', [dict(type='LoadPairFrames')])
    return IPERDataset(data_root=root, **kwargs)


def test_load_data_list(tiny):
    ds = _dataset(tiny)
    assert ds.video_ids == TRAIN
    info = ds.video_info(0)
    assert info['video_id'] == '001/1/1' and info['num_frames'] == 8
    assert info['frame_names'][0] == '000.jpg'
    assert info['smpl'].shape == (8, 85) and info['smpl'].dtype == np.float32
    assert info['kps'].shape == (8, 19, 2)
    # n_frames / 10 pairs per video, at least one
    assert len(ds) == 2
    assert len(_dataset(tiny, sample_ratio=0.5)) == 8
    assert len(_dataset(tiny, pairs_per_video=5)) == 10
    assert ds.metainfo['dataset_name'] == 'iPER'
    assert len(ds.metainfo['keypoint_names']) == 19


def test_frames_match_stored_smpl(tiny, renderer):
    """The frames are the renders of the stored thetas: the silhouette of
    the re-rasterized theta covers the non-background pixels, and the stored
    keypoints are the projected COCO-plus joints, on the body."""
    ds = _dataset(tiny, pairs_per_video=4, seed=3)
    for i in range(len(ds)):
        item = ds[i]
        theta = torch.from_numpy(item['tgt_smpl'])[None]
        with torch.no_grad():
            _, _, frags = renderer.render(theta[:, 3:75], theta[:, 75:],
                                          theta[:, :3])
            out = renderer.body_model(theta[:, 3:75], theta[:, 75:])
            kps = renderer.project(out['keypoints_extra'],
                                   theta[:, :3])[0, :, :2].numpy()
        sil = (frags.face_idx[0] >= 0).numpy()
        bg = si.video_background(0, item['video_id'], 64)
        diff = np.abs(item['tgt_img'] / 255.0 - bg).max(-1)
        body = diff > 0.1
        iou = (body & sil).sum() / (body | sil).sum()
        assert iou > 0.9, (item['video_id'], item['tgt_frame_id'], iou)
        np.testing.assert_allclose(item['tgt_kps'], kps, atol=1e-4)
        px = np.clip(np.round((kps + 1) / 2 * 64 - 0.5), 0, 63).astype(int)
        grown = cv2.dilate(sil.astype(np.uint8), np.ones((3, 3), np.uint8))
        assert grown[px[:, 1], px[:, 0]].all()


def test_train_pair_sampling(tiny):
    ds = _dataset(tiny, pipeline=[], pairs_per_video=50, src_range=5,
                  num_sources=2)
    targets = set()
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['video_id'] == info['tgt_video_id'] == TRAIN[i // 50]
        assert info['task'] == 'train'
        srcs = info['src_frame_ids']
        assert len(srcs) == 2 and len(set(srcs)) == 2
        assert all(0 <= s < 5 for s in srcs)
        assert 0 <= info['tgt_frame_id'] < 8
        targets.add(info['tgt_frame_id'])
        smpl = ds.video_info(i // 50)['smpl']
        np.testing.assert_array_equal(info['src_smpl'], smpl[srcs])
        np.testing.assert_array_equal(info['tgt_smpl'],
                                      smpl[info['tgt_frame_id']])
        assert info['src_kps'].shape == (2, 19, 2)
    assert targets == set(range(8))  # targets anywhere in the video
    # a seed makes the pairs a function of the index
    a = _dataset(tiny, pipeline=[], pairs_per_video=5, seed=7)
    b = _dataset(tiny, pipeline=[], pairs_per_video=5, seed=7)
    assert [a.get_data_info(i)['src_frame_ids'] for i in range(10)] == \
        [b.get_data_info(i)['src_frame_ids'] for i in range(10)]
    # src_range larger than the video, more sources than frames: still valid
    ds = _dataset(tiny, pipeline=[], num_sources=10)
    assert all(0 <= s < 8 for s in ds.get_data_info(0)['src_frame_ids'])


def test_test_mode_protocol(tiny):
    ds = _dataset(tiny, ann_file='val.txt', test_mode=True,
                  protocol_file='iPER_protocol.json', test_interval=3,
                  pipeline=[])
    with open(osp.join(tiny, 'iPER_protocol.json')) as f:
        proto = json.load(f)['val']
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert len(ds) == 2 * 3  # frames 0, 3, 6 of both videos
    for info in infos:
        assert info['task'] == 'self_imitation'
        assert info['src_frame_ids'] == [0]  # s_n["1"] = ["000.jpg"]
        assert info['tgt_video_id'] == info['video_id']
    assert [i['tgt_frame_id'] for i in infos[:3]] == [0, 3, 6]
    # deterministic
    again = _dataset(tiny, ann_file='val.txt', test_mode=True,
                     protocol_file='iPER_protocol.json', test_interval=3,
                     pipeline=[])
    assert [again.get_data_info(i)['src_frame_ids'] for i in range(6)] == \
        [i['src_frame_ids'] for i in infos]
    # two sources from s_n["2"]
    ds2 = _dataset(tiny, ann_file='val.txt', test_mode=True, num_sources=2,
                   protocol_file='iPER_protocol.json', pipeline=[])
    names = proto['002/1/1']['s_n']['2']
    assert ds2.get_data_info(0)['src_frame_ids'] == [
        int(n.split('.')[0]) for n in names
    ]
    # cross-imitation: the protocol's target video and range (a video of
    # the train split, loaded for it)
    cross = _dataset(tiny, ann_file='val.txt', test_mode=True,
                     protocol_file='iPER_protocol.json',
                     test_task='cross_imitation')
    entry = proto['002/1/1']['cross_imitation']
    item = cross[0]
    assert item['tgt_video_id'] == entry['target'] != item['video_id']
    assert item['tgt_frame_id'] == entry['range'][0]
    lo, hi = entry['range']
    assert sum(cross.get_data_info(i)['video_id'] == '002/1/1'
               for i in range(len(cross))) == hi - lo + 1
    # without a protocol: the first frame and every k-th target
    plain = _dataset(tiny, ann_file='val.txt', test_mode=True,
                     test_interval=4, pipeline=[])
    assert [(i['video_id'], i['src_frame_ids'], i['tgt_frame_id'])
            for i in map(plain.get_data_info, range(len(plain)))] == [
                ('002/1/1', [0], 0), ('002/1/1', [0], 4),
                ('002/1/2', [0], 0), ('002/1/2', [0], 4)
            ]


def test_mp4_videos(tiny, tmp_path):
    """Without frame folders the 256 px release's videos
    (iPER_256_video_release/<actor>_<cloth>_<action>.mp4) are read."""
    root = str(tmp_path / 'videos_only')
    shutil.copytree(tiny, root, ignore=shutil.ignore_patterns('images'))
    ds = _dataset(root, pairs_per_video=3, seed=0)
    assert ds.video_info(0)['video_path'].endswith('001_1_1.mp4')
    assert ds.video_info(0)['num_frames'] == 8
    ref = _dataset(tiny, pairs_per_video=3, seed=0)
    for i in range(len(ds)):
        a, b = ds[i], ref[i]
        assert a['src_frame_ids'] == b['src_frame_ids']
        assert a['tgt_img'].shape == b['tgt_img'].shape == (64, 64, 3)
        diff = np.abs(a['tgt_img'].astype(float) - b['tgt_img']).mean()
        assert diff < 12  # lossy mp4 vs jpg of the same frame
    # images/<actor>/<cloth>/<action>.mp4 works too
    os.makedirs(osp.join(root, 'images', '001', '1'))
    shutil.move(osp.join(root, 'iPER_256_video_release', '001_1_1.mp4'),
                osp.join(root, 'images', '001', '1', '1.mp4'))
    ds = _dataset(root)
    assert ds.video_info(0)['video_path'].endswith(
        osp.join('images', '001', '1', '1.mp4'))


def test_dataloader_to_preprocessor(tiny):
    from mmlwgan.models.data_preprocessors.lwgan_preprocessor import \
        LWGANDataPreprocessor
    pipeline = [
        dict(type='LoadPairFrames'),
        dict(type='ResizeFrames', scale=32),
        dict(type='PackLWGANInputs')
    ]
    ds = _dataset(tiny, pipeline=pipeline, pairs_per_video=3, num_sources=2)
    loader = DataLoader(ds, batch_size=3, collate_fn=pseudo_collate)
    batch = next(iter(loader))
    assert len(batch['data_samples']) == 3
    out = LWGANDataPreprocessor()(batch, training=True)
    inputs, samples = out['inputs'], out['data_samples']
    assert inputs['src_img'].shape == (3, 2, 3, 32, 32)
    assert inputs['tgt_img'].shape == (3, 3, 32, 32)
    assert inputs['src_smpl'].shape == (3, 2, 85)
    assert inputs['tgt_smpl'].shape == (3, 85)
    for key in ('src_img', 'tgt_img'):
        assert inputs[key].dtype == torch.float32
        assert inputs[key].min() >= -1 and inputs[key].max() <= 1
        assert inputs[key].min() < -0.5 and inputs[key].max() > 0.5
    assert samples[0].gt_img.shape == (3, 32, 32)
    assert samples[0].src_kps.shape == (2, 19, 2)
    assert samples[0].metainfo['img_shape'] == (32, 32)
    assert samples[0].metainfo['video_id'] == '001/1/1'
    # SMPL values are the stored ones
    info = ds.get_data_info(0)
    assert info['video_id'] == samples[0].metainfo['video_id']


def test_dataloader_from_config(tiny):
    from mmengine import Config
    from mmengine.runner import Runner

    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile('configs/_base_/datasets/synthetic_iper.py')
    for key in ('train_dataloader', 'val_dataloader'):
        loader_cfg = cfg[key]
        loader_cfg.dataset.data_root = tiny
        loader_cfg.num_workers = 0
        loader_cfg.persistent_workers = False
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        batch = next(iter(loader))
        assert batch['inputs']['src_img'][0].shape == (1, 3, 64, 64)
        assert batch['inputs']['tgt_img'][0].dtype == torch.uint8


# ---------------------------------------------------------------------------
# Clear errors
# ---------------------------------------------------------------------------
@pytest.fixture
def copy(tiny, tmp_path):
    root = str(tmp_path / 'copy')
    shutil.copytree(tiny, root,
                    ignore=shutil.ignore_patterns('iPER_256_video_release'))
    return root


def _pose_shape_path(root, vid='001/1/2'):
    return osp.join(root, 'smpls', vid, 'pose_shape.pkl')


def _write_pkl(path, obj):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


def test_error_missing_root_and_split(tmp_path, tiny):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(IPERMissingFileError, match='data_root .*nowhere'):
        _dataset(missing)
    with pytest.raises(IPERMissingFileError, match='split file .*test.txt'):
        _dataset(tiny, ann_file='test.txt')


def test_error_bad_video_ids(copy):
    with open(osp.join(copy, 'bad.txt'), 'w') as f:
        f.write('001/1/1\n001-1-2\n')
    with pytest.raises(IPERDataError, match=r"bad.txt:2: malformed .*001-1-2"):
        _dataset(copy, ann_file='bad.txt')
    with open(osp.join(copy, 'unknown.txt'), 'w') as f:
        f.write('001/1/1\n\n009/9/9\n')
    with pytest.raises(IPERMissingFileError,
                       match=r"unknown video id '009/9/9' .*unknown.txt:3"):
        _dataset(copy, ann_file='unknown.txt')


def test_error_missing_or_empty_frames(copy):
    frames = osp.join(copy, 'images', '001', '1', '2')
    for name in os.listdir(frames):
        os.remove(osp.join(frames, name))
    with pytest.raises(IPERDataError, match=r'frames folder .*001/1/2 .*'
                       'no image files'):
        _dataset(copy)
    os.rmdir(frames)
    with pytest.raises(IPERMissingFileError,
                       match=r"missing frames of video '001/1/2': no frames "
                       r'folder .*images/001/1/2'):
        _dataset(copy)


def test_error_frame_count(copy):
    os.remove(osp.join(copy, 'images', '001', '1', '2', '007.jpg'))
    with pytest.raises(IPERDataError,
                       match=r"'001/1/2': 7 frames in .* but 8 SMPL entries "
                       r'in .*pose_shape.pkl'):
        _dataset(copy)


def test_error_missing_or_corrupt_pose_shape(copy):
    path = _pose_shape_path(copy)
    with open(path, 'wb') as f:
        f.write(b'not a pickle')
    with pytest.raises(IPERDataError, match=r'corrupt pickle .*001/1/2/'
                       'pose_shape.pkl'):
        _dataset(copy)
    os.remove(path)
    with pytest.raises(IPERMissingFileError,
                       match=r'missing SMPL file .*001/1/2/pose_shape.pkl'):
        _dataset(copy)


def test_error_pose_shape_content(copy):
    path = _pose_shape_path(copy)
    good = load_pose_shape(path)
    cams, pose, shape = good[:, :3], good[:, 3:75], good[:, 75:]
    cases = [
        (dict(cams=cams, pose=pose), r"lacks key\(s\) \['shape'\]"),
        (dict(cams=cams, pose=pose[:, :70], shape=shape),
         r"'pose' should be \(N, 72\), got \(8, 70\)"),
        (dict(cams=cams[:, :2], pose=pose, shape=shape),
         r"'cams' should be \(N, 3\), got \(8, 2\)"),
        (dict(cams=cams, pose=pose, shape=shape[:, :5]),
         r"'shape' should be \(N, 10\), got \(8, 5\)"),
        (dict(cams=cams, pose=pose[:7], shape=shape),
         r'different numbers of frames \(8, 7, 8\)'),
        ([1, 2, 3], 'should hold a dict'),
    ]
    for obj, message in cases:
        _write_pkl(path, obj)
        with pytest.raises(IPERDataError, match=message) as info:
            _dataset(copy)
        assert 'pose_shape.pkl' in str(info.value)
    # one shared (10,) shape vector is accepted
    _write_pkl(path, dict(cams=cams, pose=pose, shape=shape[0]))
    assert _dataset(copy).video_info(1)['smpl'].shape == (8, 85)


def test_error_kps(copy):
    path = osp.join(copy, 'smpls', '001', '1', '2', 'kps.pkl')
    _write_pkl(path, dict(kps=np.zeros((5, 19, 2), np.float32)))
    with pytest.raises(IPERDataError, match=r'8 frames .* but 5 keypoint '
                       r'entries in .*kps.pkl'):
        _dataset(copy)
    os.remove(path)
    with pytest.raises(IPERMissingFileError, match=r'missing file .*kps.pkl'):
        _dataset(copy)
    assert _dataset(copy, with_kps=False).video_info(1)['kps'] is None


def _py2_pickle(arrays, note=b'caf\xe9'):
    """A protocol-2 pickle as Python 2 writes it: keys are byte strings
    (SHORT_BINSTRING) and one value holds a non-ASCII byte string, which
    Python 3 only loads with encoding='latin1'."""
    def obj(x):
        if isinstance(x, bytes):
            return b'U' + bytes([len(x)]) + x
        if isinstance(x, float):
            return b'G' + struct.pack('>d', x)
        return b']' + b'(' + b''.join(obj(v) for v in x) + b'e'

    body = b''.join(obj(k.encode()) + obj(v) for k, v in arrays.items())
    body += obj(b'note') + obj(note)
    return b'\x80\x02}(' + body + b'u.'


def test_python2_pickle(copy):
    path = _pose_shape_path(copy)
    good = load_pose_shape(path)
    data = dict(cams=good[:, :3].tolist(), pose=good[:, 3:75].tolist(),
                shape=good[:, 75:].tolist())
    with open(path, 'wb') as f:
        f.write(_py2_pickle(data))
    with open(path, 'rb') as f, pytest.raises(UnicodeDecodeError):
        pickle.load(f)  # the default ASCII decoding fails
    np.testing.assert_array_equal(load_pose_shape(path), good)
    assert _dataset(copy).video_info(1)['num_frames'] == 8

# Copyright (c) mmlwgan contributors. All rights reserved.
import importlib.util
import json
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest

from mmlwgan.synthetic import iper as si

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CLI = osp.join(ROOT, 'tools', 'dataset_converters', 'make_synthetic_iper.py')
TINY = dict(num_actors=2, num_clothes=1, num_actions=2, num_frames=8,
            image_size=64, seed=0)
IDS = ['001/1/1', '001/1/2', '002/1/1', '002/1/2']


def _files(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = osp.join(dirpath, name)
            out[osp.relpath(path, root)] = path
    return out


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('siper') / 'data')
    summary = si.make_synthetic_iper(out, **TINY)
    return out, summary


def test_layout(tiny):
    out, summary = tiny
    assert summary['rendered'] == IDS and summary['skipped'] == []
    assert summary['train'] == IDS[:2] and summary['val'] == IDS[2:]
    files = _files(out)
    for vid in IDS:
        frames = sorted(
            n for n in os.listdir(osp.join(out, 'images', vid)))
        assert frames == [f'{i:03d}.jpg' for i in range(8)]
        img = cv2.imread(osp.join(out, 'images', vid, '000.jpg'))
        assert img.shape == (64, 64, 3)
        with open(osp.join(out, 'smpls', vid, 'pose_shape.pkl'), 'rb') as f:
            ps = pickle.load(f, encoding='latin1')
        assert sorted(ps) == ['cams', 'pose', 'shape']
        assert ps['cams'].shape == (8, 3) and ps['pose'].shape == (8, 72)
        assert ps['shape'].shape == (8, 10)
        assert all(v.dtype == np.float32 for v in ps.values())
        # one fixed camera and one body shape per video
        assert np.ptp(ps['cams'], axis=0).max() == 0
        assert np.ptp(ps['shape'], axis=0).max() == 0
        with open(osp.join(out, 'smpls', vid, 'kps.pkl'), 'rb') as f:
            kps = pickle.load(f, encoding='latin1')
        assert list(kps) == ['kps'] and kps['kps'].shape == (8, 19, 2)
        assert np.abs(kps['kps']).max() < 1.0  # the body is in view
    for name in ('train.txt', 'val.txt', 'iPER_protocol.json',
                 'smpl_model.npz', 'synthetic_iper.json'):
        assert name in files
    with open(osp.join(out, 'val.txt')) as f:
        assert f.read().split() == IDS[2:]
    # different actors have different shapes; the same actor keeps its own
    shapes = {}
    for vid in IDS:
        with open(osp.join(out, 'smpls', vid, 'pose_shape.pkl'), 'rb') as f:
            shapes[vid] = pickle.load(f)['shape'][0]
    assert np.array_equal(shapes['001/1/1'], shapes['001/1/2'])
    assert not np.allclose(shapes['001/1/1'], shapes['002/1/1'])
    # no temporary folder is left
    assert not [p for p in files if '.tmp-' in p]


def test_protocol_format(tiny):
    out, _ = tiny
    with open(osp.join(out, 'iPER_protocol.json')) as f:
        proto = json.load(f)
    assert list(proto) == ['val'] and sorted(proto['val']) == IDS[2:]
    for vid, entry in proto['val'].items():
        for key in ('source', 'view angle', 's_n', 'mask', 'novel view',
                    'self_imitation', 'cross_imitation', 'flag'):
            assert key in entry
        assert len(entry['source']) == len(entry['view angle']) == 8
        assert entry['s_n']['1'] == ['000.jpg']
        for k in ('1', '2', '3', '4', '8'):
            assert len(entry['s_n'][k]) == int(k)
            assert set(entry['s_n'][k]) <= set(entry['source'])
        assert entry['self_imitation'] == dict(target=vid, range=[0, 7])
        cross = entry['cross_imitation']
        assert cross['target'].split('/')[0] != vid.split('/')[0]
        lo, hi = cross['range']
        assert 0 <= lo <= hi <= 7
        assert hi - lo == entry['flag'][1] - entry['flag'][0]
    # the turning video's sources are spread over the circle
    angles = proto['val']['002/1/1']['view angle']
    assert angles[0] == 0 and len(set(angles)) >= 6
    assert max(angles) - min(angles) > 250


def test_textures_are_distinct():
    specs = [si.make_cloth_spec(0, a, c) for a, c in ((1, 1), (1, 2), (2, 1))]
    assert specs[0] != specs[1] and specs[0] != specs[2]
    for spec in specs:
        assert spec['top']['pattern'] in ('stripes', 'checker', 'dots',
                                          'blocks', 'print')
    bg = si.video_background(0, '001/1/1', 64)
    assert bg.shape == (64, 64, 3) and bg.dtype == np.float32
    assert bg.std() > 0.05  # textured, not flat
    assert not np.allclose(bg, si.video_background(0, '001/1/2', 64))


def test_deterministic_and_resumable(tiny, tmp_path):
    out, _ = tiny
    again = str(tmp_path / 'again')
    # an interrupted run: one video lacks its smpls (the "done" mark) and a
    # stale temporary folder remains
    si.make_synthetic_iper(again, **TINY)
    import shutil
    shutil.rmtree(osp.join(again, 'smpls', '002', '1', '2'))
    os.makedirs(osp.join(again, 'images', '002', '1', '.tmp-2-stale'))
    summary = si.make_synthetic_iper(again, **TINY)
    assert summary['rendered'] == ['002/1/2']
    assert summary['skipped'] == IDS[:3]
    a, b = _files(out), _files(again)
    assert sorted(a) == sorted(b)
    for rel in a:
        if rel.endswith('.npz'):
            za, zb = np.load(a[rel]), np.load(b[rel])
            assert sorted(za.files) == sorted(zb.files)
            for k in za.files:
                assert np.array_equal(za[k], zb[k]), k
        else:
            with open(a[rel], 'rb') as fa, open(b[rel], 'rb') as fb:
                assert fa.read() == fb.read(), rel
    # other parameters in the same folder are refused
    with pytest.raises(ValueError, match='other parameters'):
        si.make_synthetic_iper(again, **dict(TINY, num_frames=9))


def test_atomic_on_failure(tmp_path, monkeypatch):
    out = str(tmp_path / 'broken')
    calls = []
    real = si._dump_pickle

    def flaky(path, obj):
        calls.append(path)
        if len(calls) == 3:  # the first pickle of the second video
            raise OSError('disk full')
        real(path, obj)

    monkeypatch.setattr(si, '_dump_pickle', flaky)
    with pytest.raises(OSError, match='disk full'):
        si.make_synthetic_iper(out, **TINY)
    files = _files(out)
    assert not [p for p in files if '.tmp-' in p]
    # the first video is complete, the second left nothing behind
    assert osp.isfile(osp.join(out, 'smpls', '001', '1', '1', 'kps.pkl'))
    assert not osp.exists(osp.join(out, 'images', '001', '1', '2'))
    assert not osp.exists(osp.join(out, 'smpls', '001', '1', '2'))
    monkeypatch.setattr(si, '_dump_pickle', real)
    summary = si.make_synthetic_iper(out, **TINY)
    assert summary['skipped'] == ['001/1/1']


def test_cli(tmp_path):
    spec = importlib.util.spec_from_file_location('make_synthetic_iper', CLI)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = str(tmp_path / 'cli')
    summary = cli.main([
        '--out', out, '--actors', '2', '--clothes', '1', '--actions', '1',
        '--frames', '4', '--size', '32', '--no-progress', '--mp4'
    ])
    assert summary['train'] == ['001/1/1'] and summary['val'] == ['002/1/1']
    assert osp.isfile(osp.join(out, 'images', '002', '1', '1', '003.jpg'))
    assert osp.isfile(osp.join(out, 'iPER_256_video_release', '002_1_1.mp4'))

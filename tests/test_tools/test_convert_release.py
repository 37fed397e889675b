# Copyright (c) mmlwgan contributors. All rights reserved.
"""``tools/model_converters/convert_release.py`` on a fake release assets
folder (random tensors with the release's exact names and shapes, in its
file layout: :mod:`mmlwgan.testing.fake_release`), then the motion
imitation CLI on what it wrote, unedited, from another working folder.

The fake release is written once per module (about 0.6 GB in the pytest
temporary folder, and as much converted: the full-size LWB generator alone
is 97M values; both are removed at the end of the module).
"""
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmlwgan.models.converters import load_checkpoint_file
from mmlwgan.models.converters.release import (OUTPUT_NAMES,
                                               find_release_files)
from mmlwgan.testing.fake_release import default_listing_dir

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = 64
NUM_FRAMES = 3

pytestmark = pytest.mark.skipif(
    not osp.isfile(osp.join(default_listing_dir(), 'generator_lwb.txt')),
    reason='tests/data/official_checkpoints listings not available')


@pytest.fixture(scope='module')
def release(tmp_path_factory, synthetic_smpl_npz):
    from mmlwgan.testing.fake_release import write_fake_release
    root = tmp_path_factory.mktemp('release')
    yield write_fake_release(str(root), synthetic_smpl_npz, seed=0)
    shutil.rmtree(str(root), ignore_errors=True)  # 0.6 GB


@pytest.fixture(scope='module')
def converted(release, tmp_path_factory):
    from tools.model_converters.convert_release import main
    out = str(tmp_path_factory.mktemp('converted') / 'lwgan_release')
    # verifies too: the model is built from the written config + checkpoint
    assert main([release['assets'], '--out', out, '--image-size',
                 str(SIZE)]) == 0
    yield out
    shutil.rmtree(out, ignore_errors=True)  # 0.6 GB


def converted_name(release_key):
    for old, new in (('bg_model.', 'bg_net.'), ('src_model.', 'src_net.'),
                     ('tsf_model.', 'tsf_net.')):
        if release_key.startswith(old):
            release_key = new + release_key[len(old):]
    return 'generator.' + release_key.replace('.attetion_reg.',
                                              '.attention_reg.')


def test_written_folder(release, converted):
    from mmlwgan.models.body import load_smpl_model_data
    assert sorted(os.listdir(converted)) == sorted(OUTPUT_NAMES.values())
    config = osp.join(converted, OUTPUT_NAMES['config'])
    text = open(config).read()
    # relative to the config: runs from anywhere, the folder can move
    assert '{{ fileDirname }}' in text and converted not in text
    cfg = Config.fromfile(config)
    assert cfg.model.hmr == dict(type='HMR', pretrained=osp.join(
        converted, 'hmr.pth'))
    assert cfg.model.body_model.model_path == osp.join(
        converted, 'smpl_neutral.npz')
    assert cfg.model.cond_encoder.uv_mapping == osp.join(
        converted, 'mapper.txt')
    assert cfg.model.face_loss.pretrained == osp.join(converted,
                                                      'sphere20a.pth')
    assert cfg.model.rasterizer.image_size == SIZE
    # the released recipe is inherited (training schedule included)
    assert cfg.model.generator.type == 'LWBGenerator'
    assert cfg.model.generator.fusion.align_corners is True
    assert cfg.get('param_scheduler') and cfg.get('optim_wrapper')

    # one checkpoint: every release tensor, renamed, values untouched
    state = load_checkpoint_file(osp.join(converted, 'lwgan.pth'))
    g_release = load_checkpoint_file(release['generator'])
    d_release = load_checkpoint_file(release['discriminator'])
    assert len(state) == len(g_release) + len(d_release) == 194 + 12
    for key, value in g_release.items():
        assert torch.equal(state[converted_name(key)], value), key
    for key, value in d_release.items():
        assert torch.equal(state['discriminator.' + key], value), key
    del state, g_release

    hmr = load_checkpoint_file(osp.join(converted, 'hmr.pth'))
    hmr_release = load_checkpoint_file(release['hmr'])
    assert torch.equal(hmr['backbone.conv1.weight'],
                       hmr_release['resnet.conv1.weight'])
    assert torch.equal(hmr['regressor.mean_theta'],
                       hmr_release['regressor.mean_theta'])
    assert not any(k.startswith('smpl.') for k in hmr)

    smpl = load_smpl_model_data(osp.join(converted, 'smpl_neutral.npz'))
    assert smpl['v_template'].shape == (6890, 3)
    np.testing.assert_array_equal(smpl['f'], np.load(release['smpl_faces']))
    np.testing.assert_allclose(smpl['v_template'],
                               hmr_release['smpl.v_template'].numpy())
    assert smpl['joint_regressor_extra'].shape == (19, 6890)
    assert len(smpl['part_names']) > 1  # from smpl_part_info.json


def test_motion_imitation_cli_on_the_written_folder(release, converted,
                                                    tmp_path):
    """The documented command, nothing edited, run from another folder:
    HMR (the converted weights) estimates the photo's SMPL; the reference
    is a short SMPL sequence."""
    from mmlwgan.apis.inferencers.inputs import open_reference
    thetas = open_reference(osp.join(ROOT, 'demo', 'data',
                                     'motion.pkl')).thetas[:NUM_FRAMES]
    ref = str(tmp_path / 'dance.npy')
    np.save(ref, np.asarray(thetas, np.float32))
    elsewhere = tmp_path / 'cwd'
    elsewhere.mkdir()
    out_dir = tmp_path / 'out'
    cmd = [sys.executable, osp.join(ROOT, 'demo', 'motion_imitation.py'),
           '--config', osp.join(converted, 'config.py'),
           '--checkpoint', osp.join(converted, 'lwgan.pth'),
           '--src', osp.join(ROOT, 'demo', 'data', 'source.png'),
           '--ref', ref, '--out-dir', str(out_dir), '--device', 'cpu',
           '--no-progress']
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run(cmd, cwd=str(elsewhere), env=env,
                          capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    video = proc.stdout.strip().splitlines()[-1]
    assert osp.isfile(video) and osp.dirname(video) == str(out_dir)
    # every network of the written config got its weights
    assert f"HMR: loaded weights from {osp.join(converted, 'hmr.pth')}" in log
    assert 'no weights for the generator' not in log
    assert 'HMR has no pretrained weights' not in log
    cap = cv2.VideoCapture(video)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    assert len(frames) == NUM_FRAMES
    assert frames[0].shape == (SIZE, SIZE, 3)


def touch(path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    open(path, 'wb').close()


def test_finding_the_release_files(tmp_path):
    pre = tmp_path / 'assets' / 'pretrains'
    for name in ('hmr_tf2pt.pth', 'smpl_faces.npy', 'sphere20a_20171020.pth',
                 'head.json'):
        touch(str(pre / name))
    ckpts = tmp_path / 'outputs' / 'checkpoints'
    for run in ('lwb_imper', 'lwb_imper_place'):
        for epoch in (20, 30):
            for net in 'GD':
                touch(str(ckpts / run / f'net_epoch_{epoch}_id_{net}.pth'))
    touch(str(ckpts / 'deepfillv2' / 'net_epoch_50_id_G.pth'))
    dirs = [str(tmp_path / 'assets'), str(ckpts)]

    from tools.model_converters.convert_release import main
    from mmlwgan.models.converters import ConversionError
    # no mapper.txt: named, with where it comes from
    with pytest.raises(ConversionError, match=r'mapper.*pretrains\.zip'):
        find_release_files(dirs, 'lwb_imper')
    touch(str(pre / 'mapper.txt'))
    # two generators and not the release's default: the user chooses
    with pytest.raises(ConversionError, match='--generator'):
        find_release_files(dirs)
    found = find_release_files(dirs, 'lwb_imper')
    assert found['generator'] == str(ckpts / 'lwb_imper' /
                                     'net_epoch_30_id_G.pth')
    assert found['discriminator'] == str(ckpts / 'lwb_imper' /
                                         'net_epoch_30_id_D.pth')
    assert found['mapper'] == str(pre / 'mapper.txt')
    assert sorted(found['generators']) == ['lwb_imper', 'lwb_imper_place']
    assert any('deepfillv2' in p for p in found['unused'])
    # the release's default folder is taken when present
    for net in 'GD':
        touch(str(ckpts / 'lwb_imper_fashion_place' /
                  f'net_epoch_30_id_{net}.pth'))
    assert 'lwb_imper_fashion_place' in find_release_files(dirs)['generator']
    with pytest.raises(ConversionError, match='no generator'):
        find_release_files(dirs, 'lwb_nothing')
    # the command line: one error line, status 1
    assert main([str(tmp_path / 'nowhere'), '--out',
                 str(tmp_path / 'o')]) == 1

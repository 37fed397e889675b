# Copyright (c) mmlwgan contributors. All rights reserved.
"""Bad inputs: one clear error naming the problem, and no partial output."""
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmlwgan.apis import (AppearanceTransferInferencer, ConfigError,
                          InferenceInputError, MotionImitationInferencer,
                          NoPersonError, NovelViewInferencer, init_model)
from mmlwgan.registry import MODELS
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.utils import register_all_modules

SIZE = 32
NET = dict(base_channels=4, num_downs=2, num_blocks=1)
N_REF = 6


def tiny_cfg(smpl_path, **kwargs):
    unet = dict(type='ResUnetGenerator', in_channels=6, **NET)
    cfg = dict(
        type='LiquidWarpingGAN',
        generator=dict(
            type='LWBGenerator',
            bg_net=dict(type='ResNetGenerator', in_channels=4, **NET),
            src_net=unet, tsf_net=dict(unet),
            fusion=dict(type='LiquidWarpingBlock', align_corners=False)),
        body_model=dict(type='SMPL', model_path=smpl_path),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE))
    cfg.update(kwargs)
    return cfg


TINY_HMR = dict(type='HMR', backbone=dict(type='ResNetV2', depth=50,
                                          stem_channels=4, base_channels=2),
                hidden_channels=16)


def src_theta():
    theta = np.zeros((1, 85), np.float32)
    theta[0, 0] = 0.9
    theta[0, 3:75] = make_motion('rest', 1)[0]
    return theta


@pytest.fixture(scope='module')
def env(tmp_path_factory, synthetic_smpl_npz):
    register_all_modules(init_default_scope=False)
    root = tmp_path_factory.mktemp('bad')
    inputs = root / 'inputs'
    inputs.mkdir()
    torch.manual_seed(0)
    cfg = tiny_cfg(synthetic_smpl_npz)
    model = MODELS.build(cfg).eval()
    ckpt = str(inputs / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    cfg_path = str(inputs / 'cfg.py')
    Config(dict(model=cfg)).dump(cfg_path)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8)
    src = str(inputs / 'src.png')
    cv2.imwrite(src, img)
    video = str(inputs / 'ref.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 30,
                             (SIZE, SIZE))
    for _ in range(N_REF):
        writer.write(img)
    writer.release()
    thetas = np.repeat(src_theta(), N_REF, 0)
    thetas[:, 3:75] = make_motion('walk', N_REF)
    ref_pkl = str(inputs / 'pose_shape.pkl')
    with open(ref_pkl, 'wb') as f:
        pickle.dump(dict(cams=thetas[:, :3], pose=thetas[:, 3:75],
                         shape=thetas[:, 75:]), f)
    hmr_model = MODELS.build(tiny_cfg(synthetic_smpl_npz,
                                      hmr=TINY_HMR)).eval()
    return dict(root=root, inputs=inputs, cfg=cfg, cfg_path=cfg_path,
                ckpt=ckpt, model=model, src=src, video=video,
                ref_pkl=ref_pkl, thetas=thetas, hmr_model=hmr_model,
                smpl=synthetic_smpl_npz)


@pytest.fixture
def out_dir(tmp_path):
    return str(tmp_path / 'out')


def assert_no_output(out_dir):
    """The output folder holds nothing: no mp4, no png, no temporary
    file, no frame folder."""
    if not osp.exists(out_dir):
        return
    left = []
    for root, dirs, files in os.walk(out_dir):
        left += [osp.join(root, f) for f in files + dirs]
    assert not left, left


def imitate(env, out_dir, src=None, ref=None, model=None, **kwargs):
    inferencer = MotionImitationInferencer(model or env['model'],
                                           show_progress=False)
    kwargs.setdefault('src_smpl', src_theta())
    return inferencer(src or env['src'], ref or env['ref_pkl'],
                      out_dir=out_dir, side_by_side=True, save_frames=True,
                      **kwargs)


def write_bytes(env, name, data):
    path = str(env['inputs'] / name)
    with open(path, 'wb') as f:
        f.write(data)
    return path


# ------------------------------------------------------------- no person
def test_no_person_detector_finds_nobody(env, out_dir):
    for boxes in (np.zeros((0, 5)), np.array([[2, 2, 20, 30, 0.2]])):
        inferencer = MotionImitationInferencer(
            env['hmr_model'], show_progress=False,
            detector=lambda img, b=boxes: b, det_score_thr=0.5)
        with pytest.raises(NoPersonError,
                           match=r'no person found in source image 0: the '
                           r'person detector found no box with score >= 0.5'):
            inferencer(env['src'], env['ref_pkl'], out_dir=out_dir,
                       side_by_side=True)
        assert_no_output(out_dir)


def test_no_person_in_reference_frame(env, out_dir):
    calls = []

    def detector(img):  # a person in the source only
        calls.append(1)
        return np.array([[2, 2, 28, 30, 0.9]]) if len(calls) == 1 else []

    inferencer = MotionImitationInferencer(env['hmr_model'],
                                           show_progress=False,
                                           detector=detector)
    with pytest.raises(NoPersonError, match='reference frame 0'):
        inferencer(env['src'], env['video'], out_dir=out_dir)
    assert_no_output(out_dir)


def test_no_person_empty_silhouette(env, out_dir):
    theta = src_theta()
    theta[0, 1] = 10.0  # the body is far off-screen
    with pytest.raises(NoPersonError,
                       match=r'no person in source image 0: the body mesh '
                       r'\(SMPL from the given source SMPL\) covers 0 of '
                       r'1024 pixels'):
        imitate(env, out_dir, src_smpl=theta)
    assert_no_output(out_dir)


# ----------------------------------------------------------------- images
def test_unreadable_or_empty_image(env, out_dir):
    garbage = write_bytes(env, 'garbage.png', os.urandom(300))
    with pytest.raises(InferenceInputError,
                       match=r"source image '.*garbage.png' cannot be read"):
        imitate(env, out_dir, src=garbage)
    empty = write_bytes(env, 'empty.jpg', b'')
    with pytest.raises(InferenceInputError,
                       match=r"source image '.*empty.jpg' is empty "
                       r'\(0 bytes\)'):
        imitate(env, out_dir, src=empty)
    with pytest.raises(InferenceInputError, match='does not exist'):
        imitate(env, out_dir, src=str(env['inputs'] / 'missing.png'))
    folder = env['inputs'] / 'no_images'
    folder.mkdir(exist_ok=True)
    with pytest.raises(InferenceInputError, match='holds no image'):
        imitate(env, out_dir, src=str(folder))
    with pytest.raises(InferenceInputError,
                       match=r"reference image '.*garbage.png' cannot be "
                       'read'):
        imitate(env, out_dir, ref=garbage)
    with pytest.raises(InferenceInputError,
                       match=r"background image '.*empty.jpg' is empty"):
        imitate(env, out_dir, background=empty)
    assert_no_output(out_dir)


# ----------------------------------------------------------------- videos
def test_unreadable_or_empty_video(env, out_dir):
    garbage = write_bytes(env, 'garbage.mp4', os.urandom(2000))
    with pytest.raises(InferenceInputError,
                       match=r"reference video '.*garbage.mp4' cannot be "
                       'opened'):
        imitate(env, out_dir, ref=garbage)
    empty = write_bytes(env, 'empty.mp4', b'')
    with pytest.raises(InferenceInputError,
                       match=r"reference video '.*empty.mp4' is empty "
                       r'\(0 bytes\)'):
        imitate(env, out_dir, ref=empty)
    no_frames = str(env['inputs'] / 'no_frames.mp4')
    cv2.VideoWriter(no_frames, cv2.VideoWriter_fourcc(*'mp4v'), 30,
                    (SIZE, SIZE)).release()
    with pytest.raises(InferenceInputError, match='no frame'):
        imitate(env, out_dir, ref=no_frames, ref_smpl=env['ref_pkl'])
    assert_no_output(out_dir)


# ------------------------------------------------------------------- SMPL
def dump(env, name, data):
    path = str(env['inputs'] / name)
    with open(path, 'wb') as f:
        pickle.dump(data, f)
    return path


def test_mismatched_smpl_files(env, out_dir):
    th = env['thetas']
    wrong_keys = dump(env, 'wrong_keys.pkl',
                      dict(pose_params=th[:, 3:75], beta=th[:, 75:]))
    with pytest.raises(InferenceInputError,
                       match=r"missing key\(s\) \['cams', 'pose', 'shape'\]; "
                       r"found keys \['beta', 'pose_params'\]"):
        imitate(env, out_dir, ref=wrong_keys)
    wrong_shape = dump(env, 'wrong_shape.pkl',
                       dict(cams=th[:, :3], pose=th[:, 3:72],
                            shape=th[:, 75:]))
    with pytest.raises(InferenceInputError,
                       match=r"'pose' should be \(N, 72\) axis-angle, got "
                       r'\(6, 69\)'):
        imitate(env, out_dir, ref=wrong_shape)
    short = dump(env, 'short.pkl', dict(cams=th[:4, :3], pose=th[:4, 3:75],
                                        shape=th[:4, 75:]))
    with pytest.raises(InferenceInputError,
                       match=r"frame count mismatch: reference SMPL file "
                       r"'.*short.pkl' has 4 frames but the reference video "
                       r"'.*ref.mp4' has 6"):
        imitate(env, out_dir, ref=env['video'], ref_smpl=short)
    cams_mismatch = dump(env, 'cams.pkl', dict(cams=th[:5, :3],
                                               pose=th[:, 3:75],
                                               shape=th[:, 75:]))
    with pytest.raises(InferenceInputError,
                       match="'cams' has 5 frames but 'pose' has 6"):
        imitate(env, out_dir, ref=cams_mismatch)
    with pytest.raises(InferenceInputError,
                       match=r'expected theta of shape \(N, 85\)'):
        imitate(env, out_dir, src_smpl=np.zeros(84))
    nan = src_theta()
    nan[0, 10] = np.nan
    with pytest.raises(InferenceInputError, match='non-finite'):
        imitate(env, out_dir, src_smpl=nan)
    with pytest.raises(InferenceInputError,
                       match='source SMPL has 2 entries but there are 1 '
                       'source images'):
        imitate(env, out_dir, src_smpl=np.repeat(src_theta(), 2, 0))
    not_a_pickle = write_bytes(env, 'bad.pkl', b'not a pickle at all')
    with pytest.raises(InferenceInputError, match='cannot be read'):
        imitate(env, out_dir, ref=not_a_pickle)
    assert_no_output(out_dir)


def test_smpl_pickle_cannot_run_code(env, out_dir):
    class Evil:
        def __reduce__(self):
            return (os.system, ('echo hacked',))

    path = dump(env, 'evil.pkl', dict(cams=Evil()))
    with pytest.raises(InferenceInputError,
                       match=r'evil\.pkl: refused to load.*system'):
        imitate(env, out_dir, ref=path)
    assert_no_output(out_dir)


def test_no_smpl_and_no_hmr(env, out_dir):
    with pytest.raises(InferenceInputError,
                       match=r'the source image has no SMPL parameters and '
                       r'the model has no HMR.*pass src_smpl='):
        imitate(env, out_dir, src_smpl=None)
    with pytest.raises(InferenceInputError,
                       match=r'reference frame has no SMPL.*pass ref_smpl='):
        imitate(env, out_dir, ref=env['video'])
    assert_no_output(out_dir)


def test_transfer_needs_reference_images(env, out_dir):
    inferencer = AppearanceTransferInferencer(env['model'],
                                              show_progress=False)
    with pytest.raises(InferenceInputError,
                       match='takes the clothes from reference images'):
        inferencer(env['src'], env['ref_pkl'], src_smpl=src_theta(),
                   out_dir=out_dir)
    with pytest.raises(InferenceInputError, match="unknown body part 'hat'"):
        inferencer(env['src'], env['src'], src_smpl=src_theta(),
                   ref_smpl=src_theta(), keep_parts=['hat'],
                   out_dir=out_dir)
    assert_no_output(out_dir)


# ---------------------------------------------------- checkpoints, weights
def test_missing_checkpoint_or_weights(env, out_dir):
    missing = str(env['inputs'] / 'missing.pth')
    with pytest.raises(FileNotFoundError,
                       match=r"checkpoint file '.*missing.pth' does not "
                       'exist'):
        MotionImitationInferencer(env['cfg_path'], missing)
    with pytest.raises(FileNotFoundError,
                       match="checkpoint file '.*missing.pth' does not"):
        init_model(env['cfg_path'], missing)
    with pytest.raises(FileNotFoundError,
                       match=r"personalised weights file '.*missing.pth' "
                       'does not exist'):
        imitate(env, out_dir, personalized_weights=missing)
    # a pretrained network's own weights file (HMR)
    cfg = tiny_cfg(env['smpl'], hmr=dict(TINY_HMR, pretrained=missing))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        init_model(dict(model=cfg))
    assert_no_output(out_dir)


# ---------------------------------------------------------------- configs
def test_wrong_config(env):
    with pytest.raises(FileNotFoundError,
                       match=r"config file '.*nope.py' does not exist"):
        NovelViewInferencer(str(env['inputs'] / 'nope.py'))
    wrong = str(env['inputs'] / 'wrong_type.py')
    Config(dict(model=dict(type='ResNetGenerator', in_channels=4))).dump(
        wrong)
    with pytest.raises(ConfigError,
                       match=r"model type 'ResNetGenerator' is "
                       r'ResNetGenerator, not a LiquidWarpingGAN'):
        NovelViewInferencer(wrong)
    unknown = str(env['inputs'] / 'unknown_type.py')
    Config(dict(model=dict(type='NoSuchModel'))).dump(unknown)
    with pytest.raises(ConfigError, match="'NoSuchModel' is not registered"):
        init_model(unknown)
    no_model = str(env['inputs'] / 'no_model.py')
    Config(dict(train_cfg=dict())).dump(no_model)
    with pytest.raises(ConfigError, match='has no `model`'):
        init_model(no_model)


# --------------------------------------------------------- mid-run failure
@pytest.mark.parametrize('fast', [False, True])
def test_failure_mid_run_leaves_nothing(env, out_dir, monkeypatch, fast):
    from mmlwgan.apis.inferencers.fast_path import ImitationPipeline
    inferencer = MotionImitationInferencer(env['model'], show_progress=False)
    # the plain path decodes through the inferencer, the fast one through
    # the pipeline (in the caller's thread, between worker threads)
    owner = ImitationPipeline if fast else inferencer
    name = 'generate' if fast else 'decode'
    original = getattr(owner, name)
    calls = []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError('out of memory (simulated)')
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    with pytest.raises(RuntimeError, match='simulated'):
        inferencer(env['src'], env['video'], src_smpl=src_theta(),
                   ref_smpl=env['ref_pkl'], out_dir=out_dir, batch_size=2,
                   side_by_side=True, save_frames=True, fast=fast)
    assert len(calls) == 2
    assert_no_output(out_dir)

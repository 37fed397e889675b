# Copyright (c) mmlwgan contributors. All rights reserved.
"""The motion-imitation inferencer makes the frames the model itself makes.

The inferencer has its own geometry and encode-once / decode-in-batches
helpers (and an optimised path, ``fast=True``); the model computes the same
thing in one ``forward`` (``compute_geometry`` + the three-stream
generator, as in ``val_step`` / ``test_step``). Both are run here on the
same inputs with a tiny randomly initialised model and compared frame by
frame, so a bug in either path (an input swapped, a stream skipped, a
background ignored) shows. SMPL parameters are given: no HMR is needed.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmlwgan.apis import MotionImitationInferencer
from mmlwgan.apis.inferencers.smoothing import smooth_thetas
from mmlwgan.registry import MODELS
from mmlwgan.structures import LWGANDataSample
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.synthetic.batch import render_patterned_person
from mmlwgan.utils import register_all_modules
from mmlwgan.visualization import BodyRenderer

SIZE = 32
NET = dict(base_channels=4, num_downs=2, num_blocks=2)
NUM_REF = 6


def build_model(smpl_path, align_corners=False):
    """A tiny random LWB model; ``align_corners=True`` fusion blocks give
    the released weights' flow convention."""
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    unet = dict(type='ResUnetGenerator', in_channels=6, **NET)
    return MODELS.build(dict(
        type='LiquidWarpingGAN',
        generator=dict(
            type='LWBGenerator',
            bg_net=dict(type='ResNetGenerator', in_channels=4, **NET),
            src_net=unet, tsf_net=dict(unet),
            fusion=dict(type='LiquidWarpingBlock',
                        align_corners=align_corners)),
        body_model=dict(type='SMPL', model_path=smpl_path),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE))).eval()


@pytest.fixture(scope='module')
def scene(synthetic_smpl_npz):
    """Tiny random models (new and released flow convention), a source
    person and the SMPL sequence of another person dancing."""
    model = build_model(synthetic_smpl_npz)
    release = build_model(synthetic_smpl_npz, align_corners=True)
    assert release.align_corners and not model.align_corners
    renderer = BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                            image_size=SIZE)
    src_img, src_theta = render_patterned_person(
        renderer, make_motion('rest', 1), torch.zeros(1, 10), seed=0)
    _, ref_theta = render_patterned_person(
        renderer, make_motion('dance', NUM_REF), torch.full((1, 10), 0.5),
        seed=7)
    return dict(model=model, release=release, renderer=renderer,
                src_img=src_img[0], src_theta=src_theta, ref_theta=ref_theta)


def model_frames(model, src_img, src_theta, tgt_thetas, background):
    """uint8 (N, H, W, 3) frames of the model's own forward pass: one pair
    (source, target) per target theta, through the data preprocessor,
    ``forward(mode='tensor')`` and ``compute_geometry``."""
    n = len(tgt_thetas)
    img = torch.from_numpy(src_img).permute(2, 0, 1)[None]  # (1, 3, H, W)
    samples = []
    for theta in tgt_thetas:
        sample = LWGANDataSample()
        sample.src_smpl = torch.from_numpy(src_theta).float()
        sample.tgt_smpl = torch.from_numpy(theta).float()
        samples.append(sample)
    data = model.data_preprocessor(
        dict(inputs=dict(src_img=[img] * n), data_samples=samples))
    inputs = data['inputs']
    with torch.no_grad():
        out = model(inputs, samples, mode='tensor')
        if background == 'generated':
            result = out['tsf_img']
        else:  # the source's own background outside the blanked body
            geo = model.compute_geometry(inputs['src_smpl'],
                                         inputs['tgt_smpl'])
            keep = geo['bg_input_mask'][:, 0]
            bg = inputs['src_img'][:, 0] * keep + out['bg'] * (1 - keep)
            mask = out['tsf_mask']
            result = mask * bg + (1 - mask) * out['tsf_color']
    u8 = torch.floor((result.clamp(-1, 1) + 1) * 127.5 + 0.5)
    return u8.permute(0, 2, 3, 1).numpy().astype(np.int64)


#: (model, fast path, background)
CASES = [(m, fast, bg) for m in ('model', 'release') for fast in (False, True)
         for bg in ('generated', 'original')
         if m == 'model' or bg == 'generated']


@pytest.mark.parametrize('which,fast,background', CASES)
def test_imitation_frames_equal_the_model_forward(scene, which, fast,
                                                  background):
    """Plain and fast path, both backgrounds, both flow conventions."""
    model = scene[which]
    inferencer = MotionImitationInferencer(model, device='cpu',
                                           show_progress=False)
    res = inferencer(scene['src_img'], scene['ref_theta'],
                     src_smpl=scene['src_theta'], batch_size=4, fast=fast,
                     background=background)
    frames = np.stack(res['frames']).astype(np.int64)
    assert frames.shape == (NUM_REF, SIZE, SIZE, 3)
    expected = model_frames(model, scene['src_img'], scene['src_theta'],
                            res['tgt_smpl'], background)
    # the targets move: the frames are not all the same picture
    assert np.abs(expected[0] - expected[NUM_REF // 2]).max() > 10
    diff = np.abs(frames - expected)
    assert diff.max() <= 1, f'max {diff.max()}, mean {diff.mean():.3f}'


def test_imitation_feeds_gsid_the_source_body(scene):
    """G_SID is given ``[source * dilated body, source cond map]``: the
    person without the background, as the release does."""
    inferencer = MotionImitationInferencer(scene['model'], device='cpu',
                                           show_progress=False)
    seen = []
    first = scene['model'].generator.src_net.encoders[0]
    handle = first.register_forward_pre_hook(
        lambda module, args: seen.append(args[0].detach().clone()))
    try:
        inferencer(scene['src_img'], scene['ref_theta'][:2],
                   src_smpl=scene['src_theta'], fast=False)
    finally:
        handle.remove()
    assert len(seen) == 1 and seen[0].shape == (1, 6, SIZE, SIZE)
    renderer = scene['renderer']
    theta = torch.from_numpy(scene['src_theta'])
    with torch.no_grad():
        ndc = renderer.project(
            renderer.posed_vertices(theta[:, 3:75], theta[:, 75:]),
            theta[:, :3])
        frags = renderer.rasterize(ndc)
    body = (frags.face_idx >= 0).float().unsqueeze(1)
    keep = F.max_pool2d(body, 3, stride=1, padding=1)  # 1 - erode(bg, 3)
    assert 0 < keep.mean() < 0.5
    src = torch.from_numpy(scene['src_img']).permute(2, 0, 1)[None]
    src = src.float() / 127.5 - 1
    torch.testing.assert_close(seen[0][:, :3], src * keep, atol=1e-6,
                               rtol=0)
    torch.testing.assert_close(seen[0][:, 3:],
                               scene['model']._cond(frags), atol=1e-6,
                               rtol=0)


def test_imitation_smooths_the_reference(scene):
    """``smooth=5`` smooths the reference SMPL (Savitzky-Golay, window 5)
    and the targets follow the smoothed poses."""
    rng = np.random.default_rng(0)
    noisy = scene['ref_theta'].copy()
    noisy[:, 3:75] += rng.normal(0, 0.05, noisy[:, 3:75].shape)
    inferencer = MotionImitationInferencer(scene['model'], device='cpu',
                                           show_progress=False)
    res = inferencer(scene['src_img'], noisy, src_smpl=scene['src_theta'],
                     smooth=5)
    expected = smooth_thetas(noisy, 5, 'savgol')
    assert np.abs(expected - noisy).max() > 1e-2
    np.testing.assert_allclose(res['ref_smpl'], expected, atol=1e-6)
    np.testing.assert_allclose(res['tgt_smpl'][:, 3:75], expected[:, 3:75],
                               atol=1e-6)
    plain = inferencer(scene['src_img'], noisy, src_smpl=scene['src_theta'])
    np.testing.assert_allclose(plain['ref_smpl'], noisy, atol=1e-6)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Real-world error in the synthetic iPER data (mmlwgan.synthetic.realism):
annotation noise, geometry off the SMPL surface, pose-dependent shading."""
import importlib.util
import json
import os
import os.path as osp
import pickle
import shutil

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from mmlwgan.datasets import IPERDataset, load_pose_shape
from mmlwgan.synthetic import iper as si
from mmlwgan.synthetic import loose_garments as LG
from mmlwgan.synthetic import motions as M
from mmlwgan.synthetic import realism as R

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CLI = osp.join(ROOT, 'tools', 'dataset_converters', 'make_synthetic_iper.py')
TINY = dict(num_actors=2, num_clothes=1, num_actions=2, num_frames=12,
            image_size=64, seed=0)
IDS = ['001/1/1', '001/1/2', '002/1/1', '002/1/2']
EVERY_GARMENT = dict(hair=1.0, skirt=1.0, sleeves=1.0)


def _files(root):
    out = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = osp.join(dirpath, name)
            out[osp.relpath(path, root)] = path
    return out


def _same_bytes(a, b):
    with open(a, 'rb') as fa, open(b, 'rb') as fb:
        return fa.read() == fb.read()


def _load(path):
    with open(path, 'rb') as f:
        return pickle.load(f)


@pytest.fixture(scope='module')
def clean(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('clean') / 'data')
    si.make_synthetic_iper(out, **TINY)
    return out


@pytest.fixture(scope='module')
def noisy(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('noisy') / 'data')
    summary = si.make_synthetic_iper(out, noise='hmr', loose=EVERY_GARMENT,
                                     shading='lambert', **TINY)
    return out, summary


@pytest.fixture(scope='module')
def renderer(clean):
    return si.SyntheticIPERRenderer(osp.join(clean, si.SMPL_FILENAME), 64)


def test_options_off_keep_the_plain_output(clean, tmp_path):
    """Options given as off write the very same bytes, and the metadata of
    plain data does not mention them."""
    off = str(tmp_path / 'off')
    si.make_synthetic_iper(off, noise='none', loose='none', shading='flat',
                           **TINY)
    a, b = _files(clean), _files(off)
    assert sorted(a) == sorted(b)
    for rel in a:
        if rel.endswith('.npz'):
            za, zb = np.load(a[rel]), np.load(b[rel])
            for k in za.files:
                assert np.array_equal(za[k], zb[k]), k
        else:
            assert _same_bytes(a[rel], b[rel]), rel
    assert not [p for p in a if si.RENDERED_SMPL_FILENAME in p]
    with open(osp.join(clean, si.META_FILENAME)) as f:
        meta = json.load(f)
    for key in ('noise', 'loose', 'shading'):
        assert key not in meta['params']
    assert 'realism' not in meta and 'annotation_error' not in meta


def test_noise_is_rendered_true_written_noisy(clean, tmp_path):
    """Noise alone changes pose_shape.pkl only: the frames are the renders of
    the true SMPL (the plain data's, byte for byte), which is written to
    pose_shape_rendered.pkl."""
    out = str(tmp_path / 'noise_only')
    si.make_synthetic_iper(out, noise='hmr', **TINY)
    a, b = _files(clean), _files(out)
    assert sorted(b) == sorted(
        list(a) + [f'smpls/{v}/{si.RENDERED_SMPL_FILENAME}' for v in IDS])
    for rel in a:
        if rel.startswith('images/') or rel.endswith('kps.pkl'):
            assert _same_bytes(a[rel], b[rel]), rel
    for vid in IDS:
        rendered = _load(osp.join(out, 'smpls', vid,
                                  si.RENDERED_SMPL_FILENAME))
        plain = _load(osp.join(clean, 'smpls', vid, 'pose_shape.pkl'))
        written = _load(osp.join(out, 'smpls', vid, 'pose_shape.pkl'))
        for k in ('cams', 'pose', 'shape'):
            assert np.array_equal(rendered[k], plain[k])
            assert written[k].shape == plain[k].shape
            assert written[k].dtype == np.float32
            assert not np.allclose(written[k], plain[k])
        # estimates change from frame to frame (shape and camera too)
        assert np.ptp(written['shape'], axis=0).min() > 0
        assert np.ptp(written['cams'], axis=0).min() > 0


def _angles_deg(pose_a, pose_b):
    ra = Rotation.from_rotvec(pose_a.reshape(-1, 3).astype(np.float64))
    rb = Rotation.from_rotvec(pose_b.reshape(-1, 3).astype(np.float64))
    return np.rad2deg((ra.inv() * rb).magnitude()).reshape(len(pose_a), 24)


def test_noise_magnitudes():
    """Measured errors match the configured magnitudes (many frames)."""
    n = 3000
    rng = np.random.default_rng(0)
    pose = M.make_motion('dance', n).astype(np.float32)
    theta = np.concatenate([
        np.tile([1.3, 0.05, -0.1], (n, 1)), pose,
        np.tile(rng.normal(0, 0.8, 10), (n, 1))
    ], 1).astype(np.float32)
    cfg = R.noise_config('hmr', seed=0)
    noisy = R.add_annotation_noise(theta, cfg, R.noise_rng(0, 1, 1, 1))
    ang = _angles_deg(theta[:, 3:75], noisy[:, 3:75])
    body_rms = np.sqrt((ang[:, 1:]**2).mean())
    root_rms = np.sqrt((ang[:, 0]**2).mean())
    assert abs(body_rms - cfg['pose_deg']) < 0.1 * cfg['pose_deg']
    assert abs(root_rms - cfg['root_deg']) < 0.25 * cfg['root_deg']
    scale = noisy[:, 0] / theta[:, 0] - 1
    assert abs(np.sqrt((scale**2).mean()) - cfg['cam_scale']) < \
        0.25 * cfg['cam_scale']
    shift = (noisy[:, 0:1] * noisy[:, 1:3] - theta[:, 0:1] * theta[:, 1:3])
    shift_rms = np.sqrt((shift**2).mean()) / 2  # image sides, per axis
    assert abs(shift_rms - cfg['cam_trans']) < 0.3 * cfg['cam_trans']
    dshape = noisy[:, 75:] - theta[:, 75:]
    offset = dshape.mean(0)  # per-video part
    assert 0.1 < np.sqrt((offset**2).mean()) < 0.6  # std 0.3, 10 draws
    wobble = np.sqrt(((dshape - offset)**2).mean())
    assert abs(wobble - cfg['shape_jitter']) < 0.3 * cfg['shape_jitter']
    # drift: consecutive frames are strongly correlated; jitter: the second
    # differences are larger than those of the smooth part alone
    e = Rotation.from_rotvec(theta[:, 6:9]).inv() * Rotation.from_rotvec(
        noisy[:, 6:9])
    e = e.as_rotvec()
    assert np.corrcoef(e[1:, 0], e[:-1, 0])[0, 1] > 0.9
    smooth = R.add_annotation_noise(theta, dict(cfg, jitter=0.0),
                                    R.noise_rng(0, 1, 1, 1))
    acc = np.abs(np.diff(noisy[:, 6:9], 2, axis=0)).mean()
    acc_smooth = np.abs(np.diff(smooth[:, 6:9], 2, axis=0)).mean()
    assert acc > 3 * acc_smooth
    # scaling a magnitude scales the error
    double = R.add_annotation_noise(theta, dict(cfg, pose_deg=19.0),
                                    R.noise_rng(0, 1, 1, 1))
    ang2 = _angles_deg(theta[:, 3:75], double[:, 3:75])
    assert 1.8 < np.sqrt((ang2[:, 1:]**2).mean()) / body_rms < 2.2
    # deterministic from the seed, different for another seed
    again = R.add_annotation_noise(theta, cfg, R.noise_rng(0, 1, 1, 1))
    assert np.array_equal(again, noisy)
    other = R.add_annotation_noise(theta, cfg, R.noise_rng(1, 1, 1, 1))
    assert not np.allclose(other, noisy)


def test_noisy_dataset_errors_and_metadata(noisy):
    out, summary = noisy
    with open(osp.join(out, si.META_FILENAME)) as f:
        meta = json.load(f)
    params = meta['params']
    assert params['noise'] == dict(preset='hmr', **R.HMR_NOISE, seed=0)
    assert params['loose'] == EVERY_GARMENT
    assert params['shading'] == R.LAMBERT_SHADING
    assert meta['realism']['noise_stream'] == R.NOISE_STREAM
    assert 'rendered_smpls' in meta['layout']
    pose_deg = R.HMR_NOISE['pose_deg']
    for vid in IDS:
        video = meta['videos'][vid]
        assert set(video['loose']) == {'hair', 'skirt', 'sleeves'} or (
            si.make_cloth_spec(0, *map(int, vid.split('/')[:2]))['sleeves']
            == 'none' and set(video['loose']) == {'hair', 'skirt'})
        err = video['annotation_error']
        assert err == pytest.approx(summary['annotation_error'][vid])
        # measured independently from the files
        rendered = load_pose_shape(
            osp.join(out, 'smpls', vid, si.RENDERED_SMPL_FILENAME))
        written = load_pose_shape(osp.join(out, 'smpls', vid,
                                           'pose_shape.pkl'))
        ang = _angles_deg(rendered[:, 3:75], written[:, 3:75])
        rms = np.sqrt((ang[:, 1:]**2).mean())
        assert rms == pytest.approx(err['pose_rms_deg'], rel=1e-4)
        assert 0.5 * pose_deg < rms < 1.6 * pose_deg  # 12 frames only
        assert 20 < err['mpjpe_mm'] < 250 and 15 < err['pa_mpjpe_mm'] < 200
    mean = meta['annotation_error']['mean']
    assert 0.6 * pose_deg < mean['pose_rms_deg'] < 1.4 * pose_deg


def test_resumable_deterministic_and_guarded(noisy, tmp_path):
    out, _ = noisy
    again = str(tmp_path / 'again')
    kwargs = dict(noise='hmr', loose=EVERY_GARMENT, shading='lambert',
                  **TINY)
    si.make_synthetic_iper(again, **kwargs)
    shutil.rmtree(osp.join(again, 'smpls', '002', '1', '1'))
    summary = si.make_synthetic_iper(again, **kwargs)
    assert summary['rendered'] == ['002/1/1']
    a, b = _files(out), _files(again)
    assert sorted(a) == sorted(b)
    for rel in a:
        if not rel.endswith('.npz'):
            assert _same_bytes(a[rel], b[rel]), rel
    with pytest.raises(ValueError, match='other parameters'):
        si.make_synthetic_iper(again, **dict(kwargs, noise=dict(
            pose_deg=3.0)))
    with pytest.raises(ValueError, match='other parameters'):
        si.make_synthetic_iper(again, **dict(kwargs, shading=None))
    # another noise seed: same frames, other annotations
    reseeded = str(tmp_path / 'reseeded')
    si.make_synthetic_iper(reseeded, **dict(kwargs, noise=dict(seed=5)))
    for vid in IDS:
        assert _same_bytes(osp.join(out, 'images', vid, '005.jpg'),
                           osp.join(reseeded, 'images', vid, '005.jpg'))
        assert not _same_bytes(
            osp.join(out, 'smpls', vid, 'pose_shape.pkl'),
            osp.join(reseeded, 'smpls', vid, 'pose_shape.pkl'))


def _video_inputs(renderer, seed, vid, yaw=None):
    a, c, k = map(int, vid.split('/'))
    actor = si.actor_params(seed, a)
    cloth = si.make_cloth_spec(seed, a, c)
    if yaw is None:
        pose = si.video_motion('dance', 6, np.random.default_rng(k))
    else:
        pose = M.rest_arms_down(len(yaw)).astype(np.float32)
        pose[:, :3] = M.global_orient(np.asarray(yaw))
    n = len(pose)
    betas = torch.tensor(actor['betas'])[None]
    verts = renderer.renderer.posed_vertices(torch.from_numpy(pose),
                                             betas.expand(n, -1))
    cam = si.fit_video_camera(verts, np.random.default_rng(0))
    theta = np.concatenate([np.tile(cam, (n, 1)), pose,
                            np.tile(actor['betas'], (n, 1))],
                           1).astype(np.float32)
    return theta, actor, cloth, betas


@pytest.mark.parametrize('garment', ['hair', 'skirt', 'sleeves'])
def test_loose_geometry_leaves_the_smpl_silhouette(renderer, garment):
    theta, actor, cloth, betas = _video_inputs(renderer, 0, '001/1/2')
    cloth = dict(cloth, sleeves='long')
    actor = dict(actor, hair_length=0.8)
    spec = LG.loose_spec(0, 1, 1, actor, cloth, {garment: 1.0})
    assert list(spec) == [garment]
    mesh = LG.build_loose_mesh(renderer.renderer.body_model, renderer.dresser,
                               betas, spec, actor, cloth)
    bg = si.video_background(0, '001/1/2', 64)
    frames0, _, plain = renderer.render(theta, actor, cloth, bg,
                                        return_maps=True)
    frames, kps, maps = renderer.render(theta, actor, cloth, bg, loose=mesh,
                                        return_maps=True)
    assert np.array_equal(plain['mask'], plain['smpl_mask'])
    # the SMPL body is the same, the person is larger than it
    assert np.array_equal(maps['smpl_mask'], plain['smpl_mask'])
    outside = maps['mask'] & ~maps['smpl_mask']
    assert outside.sum(axis=(1, 2)).min() >= 5, outside.sum(axis=(1, 2))
    assert (frames[outside] != frames0[outside]).any(-1).mean() > 0.9
    # keypoints stay those of the SMPL body
    _, kps0 = renderer.render(theta, actor, cloth, bg)
    assert np.array_equal(kps, kps0)


def test_loose_mesh_follows_the_body(renderer):
    """The shells are skinned like the body: posed, a hair shell stays at
    its offset from the head."""
    theta, actor, cloth, betas = _video_inputs(renderer, 0, '002/1/1')
    actor = dict(actor, hair_length=0.5)
    spec = LG.loose_spec(0, 2, 1, actor, cloth, dict(hair=1.0))
    mesh = LG.build_loose_mesh(renderer.renderer.body_model, renderer.dresser,
                               betas, spec, actor, cloth)
    pose = torch.from_numpy(theta[:, 3:75])
    posed = mesh.pose(renderer.renderer.body_model, pose, betas)
    body = renderer.renderer.body_model(pose, betas.expand(len(pose), -1))
    verts = body['vertices']
    d = torch.cdist(posed, verts).min(-1).values  # (B, Ve)
    t = spec['hair']['thickness']
    assert float(d.min()) > 0.3 * t and float(d.max()) < 1.6 * t


def test_shading_varies_with_pose(renderer):
    """With 'lambert', a cloth point's brightness changes as the body turns
    (a fixed light, not at the camera); the albedo does not."""
    yaw = np.deg2rad([-40.0, 0.0, 40.0])
    theta, actor, cloth, _ = _video_inputs(renderer, 0, '001/1/1', yaw=yaw)
    bg = si.video_background(0, '001/1/1', 64)
    cfg = R.shading_config('lambert')
    _, _, lam = renderer.render(theta, actor, cloth, bg, shading=cfg,
                                return_maps=True)
    _, _, flat = renderer.render(theta, actor, cloth, bg, return_maps=True)
    # the chest: front of the upper torso, at the middle
    v = renderer.v_rest.numpy()
    chest = v[(np.abs(v[:, 0]) < 0.04) & (np.abs(v[:, 1] - 0.2) < 0.04)]
    target = chest[chest[:, 2].argmax()]
    shades, flats = [], []
    for i in range(len(yaw)):
        rest = lam['rest'][i][lam['mask'][i]]
        j = np.linalg.norm(rest - target, axis=-1).argmin()
        assert np.linalg.norm(rest[j] - target) < 0.06
        shades.append(lam['shade'][i][lam['mask'][i]][j])
        flats.append(flat['shade'][i][flat['mask'][i]][j])
    shades, flats = np.array(shades), np.array(flats)
    # turning towards the light (it is on the left) brightens the chest
    assert np.ptp(shades) > 0.15, shades
    assert not np.allclose(shades, flats, atol=0.05)
    assert cfg['ambient'] <= shades.min() and shades.max() <= (
        cfg['ambient'] + cfg['diffuse'])


def test_iper_dataset_reads_the_noisy_variant(noisy):
    out, _ = noisy
    ds = IPERDataset(data_root=out, ann_file='train.txt',
                     pipeline=[dict(type='LoadPairFrames')])
    info = ds.video_info(0)
    written = load_pose_shape(osp.join(out, 'smpls', IDS[0],
                                       'pose_shape.pkl'))
    assert np.array_equal(info['smpl'], written)
    item = ds[0]
    assert item['src_img'][0].shape == (64, 64, 3)
    assert np.array_equal(item['tgt_smpl'], written[item['tgt_frame_id']])
    test = IPERDataset(data_root=out, ann_file='val.txt', test_mode=True,
                       protocol_file=si.PROTOCOL_FILENAME,
                       test_task='self_imitation', test_interval=4,
                       pipeline=[dict(type='LoadPairFrames')])
    assert len(test) == 2 * 3  # 2 videos, frames 0, 4, 8
    assert test[0]['video_id'] in IDS[2:]


def test_option_validation():
    with pytest.raises(ValueError, match='unknown noise preset'):
        R.noise_config('vibe', 0)
    with pytest.raises(ValueError, match='unknown noise option'):
        R.noise_config(dict(pose=3), 0)
    with pytest.raises(ValueError, match='>= 0'):
        R.noise_config(dict(pose_deg=-1), 0)
    with pytest.raises(ValueError, match='unknown loose'):
        R.loose_config(['cape'])
    with pytest.raises(ValueError, match='unknown shading'):
        R.shading_config('phong')
    assert R.noise_config(None, 0) is None and R.loose_config('none') is None
    assert R.shading_config('flat') is None
    assert R.noise_config(dict(pose_deg=2, seed=9), 0) == dict(
        R.HMR_NOISE, preset='hmr', pose_deg=2.0, seed=9)
    assert R.loose_config(['hair']) == dict(hair=1.0)
    assert R.loose_config('all') == R.LOOSE_DEFAULTS


def test_cli_options():
    spec = importlib.util.spec_from_file_location('make_synthetic_iper', CLI)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    args = cli.parse_args(['--real-world', '--noise-pose-deg', '5',
                           '--noise-seed', '3'])
    assert args.noise_cfg == dict(preset='hmr', pose_deg=5.0, seed=3)
    assert args.loose == ['all'] and args.shading == 'lambert'
    plain = cli.parse_args([])
    assert plain.noise_cfg is None and plain.loose is None
    assert plain.shading is None
    with pytest.raises(SystemExit):
        cli.parse_args(['--noise-pose-deg', '5'])

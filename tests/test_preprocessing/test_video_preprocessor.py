# Copyright (c) mmlwgan contributors. All rights reserved.
"""VideoPreprocessor: camera conversion, square frames, the iPER layout,
resuming, clear errors (tiny synthetic videos, tiny HMR, CPU)."""
import importlib.util
import json
import os
import os.path as osp
import pickle

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn

from mmlwgan.models.body import crop_person, ndc_to_pixel
from mmlwgan.preprocessing import (FixedBoxDetector, NoPersonError,
                                   VideoPreprocessor, VideoReadError,
                                   WholeFrameDetector, crop_cam_to_frame_cam,
                                   crop_square, frame_cam_to_crop_cam,
                                   map_crop_info, square_region,
                                   video_id_from_path, write_splits)
from mmlwgan.preprocessing.video_preprocessor import region_transform
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.utils import AtomicVideoWriter
from mmlwgan.visualization import BodyRenderer, fit_weak_perspective_camera

TINY_HMR = dict(
    type='HMR',
    backbone=dict(type='ResNetV2', depth=50, stem_channels=8,
                  base_channels=8),
    hidden_channels=32)
NUM_FRAMES = 6


@pytest.fixture(scope='module')
def renderer(synthetic_smpl_npz):
    return BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                        image_size=96)


def _render_frames(renderer, num=NUM_FRAMES):
    """(num, 72, 96, 3) uint8 landscape frames of the synthetic body
    walking on a white background (rows 12-83 of a 96 px square render)."""
    pose = torch.from_numpy(make_motion('walk', num)).float()
    betas = torch.zeros(num, 10)
    with torch.no_grad():
        verts = renderer.posed_vertices(pose, betas)
        cam = fit_weak_perspective_camera(verts[:1], 0.3).expand(num, -1)
        img, _, _ = renderer.render(pose, betas, cam)
    frames = (img.permute(0, 2, 3, 1) * 255).round().byte().numpy()
    return np.ascontiguousarray(frames[:, 12:84])


@pytest.fixture(scope='module')
def video_file(renderer, tmp_path_factory):
    frames = _render_frames(renderer)
    path = str(tmp_path_factory.mktemp('videos') / '007_2_1.mp4')
    with AtomicVideoWriter(path, fps=10) as writer:
        for f in frames:
            writer.write(f)
    return path


@pytest.fixture(scope='module')
def frame_folder(renderer, tmp_path_factory):
    frames = _render_frames(renderer)
    folder = tmp_path_factory.mktemp('frames') / 'my clip'
    folder.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f'{i}.png'), f[..., ::-1])
    return str(folder)


def _preprocessor(out_root, smpl, **kwargs):
    kwargs.setdefault('hmr', TINY_HMR)
    kwargs.setdefault('size', 64)
    kwargs.setdefault('progress', False)
    return VideoPreprocessor(str(out_root), smpl, **kwargs)


def _mtimes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            out[path] = os.stat(path).st_mtime_ns
    return out


# ---------------------------------------------------------------------------
# Camera conversion
# ---------------------------------------------------------------------------
def test_crop_cam_to_frame_cam_rendered(synthetic_smpl_npz):
    """Render the body with a known frame camera, crop around it, derive the
    crop camera analytically, convert it back: the original camera."""
    size = 96
    renderer = BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                            image_size=size)
    pose = torch.from_numpy(make_motion('wave', 8)[3:4]).float()
    betas = torch.zeros(1, 10)
    verts = renderer.posed_vertices(pose, betas)
    fit = fit_weak_perspective_camera(verts, 0.4)[0]
    s = 0.7 * float(fit[0])  # smaller and off-centre in the frame
    cam_f = torch.tensor([[s, float(fit[1]) + 0.25 / s,
                           float(fit[2]) - 0.1 / s]])
    with torch.no_grad():
        img, verts_ndc, _ = renderer.render(pose, betas, cam_f)
    frame = (img[0].permute(1, 2, 0) * 255).round().byte().numpy()
    uv = ndc_to_pixel(verts_ndc[0, :, :2].double(), size).numpy()
    bbox = [uv[:, 0].min(), uv[:, 1].min(), uv[:, 0].max(), uv[:, 1].max()]
    crop, info = crop_person(frame, bbox)
    assert crop.shape == (224, 224, 3)

    # Analytic crop camera: crop NDC of every vertex is linear in its XY.
    xy = verts[0, :, :2].double().numpy()
    xc = (uv - np.asarray(info['center'])) / (info['side'] / 2.0)
    n = len(xy)
    zeros, ones = np.zeros(n), np.ones(n)
    design = np.concatenate([
        np.stack([xy[:, 0], ones, zeros], 1),
        np.stack([xy[:, 1], zeros, ones], 1)
    ])
    sol, *_ = np.linalg.lstsq(design, np.concatenate([xc[:, 0], xc[:, 1]]),
                              rcond=None)
    assert np.abs(design @ sol - np.concatenate([xc[:, 0], xc[:, 1]])).max(
    ) < 1e-6
    cam_c = np.array([sol[0], sol[1] / sol[0], sol[2] / sol[0]])

    back = crop_cam_to_frame_cam(cam_c, info)
    np.testing.assert_allclose(back, cam_f.double().numpy()[0], atol=1e-5)
    np.testing.assert_allclose(
        frame_cam_to_crop_cam(cam_f.double().numpy()[0], info), cam_c,
        atol=1e-5)
    back_t = crop_cam_to_frame_cam(torch.from_numpy(cam_c)[None], info)
    assert isinstance(back_t, torch.Tensor) and back_t.shape == (1, 3)
    np.testing.assert_allclose(back_t[0].numpy(), back, atol=1e-12)

    # The crop camera renders the body where the crop shows it.
    crop_renderer = BodyRenderer(renderer.body_model, image_size=224)
    with torch.no_grad():
        _, _, frags = crop_renderer.render(
            pose, betas, torch.from_numpy(cam_c[None]).float())
    sil = (frags.face_idx[0] >= 0).numpy()
    body = np.repeat((frame != 255).any(-1, keepdims=True), 3, -1)
    body_crop, _ = crop_person(body.astype(np.uint8) * 255, bbox)
    body_crop = body_crop[..., 0] > 127
    iou = (sil & body_crop).sum() / (sil | body_crop).sum()
    assert iou > 0.8, iou  # thin limbs of a 96 px rendering, upsampled


def test_crop_cam_needs_square_frame():
    info = dict(center=(10.0, 10.0), side=20.0, image_size=224,
                orig_size=(40, 60))
    with pytest.raises(ValueError, match='square'):
        crop_cam_to_frame_cam(np.array([1.0, 0.0, 0.0]), info)


def test_square_frames_and_crop_info_mapping():
    h, w = 30, 50
    ramp = np.zeros((h, w, 3), np.uint8)
    ramp[..., 0] = (np.arange(w) * 5)[None]
    ramp[..., 1] = (np.arange(h) * 8)[:, None]
    boxes = np.array([[20.0, 5.0, 30.0, 20.0], [22.0, 6.0, 33.0, 22.0]])
    region = square_region(boxes, (h, w), 'person', margin=1.0)
    x0, y0, side = region
    assert side == 17 and 0 <= y0 and y0 + side <= h
    # No resizing: output pixel = frame pixel shifted by the region.
    out = crop_square(ramp, region, side)
    scale, offset = region_transform(region, side)
    assert scale == 1 and offset == (-x0, -y0)
    np.testing.assert_array_equal(out, ramp[y0:y0 + side, x0:x0 + side])
    # Upsampling x2 (bilinear): a ramp is reproduced at the mapped points.
    out2 = crop_square(ramp, region, 2 * side)
    scale, (bx, by) = region_transform(region, 2 * side)
    for u, v in ((25.0, 10.0), (28.0, 14.0)):
        uo, vo = scale * u + bx, scale * v + by
        col, row = int(round(uo)), int(round(vo))
        u_back, v_back = (col - bx) / scale, (row - by) / scale
        assert abs(out2[row, col, 0] - 5 * u_back) <= 1.0
        assert abs(out2[row, col, 1] - 8 * v_back) <= 1.0
    # 'pad' and 'center' regions.
    assert square_region(None, (h, w), 'pad') == (0, -10, 50)
    assert square_region(None, (h, w), 'center') == (10, 0, 30)
    padded = crop_square(ramp, (0, -10, 50), 50)
    np.testing.assert_array_equal(padded[:10], ramp[:1].repeat(10, 0))
    # A crop info moved into the output frame.
    info = dict(center=(25.0, 12.0), side=10.0, orig_size=(h, w))
    moved = map_crop_info(info, 2.0, (1.0, -3.0), (64, 64))
    assert moved['center'] == (51.0, 21.0) and moved['side'] == 20.0
    assert moved['orig_size'] == (64, 64)


def test_cocoplus_from_smpl_joints():
    """A body model without HMR's COCO-plus regressor: SMPL joints and
    smplx landmarks stand in, head_top gets confidence 0."""
    from mmlwgan.models.body.smpl import (COCOPLUS_JOINT_NAMES,
                                          SMPL_JOINT_NAMES,
                                          SMPLX_EXTRA_JOINT_NAMES)
    from mmlwgan.preprocessing.video_preprocessor import \
        cocoplus_from_body_output
    names = SMPL_JOINT_NAMES + SMPLX_EXTRA_JOINT_NAMES[:5]
    joints = torch.arange(len(names) * 3, dtype=torch.float32).reshape(
        1, -1, 3)
    sel, conf = cocoplus_from_body_output(dict(joints=joints), names)
    assert sel.shape == (1, 19, 3) and conf.shape == (19, )
    head_top = COCOPLUS_JOINT_NAMES.index('head_top')
    assert conf[head_top] == 0 and (sel[0, head_top] == 0).all()
    assert conf.sum() == 18
    r_knee = COCOPLUS_JOINT_NAMES.index('right_knee')
    assert torch.equal(sel[0, r_knee], joints[0, names.index('right_knee')])
    l_eye = COCOPLUS_JOINT_NAMES.index('left_eye')
    assert torch.equal(sel[0, l_eye], joints[0, names.index('leye')])
    extra = torch.ones(1, 19, 3)
    sel, conf = cocoplus_from_body_output(
        dict(joints=joints, keypoints_extra=extra), names)
    assert sel is extra and conf.sum() == 19


def test_video_id_from_path():
    assert video_id_from_path('/x/001_9_1.mp4') == '001/9/1'
    assert video_id_from_path('/x/my clip.mp4') == 'my-clip/1/1'
    assert video_id_from_path('/x/a_b_c_d/') == 'a_b_c_d/1/1'


# ---------------------------------------------------------------------------
# End to end
# ---------------------------------------------------------------------------
def test_video_to_iper_layout(video_file, synthetic_smpl_npz, tmp_path):
    out_root = tmp_path / 'my_iper'
    pre = _preprocessor(out_root, synthetic_smpl_npz,
                        detector=WholeFrameDetector())
    res = pre.process(video_file)
    vid = '007/2/1'
    assert res['video_id'] == vid and not res['skipped']
    assert res['num_frames'] == NUM_FRAMES

    images = sorted(os.listdir(out_root / 'images' / vid))
    masks = sorted(os.listdir(out_root / 'masks' / vid))
    assert images == [f'frame{i:08d}.png' for i in range(NUM_FRAMES)]
    assert masks == images
    img = cv2.imread(str(out_root / 'images' / vid / images[0]))
    assert img.shape == (64, 64, 3)
    mask = cv2.imread(str(out_root / 'masks' / vid / masks[0]),
                      cv2.IMREAD_UNCHANGED)
    assert mask.shape == (64, 64) and set(np.unique(mask)) <= {0, 255}
    with open(out_root / 'smpls' / vid / 'pose_shape.pkl', 'rb') as f:
        smpl = pickle.load(f)
    assert smpl['cams'].shape == (NUM_FRAMES, 3)
    assert smpl['pose'].shape == (NUM_FRAMES, 72)
    assert smpl['shape'].shape == (NUM_FRAMES, 10)
    assert all(v.dtype == np.float32 for v in smpl.values())
    with open(out_root / 'smpls' / vid / 'kps.pkl', 'rb') as f:
        kps = pickle.load(f)
    assert kps['kps'].shape == (NUM_FRAMES, 19, 2)
    assert kps['scores'].shape == (NUM_FRAMES, 19)
    with open(out_root / 'smpls' / vid / 'meta.json') as f:
        meta = json.load(f)
    assert meta['num_frames'] == NUM_FRAMES and len(meta['boxes']) == 6
    # 72 x 96 frames padded to a 96 px square, resized to 64.
    assert meta['frame_region'] == dict(x0=0, y0=-12, side=96)
    assert not osp.exists(out_root / '.tmp')

    train, val = write_splits(str(out_root), train_ratio=1.0)
    assert train == [vid] and val == []
    assert (out_root / 'train.txt').read_text() == f'{vid}\n'
    try:
        from mmlwgan.datasets.iper_dataset import IPERDataset
    except ImportError:  # the dataset module is optional here
        IPERDataset = None
    if IPERDataset is not None:
        ds = IPERDataset(ann_file='train.txt', data_root=str(out_root),
                         pairs_per_video=2, seed=0)
        assert len(ds) == 2
        item = ds.get_data_info(0)
        assert item['video_id'] == vid
        assert item['src_smpl'].shape == (1, 85)
        assert item['tgt_kps'].shape == (19, 2)
        assert osp.isfile(item['tgt_img_path'])

    # Rerun: nothing is rewritten.
    before = _mtimes(out_root)
    res = pre.process(video_file)
    assert res['skipped'] and res['num_frames'] == NUM_FRAMES
    assert _mtimes(out_root) == before


class _ConstantHMR(nn.Module):
    """Stands in for HMR: the same theta for every crop."""

    def __init__(self, theta):
        super().__init__()
        self.register_buffer('theta', theta)

    def forward(self, x):
        return [self.theta.expand(x.shape[0], -1)] * 3


class _FakeKeypoints:
    """Keypoints at the box corners (pixels), head_top missing."""

    def predict_cocoplus(self, image, bboxes):
        k = np.zeros((1, 19, 2), np.float32)
        k[0, :] = bboxes[0, :2]
        k[0, 1] = bboxes[0, 2:]
        s = np.ones((1, 19), np.float32)
        s[0, 13] = 0
        return k, s


def test_camera_and_keypoint_plumbing(frame_folder, synthetic_smpl_npz,
                                      tmp_path):
    """A whole, padded frame seen by HMR as a 'box' crop is the output frame
    itself, so a crop camera comes out unchanged; keypoints become NDC."""
    theta = torch.zeros(1, 85)
    theta[0, :3] = torch.tensor([0.8, 0.1, -0.2])
    theta[0, 3:6] = torch.tensor([np.pi, 0, 0])
    out_root = tmp_path / 'plumbing'
    calls = []

    def segmenter(img, box):  # a mask on every other frame
        calls.append(box)
        if len(calls) % 2:
            return None
        mask = np.zeros(img.shape[:2], bool)
        mask[:5, :7] = True
        return mask

    pre = _preprocessor(out_root, synthetic_smpl_npz,
                        hmr=_ConstantHMR(theta), segmenter=segmenter,
                        keypoint_estimator=_FakeKeypoints(), batch_size=4)
    res = pre.process(frame_folder)
    vid = 'my-clip/1/1'
    assert res['video_id'] == vid and res['num_frames'] == NUM_FRAMES
    with open(out_root / 'smpls' / vid / 'pose_shape.pkl', 'rb') as f:
        smpl = pickle.load(f)
    np.testing.assert_allclose(smpl['cams'],
                               np.tile([[0.8, 0.1, -0.2]], (6, 1)),
                               atol=1e-5)
    with open(out_root / 'smpls' / vid / 'kps.pkl', 'rb') as f:
        kps = pickle.load(f)
    # Box of the whole 72 x 96 frame, padded to 96 and resized to 64: its
    # NDC corners are (-1, -0.75) and (1, 0.75).
    np.testing.assert_allclose(kps['kps'][:, 0], [[-1, -0.75]] * 6,
                               atol=1e-5)
    np.testing.assert_allclose(kps['kps'][:, 1], [[1, 0.75]] * 6, atol=1e-5)
    np.testing.assert_array_equal(kps['kps'][:, 13], 0)
    assert (kps['scores'][:, 13] == 0).all()
    # Masks: the segmenter's where it gives one, else the mesh silhouette.
    assert len(calls) == NUM_FRAMES
    np.testing.assert_allclose(calls[0], [-0.5, 7.5, 63.5, 55.5], atol=1e-4)
    for i in range(NUM_FRAMES):
        mask = cv2.imread(str(out_root / 'masks' / vid / f'frame{i:08d}.png'),
                          cv2.IMREAD_UNCHANGED)
        if i % 2:
            assert (mask > 0).sum() == 35 and mask[:5, :7].all()
        else:
            assert 0.05 < (mask > 0).mean() < 0.9


def test_fixed_box_person_frames(frame_folder, synthetic_smpl_npz, tmp_path):
    out_root = tmp_path / 'fixed'
    pre = _preprocessor(out_root, synthetic_smpl_npz,
                        detector=FixedBoxDetector([30, 5, 66, 67]),
                        frame_step=2)
    res = pre.process(frame_folder, '001/1/2')
    assert res['num_frames'] == 3
    with open(out_root / 'smpls' / '001/1/2' / 'meta.json') as f:
        meta = json.load(f)
    x0, y0, side = (meta['frame_region'][k] for k in ('x0', 'y0', 'side'))
    assert side == round(62 * 1.2) and y0 == -1  # kept inside where it fits
    assert len(os.listdir(out_root / 'images' / '001/1/2')) == 3


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------
def _assert_nothing_written(out_root):
    assert not osp.exists(out_root) or os.listdir(out_root) == []


@pytest.mark.parametrize('kind', ['empty', 'garbage', 'missing', 'folder'])
def test_unreadable_video(kind, synthetic_smpl_npz, tmp_path):
    path = tmp_path / 'in' / 'bad_1_1.mp4'
    path.parent.mkdir()
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'garbage':
        path.write_bytes(os.urandom(2048))
    elif kind == 'folder':
        path = tmp_path / 'in' / 'no_frames'
        path.mkdir()
        (path / 'notes.txt').write_text('x')
    out_root = tmp_path / 'out'
    pre = _preprocessor(out_root, synthetic_smpl_npz)
    with pytest.raises(VideoReadError, match=str(path.name)):
        pre.process(str(path), '001/1/1')
    _assert_nothing_written(out_root)


class _NobodyDetector(WholeFrameDetector):

    def __call__(self, image):
        return np.zeros((0, 4), np.float32), np.zeros((0, ), np.float32)


def test_hmr_weights_by_url_refused(synthetic_smpl_npz, tmp_path):
    with pytest.raises(ValueError, match='URL'):
        _preprocessor(tmp_path, synthetic_smpl_npz,
                      hmr_checkpoint='https://example.com/hmr.pth')
    with pytest.raises(ValueError, match='URL'):
        _preprocessor(tmp_path, synthetic_smpl_npz,
                      hmr=dict(TINY_HMR, pretrained='https://x/hmr.pth'))


def test_no_person(video_file, synthetic_smpl_npz, tmp_path):
    out_root = tmp_path / 'out'
    pre = _preprocessor(out_root, synthetic_smpl_npz,
                        detector=_NobodyDetector())
    with pytest.raises(NoPersonError, match='frame 0') as info:
        pre.process(video_file)
    assert info.value.frame_index == 0
    assert isinstance(info.value, ValueError)
    _assert_nothing_written(out_root)


def test_failed_video_keeps_finished_ones(video_file, frame_folder,
                                          synthetic_smpl_npz, tmp_path):
    out_root = tmp_path / 'out'
    pre = _preprocessor(out_root, synthetic_smpl_npz,
                        hmr=_ConstantHMR(torch.cat(
                            [torch.tensor([[0.8, 0.0, 0.0, np.pi]]),
                             torch.zeros(1, 81)], 1)))
    missing = str(tmp_path / 'nope_1_1.mp4')
    results = pre.process_videos([frame_folder, missing], on_error='skip')
    assert 'error' not in results[0] and 'does not exist' in results[1][
        'error']
    assert os.listdir(out_root / 'images') == ['my-clip']
    assert not osp.exists(out_root / '.tmp')


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def _load_cli():
    path = osp.join(
        osp.dirname(__file__), '..', '..', 'tools', 'dataset_converters',
        'preprocess_videos.py')
    spec = importlib.util.spec_from_file_location('preprocess_videos', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli(video_file, frame_folder, synthetic_smpl_npz, tmp_path):
    cfg = tmp_path / 'tiny_hmr.py'
    cfg.write_text(f'hmr = {TINY_HMR!r}\n')
    out_root = tmp_path / 'cli_out'
    cli = _load_cli()
    argv = [
        '--videos', video_file, frame_folder, '--out-root', str(out_root),
        '--smpl', synthetic_smpl_npz, '--hmr-config', str(cfg), '--size',
        '48', '--whole-frame', '--split-train-ratio', '0.5', '--no-progress'
    ]
    assert cli.main(argv) == 0
    train = (out_root / 'train.txt').read_text().split()
    val = (out_root / 'val.txt').read_text().split()
    assert sorted(train + val) == ['007/2/1', 'my-clip/1/1']
    assert len(train) == 1 and len(val) == 1
    # A second run skips both and keeps the split.
    assert cli.main(argv) == 0
    assert (out_root / 'train.txt').read_text().split() == train
    assert cli.main(['--videos', str(tmp_path / 'missing.mp4'),
                     '--out-root', str(out_root), '--smpl',
                     synthetic_smpl_npz, '--hmr-config', str(cfg),
                     '--no-progress']) == 1


def test_cli_with_openmmlab_models(frame_folder, synthetic_smpl_npz,
                                   tmp_path, capsys):
    """--pose-config (random RTMPose-s) fills kps.pkl; --det-config with a
    detector that finds nobody fails cleanly, naming the frame."""
    pytest.importorskip('mmpose')
    cfg = tmp_path / 'tiny_hmr.py'
    cfg.write_text(f'hmr = {TINY_HMR!r}\n')
    out_root = tmp_path / 'cli_mm'
    cli = _load_cli()
    common = [
        '--videos', frame_folder, '--out-root', str(out_root), '--smpl',
        synthetic_smpl_npz, '--hmr-config', str(cfg), '--size', '48',
        '--max-frames', '2', '--no-progress'
    ]
    assert cli.main(common + [
        '--pose-config', 'mmpose::body_2d_keypoint/rtmpose/coco/'
        'rtmpose-s_8xb256-420e_coco-256x192.py'
    ]) == 0
    with open(out_root / 'smpls' / 'my-clip/1/1' / 'kps.pkl', 'rb') as f:
        kps = pickle.load(f)
    assert kps['kps'].shape == (2, 19, 2)
    assert (kps['scores'][:, 13] == 0).all()  # head_top: not in COCO
    assert np.abs(kps['kps']).max() <= 2.0

    out2 = tmp_path / 'cli_det'
    code = cli.main(common[:3] + [str(out2)] + common[4:] + [
        '--det-config', 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py',
        '--det-score-thr', '1.01', '--det-input-size', '64'
    ])
    assert code == 1
    assert 'no person found in frame 0' in capsys.readouterr().err
    assert not osp.exists(out2)


def test_resume_after_interruption(frame_folder, synthetic_smpl_npz,
                                   tmp_path):
    """Leftovers of a killed run (a temporary folder, frames moved without
    their SMPL folder) are replaced by a complete video."""
    out_root = tmp_path / 'out'
    vid = 'my-clip/1/1'
    stale_tmp = out_root / '.tmp' / 'my-clip_1_1-abc'
    stale_tmp.mkdir(parents=True)
    (stale_tmp / 'junk.png').write_bytes(b'x')
    partial = out_root / 'images' / vid
    partial.mkdir(parents=True)
    (partial / 'frame00000099.png').write_bytes(b'x')
    pre = _preprocessor(out_root, synthetic_smpl_npz,
                        hmr=_ConstantHMR(torch.cat(
                            [torch.tensor([[0.8, 0.0, 0.0, np.pi]]),
                             torch.zeros(1, 81)], 1)))
    assert not pre.is_done(vid)
    res = pre.process(frame_folder)
    assert not res['skipped'] and pre.is_done(vid)
    assert sorted(os.listdir(partial)) == [
        f'frame{i:08d}.png' for i in range(NUM_FRAMES)
    ]
    assert not osp.exists(out_root / '.tmp')

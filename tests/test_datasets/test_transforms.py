# Copyright (c) mmlwgan contributors. All rights reserved.
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmlwgan.datasets import (LoadPairFrames, PackLWGANInputs, ResizeFrames,
                              count_video_frames, frame_index_from_name,
                              list_frames, natural_sort_key,
                              read_video_frames)
from mmlwgan.structures import LWGANDataSample
from mmlwgan.utils.io import AtomicVideoWriter


def _frames(num=6, h=24, w=32):
    """Frames whose mean grey level encodes their index (robust to mp4)."""
    return [np.full((h, w, 3), 20 + 35 * i, np.uint8) for i in range(num)]


@pytest.fixture(scope='module')
def frame_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('frames')
    for i, img in enumerate(_frames()):
        img = img.copy()
        img[0, 0] = (255, 0, 0)  # a red corner checks RGB order
        cv2.imwrite(str(folder / f'{i:03d}.png'), img[..., ::-1])
    (folder / 'notes.txt').write_text('not a frame')
    (folder / '.hidden.png').write_bytes(b'')
    return str(folder)


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('video') / 'clip.mp4')
    with AtomicVideoWriter(path, fps=10) as writer:
        for img in _frames():
            writer.write(img)
    return path


def test_frame_listing(frame_dir):
    assert list_frames(frame_dir) == [f'{i:03d}.png' for i in range(6)]
    names = ['frame10.png', 'frame9.png', '1000.jpg', '999.jpg', '000.jpg']
    assert sorted(names, key=natural_sort_key) == [
        '000.jpg', '999.jpg', '1000.jpg', 'frame9.png', 'frame10.png'
    ]
    assert frame_index_from_name('035.jpg') == 35
    assert frame_index_from_name('frame00000012.png') == 12
    with pytest.raises(FileNotFoundError, match='frames folder'):
        list_frames(osp.join(frame_dir, 'nope'))


def test_read_video_frames(video):
    assert count_video_frames(video) == 6
    assert count_video_frames(video, exact=True) == 6
    frames = read_video_frames(video, [4, 1, 4])
    assert [f.shape for f in frames] == [(24, 32, 3)] * 3
    levels = [int(round((f.mean() - 20) / 35)) for f in frames]
    assert levels == [4, 1, 4]
    with pytest.raises(IndexError, match='clip.mp4'):
        read_video_frames(video, [2, 9])


def test_load_pair_frames(frame_dir, video):
    paths = [osp.join(frame_dir, f'{i:03d}.png') for i in range(6)]
    results = LoadPairFrames()(dict(
        src_img_paths=[paths[0], paths[2]], src_frame_ids=[0, 2],
        tgt_img_path=paths[5], tgt_frame_id=5))
    assert len(results['src_img']) == 2
    assert results['src_img'][1][5, 5, 0] == 20 + 70
    assert tuple(results['src_img'][0][0, 0]) == (255, 0, 0)  # RGB
    assert results['tgt_img'].shape == (24, 32, 3)
    assert results['ori_shape'] == results['img_shape'] == (24, 32)
    # from a video; the target optional
    results = LoadPairFrames()(dict(
        src_video_path=video, src_frame_ids=[3], tgt_video_path=video,
        tgt_frame_id=1))
    assert int(round((results['src_img'][0].mean() - 20) / 35)) == 3
    assert int(round((results['tgt_img'].mean() - 20) / 35)) == 1
    results = LoadPairFrames()(dict(src_video_path=video, src_frame_ids=[2]))
    assert 'tgt_img' not in results and len(results['src_img']) == 1


def _render(smpl_path, size, cam):
    from mmlwgan.synthetic.motions import make_motion
    from mmlwgan.visualization import BodyRenderer
    renderer = BodyRenderer(
        dict(type='SMPL', model_path=smpl_path), image_size=size)
    pose = torch.from_numpy(make_motion('rest', 1))
    betas = torch.zeros(1, 10)
    with torch.no_grad():
        img, _, frags = renderer.render(pose, betas, cam, background=0.0)
        if cam is None:
            return renderer, pose, betas
    return (img[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), \
        (frags.face_idx[0] >= 0).numpy()


def _iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_resize_keeps_smpl_consistent(synthetic_smpl_npz):
    """A non-square frame whose SMPL camera refers to the square padded
    around it ('pad' convention): 'pad' keeps the camera, 'crop' scales it by
    long / short; either way the resized frame matches a render of the
    (adjusted) camera."""
    from mmlwgan.visualization import fit_weak_perspective_camera
    renderer, pose, betas = _render(synthetic_smpl_npz, 192, None)
    with torch.no_grad():
        verts = renderer.posed_vertices(pose, betas)
    cam = fit_weak_perspective_camera(verts, margin=0.4)  # central body
    _, mask = _render(synthetic_smpl_npz, 192, cam)
    square = np.repeat(mask[..., None] * np.uint8(255), 3, axis=2)
    frame = square[32:160]  # 128 x 192, the body is inside
    theta = np.concatenate([cam.numpy()[0], pose.numpy()[0],
                            betas.numpy()[0]]).astype(np.float32)
    kps = np.array([[0.3, -0.2]], np.float32)

    def run(mode):
        return ResizeFrames(scale=256, mode=mode)(dict(
            src_img=[frame], tgt_img=frame.copy(), src_smpl=theta[None],
            tgt_smpl=theta.copy(), src_kps=kps[None], tgt_kps=kps.copy()))

    out = run('pad')
    assert out['src_img'][0].shape == out['tgt_img'].shape == (256, 256, 3)
    np.testing.assert_array_equal(out['tgt_smpl'], theta)
    _, sil = _render(synthetic_smpl_npz, 256,
                     torch.from_numpy(theta[None, :3]))
    assert _iou(out['tgt_img'][..., 0] > 127, sil) > 0.9
    assert out['img_shape'] == (256, 256)

    out = run('crop')
    assert out['tgt_smpl'][0] == pytest.approx(theta[0] * 1.5)
    np.testing.assert_array_equal(out['tgt_smpl'][1:], theta[1:])
    assert out['src_smpl'][0, 0] == pytest.approx(theta[0] * 1.5)
    np.testing.assert_allclose(out['tgt_kps'], kps * 1.5)
    np.testing.assert_allclose(out['src_kps'], kps[None] * 1.5)
    _, sil = _render(synthetic_smpl_npz, 256,
                     torch.from_numpy(out['tgt_smpl'][None, :3]))
    assert _iou(out['tgt_img'][..., 0] > 127, sil) > 0.9
    # the camera left unchanged would not fit the cropped frame
    _, wrong = _render(synthetic_smpl_npz, 256,
                       torch.from_numpy(theta[None, :3]))
    assert _iou(out['tgt_img'][..., 0] > 127, wrong) < 0.6

    with pytest.warns(UserWarning, match='no longer match'):
        out = run('stretch')
    np.testing.assert_array_equal(out['tgt_smpl'], theta)
    # square frames are only resized, in every mode
    for mode in ('pad', 'crop', 'stretch'):
        out = ResizeFrames(scale=48, mode=mode)(dict(
            src_img=[square], src_smpl=theta[None]))
        np.testing.assert_array_equal(out['src_smpl'], theta[None])
        expected = cv2.resize(square, (48, 48))
        np.testing.assert_array_equal(out['src_img'][0], expected)
    with pytest.raises(ValueError, match='mode'):
        ResizeFrames(mode='fit')


def test_pack_inputs():
    rng = np.random.default_rng(0)
    results = dict(
        src_img=[rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
                 for _ in range(2)],
        tgt_img=rng.integers(0, 255, (16, 16, 3), dtype=np.uint8),
        src_smpl=rng.normal(size=(2, 85)).astype(np.float32),
        tgt_smpl=rng.normal(size=85).astype(np.float32),
        src_kps=np.zeros((2, 19, 2), np.float32),
        tgt_kps=np.zeros((19, 2), np.float32),
        video_id='001/1/1', src_frame_ids=[0, 3], tgt_frame_id=7,
        img_shape=(16, 16))
    packed = PackLWGANInputs()(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs['src_img'].shape == (2, 3, 16, 16)
    assert inputs['src_img'].dtype == torch.uint8
    assert torch.equal(inputs['src_img'][1],
                       torch.from_numpy(results['src_img'][1]).permute(2, 0,
                                                                       1))
    assert inputs['tgt_img'].shape == (3, 16, 16)
    assert isinstance(sample, LWGANDataSample)
    assert sample.src_smpl.shape == (2, 85)
    assert sample.src_smpl.dtype == torch.float32
    assert sample.tgt_smpl.shape == (85, )
    assert sample.src_kps.shape == (2, 19, 2)
    assert sample.tgt_kps.shape == (19, 2)
    assert sample.metainfo['video_id'] == '001/1/1'
    assert sample.metainfo['src_frame_ids'] == [0, 3]
    assert sample.metainfo['tgt_frame_id'] == 7
    assert sample.metainfo['img_shape'] == (16, 16)
    # inference: no target
    packed = PackLWGANInputs()(dict(src_img=results['src_img'][:1],
                                    src_smpl=results['src_smpl'][:1]))
    assert set(packed['inputs']) == {'src_img'}
    assert packed['inputs']['src_img'].shape == (1, 3, 16, 16)
    assert 'tgt_smpl' not in packed['data_samples']

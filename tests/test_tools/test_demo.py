# Copyright (c) mmlwgan contributors. All rights reserved.
"""The bundled demo (``make demo``) and the checkpoint slimming tool."""
import os
import os.path as osp

import cv2
import numpy as np
import torch
import torch.nn.functional as F

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_DATA = osp.join(ROOT, 'demo', 'data')
DEMO_SIZE = 64  # the bundled model's


def count_frames(path):
    cap = cv2.VideoCapture(path)
    n = 0
    while cap.read()[0]:
        n += 1
    return n


def read_frames(path):
    """All frames of a video as float (N, H, W, 3) RGB."""
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame[..., ::-1])
    cap.release()
    return np.stack(frames).astype(np.float32)


def demo_geometry(smpl_path):
    """Where the demo's person must be: the source image (model size), the
    source body, and the body of every motion-imitation target (the
    source's shape in the reference's poses, 'smooth' cameras), rendered
    here from the bundled SMPL parameters."""
    from mmlwgan.apis.inferencers import compose_target_thetas
    from mmlwgan.apis.inferencers.inputs import (load_smpl, open_reference,
                                                 read_image, resize_image)
    from mmlwgan.visualization import BodyRenderer
    renderer = BodyRenderer(dict(type='SMPL', model_path=smpl_path),
                            image_size=DEMO_SIZE)

    def bodies(theta):
        theta = torch.from_numpy(np.asarray(theta, np.float32))
        with torch.no_grad():
            ndc = renderer.project(
                renderer.posed_vertices(theta[:, 3:75], theta[:, 75:]),
                theta[:, :3])
            face_idx = renderer.rasterize(ndc).face_idx
        return (face_idx >= 0).float().unsqueeze(1)

    src_theta = load_smpl(osp.join(DEMO_DATA, 'source_smpl.pkl'))
    ref_theta = open_reference(osp.join(DEMO_DATA, 'motion.pkl')).thetas
    tgt_theta = compose_target_thetas(src_theta[0], ref_theta, 'smooth')
    src = resize_image(read_image(osp.join(DEMO_DATA, 'source.png')),
                       (DEMO_SIZE, DEMO_SIZE)).astype(np.float32)
    return src, bodies(src_theta), bodies(tgt_theta)


def erode(mask, k):
    return -F.max_pool2d(-mask, k, stride=1, padding=k // 2)


def dilate(mask, k):
    return F.max_pool2d(mask, k, stride=1, padding=k // 2)


def check_person_and_background(frames, src, src_body, tgt_body):
    """The frames show the source person where ``tgt_body`` says and the
    source's own background away from the bodies ('original' background).

    Args:
        frames: float (N, H, W, 3) RGB frames.
        src: float (H, W, 3) source image.
        src_body, tgt_body: (1, 1, H, W) source and (N, 1, H, W) target
            body masks.
    """
    # the background the model keeps as it is: far from the source body
    # (the release blanks a 15 px dilation of it for G_BG) ...
    keep = erode(1 - src_body, 15)[0, 0].bool().numpy()
    # ... and away from the target body
    away = keep[None] & ~dilate(tgt_body, 5)[:, 0].bool().numpy()
    inside = erode(tgt_body, 3)[:, 0].bool().numpy()
    assert away.sum(axis=(1, 2)).min() > 500
    assert inside.sum(axis=(1, 2)).min() > 50
    diff = np.abs(frames - src[None]).mean(-1)
    # the background is the source's (within codec error), not black
    assert diff[away].mean() < 20, diff[away].mean()
    # the body region shows the person's clothes, not the background nor
    # G_BG's inpainting of it: its mean colour is near the source person's
    # (measured: at most 22 away; the inpainting is 56 or more away), far
    # from the scene's
    person = src[erode(src_body, 3)[0, 0].bool().numpy()].mean(0)
    scene = src[keep].mean(0)
    assert np.linalg.norm(person - scene) > 50
    for k, frame in enumerate(frames):
        colour = frame[inside[k]].mean(0)
        to_person = np.linalg.norm(colour - person)
        to_scene = np.linalg.norm(colour - scene)
        assert to_person < 35 and to_person < 0.5 * to_scene, (
            k, to_person, to_scene)
    # ... and not a flat colour: the clothes' pattern
    assert frames[inside].std(0).min() > 15


def test_bundled_demo_runs(tmp_path, synthetic_smpl_dir):
    """The demo writes its three videos, and they show the person: in the
    motion video at the targets' rendered bodies over the source's own
    background, in the first novel view where the source stands."""
    from demo.run_demo import main
    out = tmp_path / 'demo'
    main(['--out-dir', str(out), '--cache-dir', synthetic_smpl_dir,
          '--no-progress'])
    assert sorted(os.listdir(out)) == [
        'source-motion.mp4', 'source-motion_side_by_side.mp4',
        'source-novel_view.mp4'
    ]
    motion = read_frames(str(out / 'source-motion.mp4'))
    views = read_frames(str(out / 'source-novel_view.mp4'))
    assert motion.shape == (60, DEMO_SIZE, DEMO_SIZE, 3)
    assert views.shape == (48, DEMO_SIZE, DEMO_SIZE, 3)
    cap = cv2.VideoCapture(str(out / 'source-motion_side_by_side.mp4'))
    ok, frame = cap.read()
    assert ok and frame.shape[1] == 3 * frame.shape[0]
    src, src_body, tgt_body = demo_geometry(
        osp.join(synthetic_smpl_dir, 'SMPL_NEUTRAL.npz'))
    assert tgt_body.shape[0] == 60
    # the person moves: the target bodies differ between frames
    assert (tgt_body[0] != tgt_body[15]).sum() > 20
    check_person_and_background(motion, src, src_body, tgt_body)
    # the first view is the source's own: the person stands where it did,
    # close to the source pixel by pixel (measured 29; G_BG's inpainting
    # there: 64)
    check_person_and_background(views[:1], src, src_body, src_body)
    body = erode(src_body, 3)[0, 0].bool().numpy()
    assert np.abs(views[0] - src).mean(-1)[body].mean() < 45


def test_bundled_checkpoint_is_small_and_labelled():
    path = osp.join(ROOT, 'demo', 'checkpoints',
                    'lwgan_lwb-tiny-v3_synthetic-64_fp16.pth')
    assert osp.getsize(path) < 8 * 2**20
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    assert 'SYNTHETIC' in ckpt['meta']['note']
    assert all(k.startswith('generator.') for k in ckpt['state_dict'])


def test_slim_checkpoint(tmp_path):
    from tools.model_converters.slim_checkpoint import main
    sd = {'generator.w': torch.randn(3, 3), 'generator.n': torch.tensor(5),
          'discriminator.w': torch.randn(2)}
    src = tmp_path / 'full.pth'
    torch.save(dict(state_dict=sd, optimizer={'x': 1}), src)
    dst = tmp_path / 'slim.pth'
    main([str(src), str(dst), '--fp16', '--note', 'test'])
    out = torch.load(dst, weights_only=True)
    assert set(out['state_dict']) == {'generator.w', 'generator.n'}
    assert out['state_dict']['generator.w'].dtype == torch.float16
    assert out['state_dict']['generator.n'].dtype == torch.int64
    torch.testing.assert_close(out['state_dict']['generator.w'].float(),
                               sd['generator.w'], atol=1e-3, rtol=1e-3)
    assert out['meta']['note'] == 'test'

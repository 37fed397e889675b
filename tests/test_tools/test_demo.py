# Copyright (c) mmlwgan contributors. All rights reserved.
"""The bundled demo (``make demo``) and the checkpoint slimming tool."""
import os
import os.path as osp

import cv2
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def count_frames(path):
    cap = cv2.VideoCapture(path)
    n = 0
    while cap.read()[0]:
        n += 1
    return n


def test_bundled_demo_runs(tmp_path, synthetic_smpl_dir):
    from demo.run_demo import main
    out = tmp_path / 'demo'
    main(['--out-dir', str(out), '--cache-dir', synthetic_smpl_dir,
          '--no-progress'])
    assert sorted(os.listdir(out)) == [
        'source-motion.mp4', 'source-motion_side_by_side.mp4',
        'source-novel_view.mp4'
    ]
    assert count_frames(str(out / 'source-motion.mp4')) == 60
    assert count_frames(str(out / 'source-novel_view.mp4')) == 48
    cap = cv2.VideoCapture(str(out / 'source-motion_side_by_side.mp4'))
    ok, frame = cap.read()
    assert ok and frame.shape[1] == 3 * frame.shape[0]


def test_bundled_checkpoint_is_small_and_labelled():
    path = osp.join(ROOT, 'demo', 'checkpoints',
                    'lwgan_lwb-tiny_synthetic-64_fp16.pth')
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

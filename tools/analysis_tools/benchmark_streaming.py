# Copyright (c) mmlwgan contributors. All rights reserved.
"""Streaming check: memory stays flat as the reference video grows.

Runs motion imitation with the bundled demo model on a long reference motion
(the bundled ``demo/data/motion.pkl`` repeated, ``--frames`` frames) and
prints the resident memory after the first batches and at the end, plus the
throughput, while the output mp4 is written as frames come.

Example:
    python tools/analysis_tools/benchmark_streaming.py --frames 600
"""
import argparse
import os.path as osp
import pickle
import tempfile
import time

import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def rss_mb() -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return float('nan')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--frames', type=int, default=600)
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--path', choices=['auto', 'fast', 'plain'],
                        default='auto',
                        help="the inferencer's path (auto: its default)")
    args = parser.parse_args(argv)

    from mmlwgan.apis import MotionImitationInferencer
    from mmlwgan.synthetic import get_synthetic_smpl_path
    smpl = get_synthetic_smpl_path(osp.expanduser(
        '~/.cache/mmlwgan/synthetic_smpl'))
    with open(osp.join(ROOT, 'demo', 'data', 'motion.pkl'), 'rb') as f:
        motion = pickle.load(f)
    reps = -(-args.frames // len(motion['pose']))
    long = {k: np.concatenate([v] * reps)[:args.frames]
            for k, v in motion.items()}
    inferencer = MotionImitationInferencer(
        osp.join(ROOT, 'configs', 'lwgan',
                 'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py'),
        weights=osp.join(ROOT, 'demo', 'checkpoints',
                         'lwgan_lwb-tiny-v3_synthetic-64_fp16.pth'),
        cfg_options={'model.body_model.model_path': smpl},
        show_progress=False)
    samples = []
    # sample memory from the writer: every written batch
    from mmlwgan.apis.inferencers import base_lwgan_inferencer as base
    orig_write = base.OutputWriter.write

    def write(self, frames, *a, **k):
        samples.append((self.num_frames, rss_mb()))
        return orig_write(self, frames, *a, **k)

    base.OutputWriter.write = write
    with tempfile.TemporaryDirectory() as tmp:
        mpath = osp.join(tmp, 'long_motion.pkl')
        with open(mpath, 'wb') as f:
            pickle.dump(long, f)
        t0 = time.perf_counter()
        out = inferencer(
            osp.join(ROOT, 'demo', 'data', 'source.png'), mpath,
            src_smpl=osp.join(ROOT, 'demo', 'data', 'source_smpl.pkl'),
            out_dir=tmp, batch_size=args.batch_size,
            fast=dict(auto=None, fast=True, plain=False)[args.path])
        dt = time.perf_counter() - t0
    base.OutputWriter.write = orig_write
    n = out['num_frames']
    early = samples[min(2, len(samples) - 1)]
    print(f'{n} frames at 64 px in {dt:.1f}s ({n / dt:.1f} frames/s, '
          f'batch {args.batch_size}, {args.path} path)')
    print(f'RSS after {early[0]} frames: {early[1]:.0f} MB; after '
          f'{samples[-1][0]} frames: {samples[-1][1]:.0f} MB; peak sample '
          f'{max(s[1] for s in samples):.0f} MB')


if __name__ == '__main__':
    main()

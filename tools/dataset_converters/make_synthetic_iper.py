# Copyright (c) mmlwgan contributors. All rights reserved.
"""Render a synthetic dataset in the exact layout of iPER.

Writes ``images/``, ``smpls/``, ``train.txt``, ``val.txt``,
``iPER_protocol.json`` and the synthetic body ``smpl_model.npz`` (the
``model_path`` of the SMPL body model to use with it). Rerunning the same
command skips the videos already written (an interrupted run resumes).

Example::

    python tools/dataset_converters/make_synthetic_iper.py \\
        --out data/synthetic_iper --actors 4 --clothes 2 --actions 3 \\
        --frames 60 --size 128 --seed 0
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.testing.synthetic_iper import (  # noqa: E402
    SYNTHETIC_MOTIONS, make_synthetic_iper)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Render a synthetic iPER-format dataset (textured '
        'synthetic bodies, exact SMPL parameters) for tests and quick '
        'training runs.')
    parser.add_argument('--out', default='data/synthetic_iper',
                        help='output folder (default: %(default)s)')
    parser.add_argument('--actors', type=int, default=4,
                        help='number of actors (default: %(default)s)')
    parser.add_argument('--clothes', type=int, default=2,
                        help='outfits per actor (default: %(default)s)')
    parser.add_argument('--actions', type=int, default=3,
                        help='videos per outfit (default: %(default)s)')
    parser.add_argument('--frames', type=int, default=60,
                        help='frames per video (default: %(default)s)')
    parser.add_argument('--size', type=int, default=128,
                        help='frame size in pixels (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0,
                        help='random seed (default: %(default)s)')
    parser.add_argument(
        '--val-actors', type=int, default=None,
        help='actors held out for val.txt (default: a third, at least 1)')
    parser.add_argument(
        '--motions', nargs='+', default=list(SYNTHETIC_MOTIONS),
        help='motions of actions 1, 2, ... (cycled; default: %(default)s)')
    parser.add_argument('--ext', choices=['jpg', 'png'], default='jpg',
                        help='frame format (default: %(default)s)')
    parser.add_argument(
        '--mp4', action='store_true',
        help='also write iPER_256_video_release/<actor>_<cloth>_<action>.mp4')
    parser.add_argument('--batch-size', type=int, default=32,
                        help='frames rendered at once (default: %(default)s)')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    summary = make_synthetic_iper(
        args.out,
        num_actors=args.actors,
        num_clothes=args.clothes,
        num_actions=args.actions,
        num_frames=args.frames,
        image_size=args.size,
        seed=args.seed,
        val_actors=args.val_actors,
        motions=args.motions,
        frame_ext=args.ext,
        write_mp4=args.mp4,
        batch_size=args.batch_size,
        progress=not args.no_progress)
    print(f"synthetic iPER in {summary['out_dir']}: "
          f"{len(summary['train'])} train / {len(summary['val'])} val videos "
          f"({len(summary['rendered'])} rendered, "
          f"{len(summary['skipped'])} already there); body model "
          f"{summary['smpl_path']}")
    return summary


if __name__ == '__main__':
    main()

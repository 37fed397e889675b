# Copyright (c) mmlwgan contributors. All rights reserved.
"""Write the licence-free synthetic body model in SMPL's file format.

Example::

    python tools/misc/make_synthetic_smpl.py --out data/smpl/SMPL_NEUTRAL.npz
    python tools/misc/make_synthetic_smpl.py --out smpl.pkl --format pkl
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.synthetic.body_files import save_synthetic_smpl  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Make a synthetic SMPL-format body model (no licence '
        'needed) for tests and demos.')
    parser.add_argument('--out', required=True, help='output file')
    parser.add_argument(
        '--format',
        choices=['npz', 'pkl'],
        default=None,
        help='file format (default: from the extension of --out, else npz)')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--jitter',
        type=float,
        default=0.03,
        help='relative amplitude of the random body proportions')
    parser.add_argument(
        '--num-betas', type=int, default=10, help='shape components')
    parser.add_argument(
        '--no-chumpy-like',
        action='store_true',
        help='pkl only: store shapedirs as a plain array instead of an '
        'object named chumpy.ch.Ch (as in the SMPL release)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    fmt = args.format
    if fmt is None:
        ext = osp.splitext(args.out)[1].lstrip('.').lower()
        fmt = ext if ext in ('npz', 'pkl') else 'npz'
    path = save_synthetic_smpl(
        args.out,
        fmt=fmt,
        chumpy_like=not args.no_chumpy_like,
        seed=args.seed,
        jitter=args.jitter,
        num_betas=args.num_betas)
    print(f'synthetic SMPL ({fmt}) written to {path}')
    return path


if __name__ == '__main__':
    main()

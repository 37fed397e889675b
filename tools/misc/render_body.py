# Copyright (c) mmlwgan contributors. All rights reserved.
"""Render a body model in a pose to a PNG.

Without ``--smpl`` the synthetic SMPL-format body is generated (once, into
``--cache-dir``) and used, so this runs without licensed files.

Example:
    python tools/misc/render_body.py --motion wave --frame 12 --out outputs/body.png
    python tools/misc/render_body.py --smpl data/smpl/SMPL_NEUTRAL.pkl --motion squat
"""
import argparse
import os.path as osp

import torch

from mmlwgan.synthetic import get_synthetic_smpl_path
from mmlwgan.synthetic.motions import MOTIONS, make_motion
from mmlwgan.utils import write_image
from mmlwgan.visualization import BodyRenderer, to_uint8


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Render a posed body to PNG')
    parser.add_argument('--smpl', default=None,
                        help='SMPL .pkl/.npz (default: the synthetic body)')
    parser.add_argument('--cache-dir', default=osp.expanduser(
        '~/.cache/mmlwgan/synthetic_smpl'))
    parser.add_argument('--motion', default='wave', choices=sorted(MOTIONS))
    parser.add_argument('--num-frames', type=int, default=48,
                        help='length of the motion the frame is taken from')
    parser.add_argument('--frame', type=int, default=12)
    parser.add_argument('--betas', type=float, nargs='*', default=[],
                        help='shape coefficients (missing ones are 0)')
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--out', default='outputs/body.png')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not 0 <= args.frame < args.num_frames:
        raise SystemExit(f'--frame must be in [0, {args.num_frames})')
    smpl_path = args.smpl or get_synthetic_smpl_path(args.cache_dir)
    renderer = BodyRenderer(dict(type='SMPL', model_path=smpl_path),
                            image_size=args.size)
    pose = torch.from_numpy(make_motion(args.motion, args.num_frames))
    pose = pose[args.frame:args.frame + 1]
    betas = torch.zeros(1, renderer.body_model.num_betas)
    betas[0, :len(args.betas)] = torch.tensor(args.betas[:betas.shape[1]])
    with torch.no_grad():
        img, _, frags = renderer.render(pose, betas)
    write_image(args.out, to_uint8(img[0]))
    covered = (frags.face_idx[0] >= 0).float().mean().item()
    print(f'wrote {args.out} ({args.size}x{args.size}, body covers '
          f'{100 * covered:.1f}% of the image)')


if __name__ == '__main__':
    main()

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

The same people with real-world error (HMR-like annotation noise, hair /
skirts / loose sleeves off the SMPL surface, shading from a fixed light; see
``mmlwgan/synthetic/realism.py``)::

    python tools/dataset_converters/make_synthetic_iper.py \\
        --out data/synthetic_iper_noisy ... --real-world
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.synthetic.realism import (  # noqa: E402
    HMR_NOISE, LOOSE_PARTS, NOISE_PRESETS)
from mmlwgan.synthetic.iper import (  # noqa: E402
    SYNTHETIC_MOTIONS, make_synthetic_iper)

#: ``--noise-<name>`` options overriding a noise preset's magnitudes.
NOISE_OPTIONS = dict(
    pose_deg='RMS rotation error of every body joint, degrees',
    root_deg='RMS global-orientation error, degrees',
    shape_std='per-video error of every beta (std)',
    shape_jitter='per-frame wobble of every beta (std)',
    cam_scale='RMS relative error of the camera scale',
    cam_trans='RMS error of the projected position, image sides',
    drift_frames='smoothing (frames) of the drifting part of the error',
    jitter='share of the error variance that is per-frame jitter')


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
    real = parser.add_argument_group(
        'real-world error (all off by default; recorded in '
        'synthetic_iper.json)')
    real.add_argument(
        '--real-world', action='store_true',
        help='shortcut for --noise hmr --loose all --shading lambert')
    real.add_argument(
        '--noise', choices=['none'] + sorted(NOISE_PRESETS), default=None,
        help='annotation noise: render the true SMPL, write an HMR-like '
        'estimate to pose_shape.pkl (the true one to '
        'pose_shape_rendered.pkl)')
    for name, text in NOISE_OPTIONS.items():
        real.add_argument(
            '--noise-' + name.replace('_', '-'), type=float, default=None,
            dest='noise_' + name,
            help=f"{text} (hmr: {HMR_NOISE[name]})")
    real.add_argument('--noise-seed', type=int, default=None,
                      help='seed of the noise (default: --seed)')
    real.add_argument(
        '--loose', nargs='+', default=None,
        choices=['none', 'all'] + list(LOOSE_PARTS),
        help='geometry off the SMPL surface: hair shells, skirts, loose '
        "sleeves ('all': hair for every actor, skirt and sleeves for half "
        'the outfits)')
    real.add_argument(
        '--shading', choices=['flat', 'lambert'], default=None,
        help="'lambert': shading from a fixed light on the posed normals "
        "(default 'flat': light at the camera)")
    args = parser.parse_args(argv)
    if args.real_world:
        args.noise = args.noise or 'hmr'
        args.loose = args.loose or ['all']
        args.shading = args.shading or 'lambert'
    overrides = {k: getattr(args, 'noise_' + k) for k in NOISE_OPTIONS
                 if getattr(args, 'noise_' + k) is not None}
    if args.noise_seed is not None:
        overrides['seed'] = args.noise_seed
    if overrides and args.noise in (None, 'none'):
        parser.error('--noise-* options need --noise hmr (or --real-world)')
    args.noise_cfg = (dict(preset=args.noise, **overrides)
                      if args.noise not in (None, 'none') else None)
    return args


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
        progress=not args.no_progress,
        noise=args.noise_cfg,
        loose=args.loose,
        shading=args.shading)
    print(f"synthetic iPER in {summary['out_dir']}: "
          f"{len(summary['train'])} train / {len(summary['val'])} val videos "
          f"({len(summary['rendered'])} rendered, "
          f"{len(summary['skipped'])} already there); body model "
          f"{summary['smpl_path']}")
    errors = summary.get('annotation_error') or {}
    if errors:
        mean = {k: sum(e[k] for e in errors.values()) / len(errors)
                for k in ('pose_rms_deg', 'mpjpe_mm', 'pa_mpjpe_mm',
                          'accel_mm', 'cam_scale_rms_pct')}
        print('annotation noise (written vs rendered SMPL, mean over '
              f"videos): joints {mean['pose_rms_deg']:.1f} deg RMS, MPJPE "
              f"{mean['mpjpe_mm']:.0f} mm, PA-MPJPE {mean['pa_mpjpe_mm']:.0f}"
              f" mm, acceleration {mean['accel_mm']:.0f} mm/frame^2, camera "
              f"scale {mean['cam_scale_rms_pct']:.1f} %")
    return summary


if __name__ == '__main__':
    main()

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Motion imitation: make the source person perform the reference's motion.

Examples:
    # runs as is: the bundled model (trained on synthetic data, 64 px) on
    # the bundled synthetic person and dance (SMPL given: the model has no
    # HMR); writes outputs/cli/source-motion.mp4 and the side-by-side video
    python demo/motion_imitation.py \\
      --config configs/lwgan/lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py \\
      --checkpoint demo/checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth \\
      --src demo/data/source.png --src-smpl demo/data/source_smpl.pkl \\
      --ref demo/data/motion.pkl --out-dir outputs/cli --side-by-side

    # your photo and video with the release's weights, converted once
    # (tools/model_converters/convert_release.py assets --out
    # checkpoints/lwgan_release writes the config and the checkpoint; HMR
    # estimates the SMPL)
    python demo/motion_imitation.py \\
      --config checkpoints/lwgan_release/config.py \\
      --checkpoint checkpoints/lwgan_release/lwgan.pth \\
      --src person.jpg --ref dance.mp4 --out-dir outputs --side-by-side
    # reference given as a SMPL sequence (iPER pose_shape.pkl), no video:
    python demo/motion_imitation.py ... --ref smpls/001/1/1/pose_shape.pkl

Prints the path of the written video (and of the side-by-side video / PNG
folder when asked for); on a bad input prints one ``error:`` line and exits
with status 1, leaving no partial output (``--debug``: the traceback).
"""
import argparse
import sys

from mmlwgan.apis import MotionImitationInferencer
from mmlwgan.apis.inferencers.camera_strategies import CAM_STRATEGIES
from mmlwgan.apis.inferencers.smoothing import SMOOTH_METHODS
try:  # run as a script: its folder, demo/, is on sys.path
    from cli_utils import (add_common_cli_args, build_cli_inferencer,
                           cli_epilog, common_call_kwargs, run_cli)
except ImportError:  # imported from the repository root (demo.<name>)
    from demo.cli_utils import (add_common_cli_args, build_cli_inferencer,
                                cli_epilog, common_call_kwargs, run_cli)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=cli_epilog(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_cli_args(parser)
    parser.add_argument('--cam-strategy', default='smooth',
                        choices=CAM_STRATEGIES,
                        help='smooth: source camera shifted like the '
                        'reference; source: fixed; copy: reference camera')
    parser.add_argument('--smooth', type=int, nargs='?', const=5, default=0,
                        metavar='WINDOW',
                        help='smooth the reference SMPL over time (window in '
                        'frames, 5 without a value)')
    parser.add_argument('--smooth-method', default='savgol',
                        choices=SMOOTH_METHODS)
    parser.add_argument('--ref-bbox', type=float, nargs=4, default=None,
                        metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help='person box in every reference frame')
    parser.add_argument('--on-missing-person', default='error',
                        choices=('error', 'previous'),
                        help='reference frames where the detector finds '
                        'nobody: fail, or reuse the previous frame (with the '
                        "HOG detector, 'error' gives such frames to HMR "
                        'whole and fails only when it finds nobody in any '
                        'frame)')
    parser.add_argument('--fast', dest='fast', action='store_true',
                        default=None,
                        help='the optimised path (FastTSF; geometry and '
                        'writing overlapped with the generator; same frames '
                        'within 1/255). Default: on CUDA and from 128 px up')
    parser.add_argument('--no-fast', dest='fast', action='store_false',
                        help='the plain path, batch by batch')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)

    def run():
        inferencer = build_cli_inferencer(MotionImitationInferencer, args)
        return inferencer(
            args.src, args.ref, src_smpl=args.src_smpl,
            ref_smpl=args.ref_smpl, cam_strategy=args.cam_strategy,
            smooth=args.smooth, smooth_method=args.smooth_method,
            ref_bbox=args.ref_bbox, on_missing_person=args.on_missing_person,
            fast=args.fast, **common_call_kwargs(args))

    return run_cli(run, args.debug)


if __name__ == '__main__':
    sys.exit(main())

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Novel view synthesis: the source person seen from other angles.

Examples:
    # runs as is: the bundled model (trained on synthetic data, 64 px) on
    # the bundled synthetic person, a 360-degree turn in 36 views; writes
    # outputs/cli/source-novel_view.mp4
    python demo/novel_view.py \\
      --config configs/lwgan/lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py \\
      --checkpoint demo/checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth \\
      --src demo/data/source.png --src-smpl demo/data/source_smpl.pkl \\
      --out-dir outputs/cli --num-views 36

    # your photo with the release's weights, converted once
    # (tools/model_converters/convert_release.py assets --out
    # checkpoints/lwgan_release)
    python demo/novel_view.py \\
      --config checkpoints/lwgan_release/config.py \\
      --checkpoint checkpoints/lwgan_release/lwgan.pth --src person.jpg \\
      --out-dir outputs --num-views 36
    # given Euler angles (degrees about x, y, z), in T-pose
    python demo/novel_view.py ... --views 0,30,0 0,90,0 --t-pose

Prints the output path(s); on a bad input prints one ``error:`` line and
exits with status 1, leaving no partial output (``--debug``: the traceback).
"""
import argparse
import sys

from mmlwgan.apis import NovelViewInferencer
try:  # run as a script: its folder, demo/, is on sys.path
    from cli_utils import (add_common_cli_args, build_cli_inferencer,
                           cli_epilog, common_call_kwargs, run_cli)
except ImportError:  # imported from the repository root (demo.<name>)
    from demo.cli_utils import (add_common_cli_args, build_cli_inferencer,
                                cli_epilog, common_call_kwargs, run_cli)


def _euler(text: str):
    try:
        values = [float(v) for v in text.split(',')]
    except ValueError:
        values = []
    if len(values) != 3:
        raise argparse.ArgumentTypeError(
            f'a view is three comma-separated angles in degrees, got {text!r}')
    return values


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0], epilog=cli_epilog(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_cli_args(parser, with_ref=False)
    parser.add_argument('--num-views', type=int, default=36,
                        help='views of the 360-degree sweep')
    parser.add_argument('--axis', default='y', choices=('x', 'y', 'z'),
                        help='sweep axis (y: vertical, turns the person)')
    parser.add_argument('--views', type=_euler, nargs='+', default=None,
                        metavar='RX,RY,RZ',
                        help='explicit Euler angles in degrees (instead of '
                        'the sweep)')
    parser.add_argument('--t-pose', action='store_true',
                        help='show the body in T-pose')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)

    def run():
        inferencer = build_cli_inferencer(NovelViewInferencer, args)
        return inferencer(
            args.src, src_smpl=args.src_smpl, views=args.views,
            num_views=args.num_views, axis=args.axis, t_pose=args.t_pose,
            **common_call_kwargs(args))

    return run_cli(run, args.debug)


if __name__ == '__main__':
    sys.exit(main())

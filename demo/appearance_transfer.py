# Copyright (c) mmlwgan contributors. All rights reserved.
"""Appearance transfer: dress the source person in the reference's clothes.

Examples:
    # runs as is: the bundled model (trained on synthetic data, 64 px); the
    # bundled synthetic person is also the reference (a smoke test: give a
    # picture of someone else); writes outputs/cli/source-wears-source.mp4
    python demo/appearance_transfer.py \\
      --config configs/lwgan/lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py \\
      --checkpoint demo/checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth \\
      --src demo/data/source.png --src-smpl demo/data/source_smpl.pkl \\
      --ref demo/data/source.png --ref-smpl demo/data/source_smpl.pkl \\
      --out-dir outputs/cli

    # your photos with the release's weights, converted once
    # (tools/model_converters/convert_release.py assets --out
    # checkpoints/lwgan_release; its SMPL has the release's body parts)
    python demo/appearance_transfer.py \\
      --config checkpoints/lwgan_release/config.py \\
      --checkpoint checkpoints/lwgan_release/lwgan.pth --src person.jpg \\
      --ref clothes.jpg --out-dir outputs
    # a real SMPL without part labels: give the release's part file
    python demo/appearance_transfer.py ... --part-file smpl_part_info.json

The head (``--keep-parts``) stays the source's; every other body part takes
the reference's clothes. A folder or video reference gives one frame per
reference frame. Prints the output path(s); on a bad input prints one
``error:`` line and exits with status 1, leaving no partial output
(``--debug``: the traceback).
"""
import argparse
import sys

from mmlwgan.apis import AppearanceTransferInferencer
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
    parser.add_argument('--keep-parts', nargs='+', default=['head'],
                        help='body parts kept from the source')
    parser.add_argument('--part-file', default=None,
                        help="the release's smpl_part_info.json, for a body "
                        'model file without part labels')
    parser.add_argument('--ref-bbox', type=float, nargs=4, default=None,
                        metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help='person box in the reference image(s)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)

    def run():
        inferencer = build_cli_inferencer(AppearanceTransferInferencer, args,
                                          part_file=args.part_file)
        return inferencer(
            args.src, args.ref, src_smpl=args.src_smpl,
            ref_smpl=args.ref_smpl, keep_parts=args.keep_parts,
            ref_bbox=args.ref_bbox, **common_call_kwargs(args))

    return run_cli(run, args.debug)


if __name__ == '__main__':
    sys.exit(main())

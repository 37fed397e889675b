# Copyright (c) mmlwgan contributors. All rights reserved.
"""Appearance transfer: dress the source person in the reference's clothes.

Examples:
    python demo/appearance_transfer.py --config configs/lwgan/lwgan_iper.py \
        --checkpoint checkpoints/lwgan_iper.pth --src person.jpg \
        --ref clothes.jpg --out-dir outputs
    # a real SMPL without part labels: give the release's part file
    python demo/appearance_transfer.py ... --part-file smpl_part_info.json

The head (``--keep-parts``) stays the source's; every other body part takes
the reference's clothes. A folder or video reference gives one frame per
reference frame. Prints the output path(s); on a bad input prints one
``error:`` line and exits with status 1.
"""
import argparse
import sys

from mmlwgan.apis import AppearanceTransferInferencer
from mmlwgan.apis.inferencers.base_lwgan_inferencer import (
    add_common_cli_args, build_cli_inferencer, common_call_kwargs, run_cli)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
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

    return run_cli(run)


if __name__ == '__main__':
    sys.exit(main())

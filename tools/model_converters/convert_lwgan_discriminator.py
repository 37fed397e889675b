# Copyright (c) mmlwgan contributors. All rights reserved.
r"""Convert a released Liquid Warping GAN PatchGAN to an mmlwgan checkpoint.

Reads the ICCV release's discriminator weights (``net_epoch_30_id_D.pth``;
``'state_dict'`` / ``'model'`` wrappers and ``'module.'`` prefixes are
handled), checks them strictly against ``PatchDiscriminator()`` and writes
``{'meta': ..., 'state_dict': ...}`` atomically.

Example::

    python tools/model_converters/convert_lwgan_discriminator.py \
        net_epoch_30_id_D.pth checkpoints/lwgan_patch_d_iper-256.pth
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.models.converters import (  # noqa: E402
    ConversionError, convert_lwgan_discriminator, load_checkpoint_file,
    save_checkpoint_atomic)
from mmlwgan.models.converters.cli import (  # noqa: E402
    conversion_meta, conversion_summary, converter_parser)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = converter_parser(
        'Convert a released LWGAN discriminator checkpoint',
        'released discriminator checkpoint')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        sd = load_checkpoint_file(args.src)
        converted = convert_lwgan_discriminator(sd)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    save_checkpoint_atomic(
        converted, args.dst,
        conversion_meta(args.src, 'convert_lwgan_discriminator'))
    print(conversion_summary(converted, args.src, args.dst))
    return 0


if __name__ == '__main__':
    sys.exit(main())

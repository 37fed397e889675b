# Copyright (c) mmlwgan contributors. All rights reserved.
r"""Convert a released Liquid Warping GAN generator to an mmlwgan checkpoint.

Reads the ICCV release's generator weights (``net_epoch_30_id_G.pth``: a raw
state dict; ``'state_dict'`` / ``'model'`` wrappers and DataParallel's
``'module.'`` prefixes are handled), renames the keys, checks them strictly
against the released architecture and writes ``{'meta': ..., 'state_dict':
...}`` atomically. Load it with ``init_cfg=dict(type='Pretrained',
checkpoint=OUT)`` or ``load_checkpoint``.

Example::

    python tools/model_converters/convert_lwgan_generator.py \
        net_epoch_30_id_G.pth checkpoints/lwgan_lwb_iper-256.pth
    python tools/model_converters/convert_lwgan_generator.py \
        concat_G.pth checkpoints/lwgan_wc_iper-256.pth --variant concat
"""
import argparse
import os.path as osp
import sys
import time
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.models.converters import (  # noqa: E402
    ConversionError, convert_lwgan_generator, load_checkpoint_file,
    num_values, save_checkpoint_atomic)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a released LWGAN generator checkpoint')
    parser.add_argument('src', help='released generator checkpoint (.pth)')
    parser.add_argument('dst', help='output mmengine checkpoint (.pth)')
    parser.add_argument(
        '--variant',
        default='lwb',
        choices=['lwb', 'concat'],
        help='lwb: LWBGenerator (default); concat: the W_C baseline')
    parser.add_argument(
        '--unsafe-load',
        action='store_true',
        help='torch.load with weights_only=False (trusted files only)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        sd = load_checkpoint_file(args.src,
                                  weights_only=not args.unsafe_load)
        converted = convert_lwgan_generator(sd, variant=args.variant)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    meta = dict(
        converted_from=osp.basename(args.src),
        converter='convert_lwgan_generator',
        variant=args.variant,
        flow_align_corners_of_fusion=True,
        time=time.strftime('%Y-%m-%d %H:%M:%S'))
    save_checkpoint_atomic(converted, args.dst, meta)
    print(f'{len(converted)} tensors, {num_values(converted)} values -> '
          f'{args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

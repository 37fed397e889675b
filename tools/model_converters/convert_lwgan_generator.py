# Copyright (c) mmlwgan contributors. All rights reserved.
r"""Convert a released Liquid Warping GAN generator to an mmlwgan checkpoint.

Reads the ICCV release's generator weights (``net_epoch_30_id_G.pth``: a raw
state dict; ``'state_dict'`` / ``'model'`` wrappers and DataParallel's
``'module.'`` prefixes are handled), renames the keys, checks them strictly
against the released architecture and writes ``{'meta': ..., 'state_dict':
...}`` atomically, with the generator's own keys (``bg_net.*``, ...; no
``generator.`` prefix). Give it to a model with ``--checkpoint OUT`` /
``init_model(cfg, OUT)`` (a generator-only file is recognised and loaded into
the generator) or ``model.generator.init_cfg=dict(type='Pretrained',
checkpoint=OUT)`` (loaded by ``init_model`` and by training); either loads
every tensor or fails naming the keys.

For the whole release (generator, discriminator, HMR and its SMPL, UV
mapper, SphereFace, and a config that runs as is) use
``tools/model_converters/convert_release.py`` instead.

Example::

    python tools/model_converters/convert_lwgan_generator.py \
        net_epoch_30_id_G.pth checkpoints/lwgan_lwb_iper-256.pth
    python tools/model_converters/convert_lwgan_generator.py \
        concat_G.pth checkpoints/lwgan_wc_iper-256.pth --variant concat
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.models.converters import (  # noqa: E402
    ConversionError, convert_lwgan_generator, load_checkpoint_file,
    save_checkpoint_atomic)
from mmlwgan.models.converters.cli import (  # noqa: E402
    conversion_meta, conversion_summary, converter_parser)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = converter_parser(
        'Convert a released LWGAN generator checkpoint',
        'released generator checkpoint (.pth)')
    parser.add_argument(
        '--variant',
        default='lwb',
        choices=['lwb', 'concat'],
        help='lwb: LWBGenerator (default); concat: the W_C baseline')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        sd = load_checkpoint_file(args.src)
        converted = convert_lwgan_generator(sd, variant=args.variant)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    meta = conversion_meta(args.src, 'convert_lwgan_generator',
                           variant=args.variant,
                           flow_align_corners_of_fusion=True)
    save_checkpoint_atomic(converted, args.dst, meta)
    print(conversion_summary(converted, args.src, args.dst))
    return 0


if __name__ == '__main__':
    sys.exit(main())

# Copyright (c) mmlwgan contributors. All rights reserved.
r"""Convert the Liquid Warping GAN release's assets to a ready-to-run folder.

Finds, under the folders given (searched recursively), the release's
generator (``lwb_imper_fashion_place/net_epoch_30_id_G.pth`` by default) and
discriminator, ``hmr_tf2pt.pth`` (HMR and the neutral SMPL inside it),
``smpl_faces.npy``, ``mapper.txt``, ``sphere20a_20171020.pth`` and
``smpl_part_info.json``; converts each with the single-file converters and
writes into ``--out``:

* ``lwgan.pth``: the model checkpoint (``generator.*``, ``discriminator.*``);
* ``hmr.pth``, ``smpl_neutral.npz``, ``mapper.txt``, ``sphere20a.pth``;
* ``config.py``: inherits the released recipe with HMR, the body model, the
  UV mapper and the face network filled in (paths relative to the config, so
  it runs from any folder and the folder can be moved).

The written model is then built once from ``config.py`` and ``lwgan.pth``
(every network loads strictly; ``--no-verify`` skips it).

Examples:
    # pretrains.zip and checkpoints.zip unpacked under assets/
    python tools/model_converters/convert_release.py assets \
        --out checkpoints/lwgan_release
    # checkpoints.zip unpacked to outputs/checkpoints, as the release says
    python tools/model_converters/convert_release.py assets/pretrains \
        outputs/checkpoints --out checkpoints/lwgan_release \
        --generator lwb_imper
    # then
    python demo/motion_imitation.py \
        --config checkpoints/lwgan_release/config.py \
        --checkpoint checkpoints/lwgan_release/lwgan.pth \
        --src photo.jpg --ref dance.mp4

Exits with status 1 and one ``error:`` line when a file is missing or does
not convert.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.models.converters import ConversionError  # noqa: E402
from mmlwgan.models.converters.release import (  # noqa: E402
    OUTPUT_NAMES, convert_release)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        epilog='examples:' + __doc__.split('Examples:', 1)[1].split(
            '\n\n', 1)[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        'release_dirs', nargs='+', metavar='RELEASE_ASSETS_DIR',
        help="the release's unpacked assets (searched recursively)")
    parser.add_argument('--out', required=True, metavar='DIR',
                        help='output folder (config.py, lwgan.pth, ...)')
    parser.add_argument(
        '--generator', default=None, metavar='NAME_OR_FILE',
        help='generator folder name (lwb_imper, lwb_imper_place, '
        'lwb_imper_fashion_place: the default) or a *_id_G.pth file')
    parser.add_argument('--image-size', type=int, default=256,
                        help='size the written config runs at (default 256, '
                        "the release's)")
    parser.add_argument('--vgg19', default=None, metavar='FILE',
                        help="torchvision's vgg19-dcbb9e9d.pth, for the "
                        'perceptual loss when training from the written '
                        "config (not in the release's assets)")
    parser.add_argument('--no-verify', action='store_true',
                        help='do not build the model from the written files')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.image_size < 32 or args.image_size % 8:
        print(f'error: --image-size {args.image_size}: give a multiple of 8 '
              'from 32 up', file=sys.stderr)
        return 1
    try:
        convert_release(args.release_dirs, args.out,
                        generator=args.generator, image_size=args.image_size,
                        vgg19=args.vgg19, verify=not args.no_verify)
    except (ConversionError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    config = osp.join(args.out, OUTPUT_NAMES['config'])
    ckpt = osp.join(args.out, OUTPUT_NAMES['checkpoint'])
    print(f'done: python demo/motion_imitation.py --config {config} '
          f'--checkpoint {ckpt} --src PHOTO --ref VIDEO')
    return 0


if __name__ == '__main__':
    sys.exit(main())

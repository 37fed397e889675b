# Copyright (c) mmlwgan contributors. All rights reserved.
r"""Convert SphereFace-20a weights to an mmlwgan checkpoint.

Input: ``sphere20a_20171020.pth`` (the face-identity network of the Liquid
Warping GAN release), raw or wrapped under ``state_dict`` / ``model``
(``module.`` prefixes are stripped). The training classifier ``fc6`` is
dropped; the other 62 tensors keep their names. Output: an mmengine
checkpoint ``{'meta': {...}, 'state_dict': ...}`` for
``mmlwgan.models.losses.sphereface.SphereFace20a``, written atomically.

Example::

    python tools/model_converters/convert_sphereface.py \
        assets/pretrains/sphere20a_20171020.pth \
        checkpoints/sphere20a_mmlwgan.pth
"""
import argparse
import os.path as osp
import sys
import time
from typing import List, Optional

import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.models.converters.sphereface import (  # noqa: E402
    convert_sphereface, load_raw_state_dict)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert SphereFace-20a weights to an mmlwgan checkpoint')
    parser.add_argument('src', help='sphere20a weights (.pth)')
    parser.add_argument('dst', help='output mmlwgan checkpoint (.pth)')
    parser.add_argument(
        '--no-verify',
        action='store_true',
        help='skip the strict load into a freshly built SphereFace20a')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    from mmlwgan import __version__
    from mmlwgan.utils import atomic_path

    args = parse_args(argv)
    state_dict = convert_sphereface(load_raw_state_dict(args.src))
    meta = dict(
        mmlwgan_version=__version__,
        converted_from=osp.basename(args.src),
        converter='tools/model_converters/convert_sphereface.py',
        model='SphereFace20a',
        time=time.strftime('%Y%m%d_%H%M%S', time.localtime()))
    with atomic_path(args.dst) as tmp:
        torch.save(dict(meta=meta, state_dict=state_dict), tmp)
        if not args.no_verify:  # the written file must load strictly
            from mmlwgan.models.losses.sphereface import SphereFace20a
            SphereFace20a(pretrained=tmp)
    print(f'{args.src} -> {args.dst}: {len(state_dict)} tensors')
    return args.dst


if __name__ == '__main__':
    main()

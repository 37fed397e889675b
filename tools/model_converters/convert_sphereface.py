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
from typing import List, Optional

import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.models.converters.cli import (  # noqa: E402
    conversion_meta, conversion_summary, converter_parser)
from mmlwgan.models.converters.sphereface import (  # noqa: E402
    convert_sphereface, load_raw_state_dict)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = converter_parser(
        'Convert SphereFace-20a weights to an mmlwgan checkpoint',
        'sphere20a weights (.pth)', verify=True)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    from mmlwgan.utils import atomic_path

    args = parse_args(argv)
    state_dict = convert_sphereface(load_raw_state_dict(args.src))
    meta = conversion_meta(args.src, 'convert_sphereface',
                           model='SphereFace20a')
    with atomic_path(args.dst) as tmp:
        torch.save(dict(meta=meta, state_dict=state_dict), tmp)
        if not args.no_verify:  # the written file must load strictly
            from mmlwgan.models.losses.sphereface import SphereFace20a
            SphereFace20a(pretrained=tmp)
    print(conversion_summary(state_dict, args.src, args.dst))
    return args.dst


if __name__ == '__main__':
    main()

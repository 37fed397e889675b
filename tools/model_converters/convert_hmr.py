# Copyright (c) mmlwgan contributors. All rights reserved.
r"""Convert the released HMR weights to an mmlwgan checkpoint.

Input: the Liquid Warping GAN release's ``hmr_tf2pt.pth`` (TF HMR converted
to PyTorch), as a raw state dict or wrapped under ``state_dict`` / ``model``
(``module.`` prefixes are stripped). Output: an mmengine checkpoint
``{'meta': {...}, 'state_dict': ...}`` for ``mmlwgan.models.body.hmr.HMR``
(``resnet.*`` -> ``backbone.*``; ``regressor.*`` kept), written atomically.

The release file also holds the neutral SMPL model (with HMR's 19-joint
COCO-plus regressor); ``--smpl-out`` writes it as an ``.npz`` readable by
``mmlwgan.models.body.SMPL``. The file has no triangles: pass ``--faces``
(the release's ``smpl_faces.npy`` or any SMPL model file), otherwise the npz
gets an empty face list (fine for joints, not for rendering).

Example::

    python tools/model_converters/convert_hmr.py \
        assets/pretrains/hmr_tf2pt.pth checkpoints/hmr_mmlwgan.pth \
        --smpl-out data/smpl/SMPL_NEUTRAL.npz \
        --faces assets/pretrains/smpl_faces.npy
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import torch

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.models.converters.cli import (  # noqa: E402
    conversion_meta, conversion_summary, converter_parser)
from mmlwgan.models.converters.hmr import (  # noqa: E402
    convert_hmr, extract_smpl_from_hmr, load_raw_state_dict)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = converter_parser(
        'Convert the released HMR weights (hmr_tf2pt.pth) to an mmlwgan '
        'checkpoint', 'released HMR weights (.pth)', verify=True)
    parser.add_argument(
        '--smpl-out',
        help='also write the neutral SMPL stored in the file to this .npz')
    parser.add_argument(
        '--faces',
        help='SMPL faces for --smpl-out: an (F, 3) .npy or an SMPL model '
        'file')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> str:
    from mmlwgan.models.body.smpl_io import save_smpl_npz
    from mmlwgan.utils import atomic_path

    args = parse_args(argv)
    src_sd = load_raw_state_dict(args.src)
    state_dict = convert_hmr(src_sd)
    meta = conversion_meta(args.src, 'convert_hmr', model='HMR')
    with atomic_path(args.dst) as tmp:
        torch.save(dict(meta=meta, state_dict=state_dict), tmp)
        if not args.no_verify:  # the written file must load strictly
            from mmlwgan.models.body.hmr import HMR
            HMR(pretrained=tmp)
    print(conversion_summary(state_dict, args.src, args.dst))

    if args.smpl_out:
        data = extract_smpl_from_hmr(src_sd, faces=args.faces)
        dst = args.smpl_out
        if not dst.endswith('.npz'):
            dst += '.npz'
        with atomic_path(dst) as tmp:
            save_smpl_npz(data, tmp)
        print(f'SMPL -> {dst}: {data["v_template"].shape[0]} vertices, '
              f'{data["f"].shape[0]} faces, '
              f'{data["J_regressor"].shape[0]} joints')
    return args.dst


if __name__ == '__main__':
    main()

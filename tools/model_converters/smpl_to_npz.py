# Copyright (c) mmlwgan contributors. All rights reserved.
r"""Convert an SMPL model pickle to an ``.npz`` readable without chumpy.

Reads the licensed SMPL release pickles (``SMPL_NEUTRAL.pkl``,
``basicmodel_neutral_lbs_10_207_0_v1.0.0.pkl``, ...) or HMR's
``neutral_smpl_with_cocoplus_reg.pkl`` (its COCO-plus regressor becomes
``joint_regressor_extra``) with mmlwgan's chumpy-free loader, densifies the
sparse regressor and writes the arrays with ``np.savez_compressed``.

It also extracts the neutral SMPL stored in the released HMR weights
(``hmr_tf2pt.pth``: buffers ``smpl.v_template``, ``smpl.shapedirs``, ...,
plus the 19-joint COCO-plus regressor). The checkpoint has no faces: give
them with ``--faces`` (an (F, 3) ``.npy`` such as the release's
``smpl_faces.npy``, or any SMPL model file).

Example::

    python tools/model_converters/smpl_to_npz.py \
        SMPL_NEUTRAL.pkl data/smpl/SMPL_NEUTRAL.npz
    python tools/model_converters/smpl_to_npz.py models/ out.npz \
        --gender female
    python tools/model_converters/smpl_to_npz.py hmr_tf2pt.pth \
        data/smpl/SMPL_NEUTRAL.npz --faces smpl_faces.npy
"""
import argparse
import os.path as osp
import sys
from typing import Any, Dict, List, Optional

import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

from mmlwgan.models.body.smpl_io import (  # noqa: E402
    load_smpl_model_data, save_smpl_npz, smpl_data_from_hmr_state_dict)

CHECKPOINT_EXTS = ('.pth', '.pt', '.ckpt')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an SMPL .pkl (chumpy not needed) to .npz')
    parser.add_argument(
        'src',
        help='SMPL .pkl / .npz file, a directory of them, or an HMR '
        'checkpoint (.pth) holding the SMPL buffers')
    parser.add_argument('dst', help='output .npz file')
    parser.add_argument(
        '--gender',
        default='neutral',
        choices=['neutral', 'male', 'female'],
        help='gender to pick when src is a directory')
    parser.add_argument(
        '--faces',
        help='HMR checkpoint only: SMPL faces, an (F, 3) .npy or an SMPL '
        'model file')
    parser.add_argument(
        '--prefix',
        default='smpl.',
        help='HMR checkpoint only: prefix of the SMPL buffers')
    parser.add_argument(
        '--no-compress', action='store_true', help='use np.savez')
    return parser.parse_args(argv)


def load_faces(path: str) -> np.ndarray:
    """Read (F, 3) faces from a ``.npy`` or an SMPL model file."""
    if path.endswith('.npy'):
        return np.load(path, allow_pickle=False)
    return load_smpl_model_data(path)['f']


def load_hmr_checkpoint_smpl(path: str, faces: Optional[str],
                             prefix: str) -> Dict[str, Any]:
    """SMPL model data from the buffers of an HMR checkpoint."""
    if faces is None:
        raise ValueError('an HMR checkpoint holds no faces: pass --faces '
                         '(an (F, 3) .npy or an SMPL model file)')
    from mmlwgan.utils.safe_pickle import load_torch_file
    ckpt = load_torch_file(path)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    return smpl_data_from_hmr_state_dict(state, load_faces(faces), prefix)


def main(argv: Optional[List[str]] = None) -> str:
    args = parse_args(argv)
    if osp.splitext(args.src)[1].lower() in CHECKPOINT_EXTS:
        data = load_hmr_checkpoint_smpl(args.src, args.faces, args.prefix)
    else:
        data = load_smpl_model_data(args.src, gender=args.gender)
    path = save_smpl_npz(data, args.dst, compress=not args.no_compress)
    num_verts = data['v_template'].shape[0]
    print(f'{args.src} -> {path}: {num_verts} vertices, '
          f"{data['f'].shape[0]} faces, {data['J_regressor'].shape[0]} "
          f"joints, {data['shapedirs'].shape[-1]} betas, keys "
          f'{sorted(data)}')
    return path


if __name__ == '__main__':
    main()

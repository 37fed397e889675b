# Copyright (c) mmlwgan contributors. All rights reserved.
"""Convert the released HMR weights (``hmr_tf2pt.pth``) to mmlwgan's HMR.

The release's file (listed tensor by tensor in the reference listing
``official_checkpoints/hmr.txt``) holds three groups of tensors:

=====================  =========================  ==========================
release key            mmlwgan                    note
=====================  =========================  ==========================
``resnet.*``           ``backbone.*`` of HMR      same names below the prefix
``regressor.*``        ``regressor.*`` of HMR     ``mean_theta``, ``fc_blocks``
``smpl.*``             SMPL ``.npz`` (not HMR)    :func:`extract_smpl_from_hmr`
=====================  =========================  ==========================

The ``smpl.*`` buffers are the neutral SMPL model in TF-HMR's layout plus
HMR's 19-joint COCO-plus regressor; they are not part of mmlwgan's HMR (which
holds no body model) and are turned into an SMPL ``.npz`` instead.
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Union

import numpy as np
import torch

from mmlwgan.utils.safe_pickle import load_torch_file
from .utils import ConversionError, extract_state_dict

__all__ = [
    'convert_hmr', 'extract_smpl_from_hmr', 'load_raw_state_dict',
    'HMR_RENAME_RULES', 'HMR_SMPL_PREFIX'
]

#: Release prefix -> mmlwgan prefix (first match wins).
HMR_RENAME_RULES = (('resnet.', 'backbone.'), ('regressor.', 'regressor.'))
#: Prefix of the SMPL buffers in the release's file.
HMR_SMPL_PREFIX = 'smpl.'


def load_raw_state_dict(
        src: Union[str, os.PathLike, Mapping[str, Any]]) -> 'OrderedDict':
    """Read a state dict from a file or unwrap an already loaded object.

    Accepts raw state dicts and checkpoints wrapping one under
    ``'state_dict'`` or ``'model'``; strips a ``module.`` prefix (from
    ``DataParallel``) when every key has it. Never downloads anything.

    Args:
        src (str | PathLike | Mapping): A local ``torch.save`` file, or the
            loaded object.

    Returns:
        OrderedDict[str, Tensor]: The state dict.

    Raises:
        FileNotFoundError: If the path does not exist.
        TypeError: If no state dict is found.
    """
    if isinstance(src, (str, os.PathLike)):
        path = str(src)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'checkpoint not found: {path!r} (mmlwgan never downloads '
                'weights: give the path of a file you have)')
        data = load_torch_file(path)  # allow-listed: nothing in it runs
    else:
        data = src
    try:
        return extract_state_dict(data)
    except ConversionError:
        raise TypeError(
            f'expected a state dict, got {type(data).__name__}') from None


def convert_hmr(state_dict: Mapping[str, Any],
                strict: bool = True) -> 'OrderedDict':
    """Map the release's HMR state dict onto :class:`mmlwgan.models.HMR`.

    ``resnet.X`` becomes ``backbone.X`` and ``regressor.X`` stays; every
    value (weights, BatchNorm running statistics, ``num_batches_tracked``,
    ``mean_theta``) is kept as is. The ``smpl.*`` buffers are left out (see
    :func:`extract_smpl_from_hmr`). The result loads into ``HMR()`` with
    ``load_state_dict(..., strict=True)``.

    Args:
        state_dict (Mapping): The release's state dict (a ``module.`` prefix
            or a ``state_dict`` wrapper is removed first).
        strict (bool): Raise on keys outside the known groups. Defaults to
            True; with False they are dropped.

    Returns:
        OrderedDict[str, Tensor]: The converted state dict, in the release's
        order.

    Raises:
        KeyError: On unknown keys (``strict``) or when no HMR weights are
            found.
    """
    state_dict = load_raw_state_dict(state_dict)
    out = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if key.startswith(HMR_SMPL_PREFIX):
            continue
        for old, new in HMR_RENAME_RULES:
            if key.startswith(old):
                out[new + key[len(old):]] = value
                break
        else:
            if key.startswith(('backbone.', )):  # already converted
                out[key] = value
            else:
                unknown.append(key)
    if unknown and strict:
        raise KeyError(f'unexpected keys in the HMR checkpoint: {unknown[:8]}'
                       f'{" ..." if len(unknown) > 8 else ""}')
    if not out:
        raise KeyError('no HMR weights (resnet.* / regressor.*) found')
    return out


def _load_faces(faces: Union[None, str, np.ndarray, torch.Tensor]
                ) -> Optional[np.ndarray]:
    if faces is None:
        return None
    if isinstance(faces, torch.Tensor):
        return faces.detach().cpu().numpy()
    if isinstance(faces, (str, os.PathLike)):
        path = str(faces)
        if path.endswith('.npy'):
            return np.load(path, allow_pickle=False)
        from mmlwgan.models.body.smpl_io import load_smpl_model_data
        return load_smpl_model_data(path)['f']
    return np.asarray(faces)


def extract_smpl_from_hmr(state_dict: Mapping[str, Any],
                          faces: Union[None, str, np.ndarray,
                                       torch.Tensor] = None,
                          prefix: str = HMR_SMPL_PREFIX) -> Dict[str, Any]:
    """Rebuild the neutral SMPL model stored in the release's HMR file.

    The file stores TF-HMR's layout: ``v_template`` (V, 3), ``shapedirs``
    (B, 3V), ``posedirs`` (9(J-1), 3V), ``J_regressor`` (V, J), ``weights``
    (V, J) and the COCO-plus ``joint_regressor`` (V, K); the flattened axis
    is vertex-major (index ``3 * v + c``). The result has the layout of
    :func:`mmlwgan.models.body.smpl_io.load_smpl_model_data` and can be
    written with :func:`~mmlwgan.models.body.smpl_io.save_smpl_npz` and read
    by :class:`mmlwgan.models.body.SMPL` (the COCO-plus regressor becomes
    ``joint_regressor_extra`` (K, V)). Sizes are read from the arrays, so
    any SMPL-format body works (6890 vertices for the real one).

    The checkpoint has no triangles. Give them with ``faces`` (an (F, 3)
    array, an ``.npy`` such as the release's ``smpl_faces.npy``, or any
    SMPL model file); without them ``f`` is an empty (0, 3) array: vertices
    and joints work, rendering needs the faces.

    Args:
        state_dict (Mapping): The release's state dict (or a checkpoint
            wrapping it).
        faces (str | np.ndarray | Tensor, optional): SMPL triangles.
        prefix (str): Prefix of the SMPL buffers. Defaults to ``'smpl.'``.

    Returns:
        dict: SMPL model arrays (``v_template``, ``shapedirs`` (V, 3, B),
        ``posedirs`` (V, 3, P), ``J_regressor`` (J, V), ``weights``,
        ``kintree_table``, ``f``, ``J``, ``joint_regressor_extra``).

    Raises:
        ValueError: If a buffer is missing or shapes are inconsistent.
    """
    from mmlwgan.models.body.smpl_io import smpl_data_from_hmr_state_dict
    state_dict = load_raw_state_dict(state_dict)
    face_arr = _load_faces(faces)
    if face_arr is None:
        from mmlwgan.utils.logging import print_once_warning
        print_once_warning(
            'extract_smpl_from_hmr: the HMR checkpoint has no faces and none '
            'were given; the SMPL data get an empty face list (pass the '
            "release's smpl_faces.npy or an SMPL model file as `faces` to "
            'render).',
            key='mmlwgan.extract_smpl_from_hmr.faces')
        face_arr = np.zeros((0, 3), dtype=np.int64)
    arrays = OrderedDict()
    for key, value in state_dict.items():
        if key.startswith(prefix):
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            arrays[key] = np.asarray(value)
    return smpl_data_from_hmr_state_dict(arrays, face_arr, prefix=prefix)

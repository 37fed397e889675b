# Copyright (c) mmlwgan contributors. All rights reserved.
"""Reading and writing SMPL model files without chumpy.

The licensed SMPL release ships Python-2 pickles whose arrays may be
`chumpy <https://github.com/mattloper/chumpy>`_ ``Ch`` objects and whose
``J_regressor`` is a ``scipy.sparse`` matrix. chumpy does not install on
recent Python / numpy, so :func:`load_smpl_model_data` reads those pickles with
the allow-listed unpickler of :mod:`mmlwgan.utils.safe_pickle`, which
replaces the ``chumpy`` classes and ``scipy.sparse`` matrices by inert
stand-ins that only keep the pickled state; the arrays are recovered from
that state. Any other global a file names is refused. The result is
a plain ``dict[str, np.ndarray]`` that can be written to (and read back from)
an ``.npz`` file with the same keys (:func:`save_smpl_npz`), so the pickle is
needed only once (the ``.npz`` files are read without pickle).

Keys of a model file (``V`` vertices, ``F`` faces, ``J`` joints, ``B`` shape
components, ``P`` pose-blend components, ``9 * (J - 1)`` for SMPL):

=========================  ===============  ================================
key                        shape            meaning
=========================  ===============  ================================
``v_template``             (V, 3)           rest-pose template, metres, y up
``shapedirs``              (V, 3, B)        shape blend shapes
``posedirs``               (V, 3, P)        pose blend shapes
``J_regressor``            (J, V)           joint regressor (dense here)
``weights``                (V, J)           linear-blend-skinning weights
``kintree_table``          (2, J)           row 0: parents (root 4294967295)
``f``                      (F, 3)           triangles (int64 here)
``J`` (optional)           (J, 3)           rest joints; computed if missing
``vertex_ids`` (optional)  dict             landmark name -> vertex id
``vt`` / ``ft`` (opt.)     (T, 2) / (F, 3)  UV coordinates and UV faces
``face_uv`` (optional)     (F, 2)           one UV point per face, [0, 1]
``face_part_labels`` (o.)  (F,)             body-part id per face
``part_names`` (optional)  (K,)             names of the part ids
``joint_regressor_extra``  (K, V)           extra regressor (optional), e.g.
                                            HMR's 19 COCO-plus joints
``beta_names`` (optional)  (B,)             meaning of each shape component
=========================  ===============  ================================
"""
import json
import os
import os.path as osp
import pickle
from typing import Any, Dict, Optional, Union

import numpy as np

from mmlwgan.utils.safe_pickle import (SMPL_MODEL, UnsafePickleError,
                                       safe_load, to_numpy)

#: Parent of each of SMPL's 24 joints (-1 for the root).
SMPL_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16,
                17, 18, 19, 20, 21)
ROOT_PARENT = 4294967295  # how the SMPL release stores the root's parent
REQUIRED_KEYS = ('v_template', 'shapedirs', 'posedirs', 'J_regressor',
                 'weights', 'kintree_table', 'f')
OPTIONAL_ARRAY_KEYS = ('J', 'vt', 'ft', 'face_uv', 'face_part_labels',
                       'joint_regressor_extra')
OPTIONAL_NAME_KEYS = ('part_names', 'beta_names')
#: Alternative names of keys found in public SMPL-format files.
KEY_ALIASES = {
    'cocoplus_regressor': 'joint_regressor_extra',  # HMR's neutral SMPL
}
_INT_KEYS = ('f', 'ft', 'kintree_table', 'face_part_labels')
_VERTEX_IDS_NAMES = 'vertex_ids_names'
_VERTEX_IDS_VALUES = 'vertex_ids_values'

#: File names tried (case-insensitively) when a directory is given; ``{G}``
#: is the upper-case gender and ``{g}`` the short lower-case one (m/f/neutral).
MODEL_FILE_PATTERNS = (
    'SMPL_{G}.npz',
    'SMPL_{G}.pkl',
    'basicmodel_{g}_lbs_10_207_0_v1.0.0.pkl',
    'basicmodel_{g}_lbs_10_207_0_v1.1.0.pkl',
    'basicModel_{g}_lbs_10_207_0_v1.0.0.pkl',
)
_NEUTRAL_ONLY_FILES = ('neutral_smpl_with_cocoplus_reg.pkl', )

PathType = Union[str, os.PathLike]


def _to_numpy(value: Any) -> np.ndarray:
    """Convert a loaded value (array, chumpy / sparse stand-in of a pickle,
    scipy sparse matrix, tensor) to an ndarray."""
    if hasattr(value, 'toarray'):  # a real scipy.sparse matrix
        return np.asarray(value.toarray())
    return to_numpy(value)


def _load_pickle(path: str) -> Dict[str, Any]:
    try:
        obj = safe_load(path, SMPL_MODEL, encoding='latin1')
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError) as e:
        raise ValueError(f'{path} is not a readable pickle: {e}') from e
    if not isinstance(obj, dict):
        raise ValueError(f'{path} should hold a dict of SMPL arrays, '
                         f'got {type(obj).__name__}')
    return obj


def _load_npz(path: str) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            out[key] = npz[key]
    return out


def _decode_vertex_ids(raw: Dict[str, Any]) -> Optional[Dict[str, int]]:
    if _VERTEX_IDS_NAMES in raw or _VERTEX_IDS_VALUES in raw:
        names = np.asarray(raw.pop(_VERTEX_IDS_NAMES, [])).astype(str)
        values = np.asarray(raw.pop(_VERTEX_IDS_VALUES, [])).astype(np.int64)
        if names.shape != values.shape:
            raise ValueError('vertex_ids_names and vertex_ids_values differ '
                             f'in length: {names.shape} vs {values.shape}')
        return {str(n): int(v) for n, v in zip(names.tolist(), values)}
    if 'vertex_ids' not in raw:
        return None
    value = raw.pop('vertex_ids')
    if isinstance(value, np.ndarray) and value.dtype.kind in 'US':
        value = value.item() if value.ndim == 0 else ''.join(value.tolist())
    if isinstance(value, (bytes, str)):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError('vertex_ids should be a dict of landmark name -> '
                         f'vertex id, got {type(value).__name__}')
    return {str(k): int(v) for k, v in value.items()}


def find_smpl_model_file(model_dir: PathType,
                         gender: str = 'neutral') -> str:
    """Find the SMPL model file of a gender in a directory.

    Looks for ``SMPL_{GENDER}.npz``, ``SMPL_{GENDER}.pkl`` and the original
    release names (``basicmodel_neutral_lbs_10_207_0_v1.0.0.pkl``,
    ``basicModel_f_lbs_10_207_0_v1.0.0.pkl``, ...), case-insensitively, in the
    directory and in its ``smpl/`` sub-directory (the smplx layout). For the
    neutral gender HMR's ``neutral_smpl_with_cocoplus_reg.pkl`` is accepted
    too.

    Args:
        model_dir (str | PathLike): Directory holding the model files.
        gender (str): ``'neutral'``, ``'male'`` or ``'female'``.

    Returns:
        str: Path of the first file found.

    Raises:
        ValueError: For an unknown gender.
        FileNotFoundError: If no candidate file exists.
    """
    gender = gender.lower()
    short = {'neutral': 'neutral', 'male': 'm', 'female': 'f'}.get(gender)
    if short is None:
        raise ValueError(f'gender should be neutral, male or female, '
                         f'got {gender!r}')
    names = [p.format(G=gender.upper(), g=short) for p in MODEL_FILE_PATTERNS]
    if gender == 'neutral':
        names += list(_NEUTRAL_ONLY_FILES)
    wanted = [n.lower() for n in names]
    for folder in (str(model_dir), osp.join(str(model_dir), 'smpl')):
        if not osp.isdir(folder):
            continue
        present = {n.lower(): n for n in os.listdir(folder)}
        for name in wanted:
            if name in present:
                return osp.join(folder, present[name])
    raise FileNotFoundError(
        f'no SMPL model file for gender {gender!r} in {model_dir}; '
        f'expected one of {names} (the SMPL model is licensed: download it '
        'from https://smpl.is.tue.mpg.de, or make a synthetic stand-in with '
        'tools/misc/make_synthetic_smpl.py)')


def load_smpl_model_data(path: PathType,
                         gender: str = 'neutral') -> Dict[str, Any]:
    """Load an SMPL-format body model without chumpy.

    Args:
        path (str | PathLike): A ``.pkl`` file of the SMPL release (or HMR's
            neutral SMPL), an ``.npz`` file written by :func:`save_smpl_npz`,
            or a directory searched by :func:`find_smpl_model_file`.
        gender (str): Gender used when ``path`` is a directory.

    Returns:
        dict: The arrays listed in the module docstring. Floating arrays keep
        their stored precision; ``f``, ``ft``, ``kintree_table`` and
        ``face_part_labels`` are int64; ``J_regressor`` and
        ``joint_regressor_extra`` are dense; ``J`` is computed from
        ``J_regressor @ v_template`` when missing; ``vertex_ids`` (if present)
        is a ``dict[str, int]``; ``part_names`` / ``beta_names`` are lists of
        str. ``bs_style`` / ``bs_type`` strings of the pickle are kept.

    Raises:
        FileNotFoundError: If the file (or a model file in the directory)
            does not exist.
        ValueError: If the file type is unknown, a required key is missing,
            an array cannot be recovered, or the shapes are inconsistent.
    """
    path = str(path)
    if osp.isdir(path):
        path = find_smpl_model_file(path, gender)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'SMPL model file not found: {path} (licensed, not shipped: '
            'give your SMPL .pkl / .npz; the Liquid Warping GAN release '
            'holds one in hmr_tf2pt.pth, which '
            'tools/model_converters/convert_release.py extracts)')
    ext = osp.splitext(path)[1].lower()
    if ext in ('.pkl', '.pickle'):
        raw = _load_pickle(path)
    elif ext == '.npz':
        raw = _load_npz(path)
    else:
        raise ValueError(f'unknown SMPL model file type {ext!r} of {path}; '
                         'expected .pkl or .npz')
    for alias, key in KEY_ALIASES.items():
        if alias in raw and key not in raw:
            raw[key] = raw.pop(alias)

    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise ValueError(f'{path} misses the SMPL key(s) {missing}; '
                         f'found {sorted(raw)}')

    data: Dict[str, Any] = {}
    vertex_ids = _decode_vertex_ids(raw)
    for key in REQUIRED_KEYS + OPTIONAL_ARRAY_KEYS:
        if key not in raw:
            continue
        try:
            arr = _to_numpy(raw[key])
        except ValueError as e:
            raise ValueError(f'{path}: key {key!r}: {e}') from e
        if arr.dtype == object:
            raise ValueError(f'{path}: key {key!r} holds Python objects '
                             'instead of numbers')
        if key in _INT_KEYS:
            arr = arr.astype(np.int64)
        data[key] = arr
    for key in OPTIONAL_NAME_KEYS:
        if key in raw:
            data[key] = [str(n) for n in np.asarray(raw[key]).ravel().tolist()]
    for key in ('bs_style', 'bs_type'):
        if key in raw:
            value = raw[key]
            if isinstance(value, np.ndarray):
                value = value.item()
            data[key] = value.decode('latin1') if isinstance(
                value, bytes) else str(value)
    if vertex_ids is not None:
        data['vertex_ids'] = vertex_ids
    if 'J' not in data:
        data['J'] = data['J_regressor'] @ data['v_template']
    validate_smpl_model_data(data, name=path)
    return data


def validate_smpl_model_data(data: Dict[str, Any], name: str = 'data') -> None:
    """Check the shapes of SMPL model arrays.

    Args:
        data (dict): Arrays as returned by :func:`load_smpl_model_data`.
        name (str): Name used in error messages (e.g. the file path).

    Raises:
        ValueError: Naming the first inconsistent key.
    """

    def fail(key: str, msg: str) -> None:
        shape = getattr(data.get(key), 'shape', None)
        raise ValueError(f'{name}: key {key!r} {msg} (shape {shape})')

    for key in REQUIRED_KEYS:
        if key not in data:
            raise ValueError(f'{name}: missing key {key!r}')
    v = data['v_template']
    if v.ndim != 2 or v.shape[1] != 3:
        fail('v_template', 'should be (V, 3)')
    num_verts = v.shape[0]
    if data['shapedirs'].ndim != 3 or data['shapedirs'].shape[:2] != (
            num_verts, 3):
        fail('shapedirs', f'should be ({num_verts}, 3, B)')
    if data['posedirs'].ndim != 3 or data['posedirs'].shape[:2] != (num_verts,
                                                                    3):
        fail('posedirs', f'should be ({num_verts}, 3, P)')
    jreg = data['J_regressor']
    if jreg.ndim != 2 or jreg.shape[1] != num_verts:
        fail('J_regressor', f'should be (J, {num_verts})')
    num_joints = jreg.shape[0]
    if data['weights'].shape != (num_verts, num_joints):
        fail('weights', f'should be ({num_verts}, {num_joints})')
    if data['kintree_table'].shape != (2, num_joints):
        fail('kintree_table', f'should be (2, {num_joints})')
    if data['posedirs'].shape[2] not in (0, 9 * (num_joints - 1)):
        fail('posedirs', f'should have {9 * (num_joints - 1)} components')
    faces = data['f']
    if faces.ndim != 2 or faces.shape[1] != 3:
        fail('f', 'should be (F, 3)')
    if faces.size and (faces.min() < 0 or faces.max() >= num_verts):
        fail('f', f'has vertex ids outside [0, {num_verts})')
    num_faces = faces.shape[0]
    if 'J' in data and data['J'].shape != (num_joints, 3):
        fail('J', f'should be ({num_joints}, 3)')
    extra = data.get('joint_regressor_extra')
    if extra is not None and (extra.ndim != 2 or extra.shape[1] != num_verts):
        fail('joint_regressor_extra', f'should be (K, {num_verts})')
    if 'face_uv' in data and data['face_uv'].shape != (num_faces, 2):
        fail('face_uv', f'should be ({num_faces}, 2)')
    if 'face_part_labels' in data and data['face_part_labels'].shape != (
            num_faces, ):
        fail('face_part_labels', f'should be ({num_faces},)')
    if 'vt' in data and (data['vt'].ndim != 2 or data['vt'].shape[1] != 2):
        fail('vt', 'should be (T, 2)')
    if 'ft' in data:
        if data['ft'].shape != (num_faces, 3):
            fail('ft', f'should be ({num_faces}, 3)')
        if 'vt' in data and data['ft'].size and (
                data['ft'].max() >= data['vt'].shape[0]
                or data['ft'].min() < 0):
            fail('ft', 'indexes outside vt')
    if 'part_names' in data and 'face_part_labels' in data and data[
            'face_part_labels'].size:
        if data['face_part_labels'].max() >= len(data['part_names']):
            fail('face_part_labels', 'has ids beyond part_names')
    for lm, idx in (data.get('vertex_ids') or {}).items():
        if not 0 <= int(idx) < num_verts:
            raise ValueError(f'{name}: vertex_ids[{lm!r}] = {idx} is outside '
                             f'[0, {num_verts})')


def save_smpl_npz(data: Dict[str, Any],
                  path: PathType,
                  compress: bool = True) -> str:
    """Write SMPL model data to an ``.npz`` file readable without pickle.

    Args:
        data (dict): Arrays as returned by :func:`load_smpl_model_data` (or a
            raw dict with the same keys; sparse matrices and chumpy stand-ins
            are converted).
        path (str | PathLike): Output file; ``.npz`` is appended by numpy if
            missing.
        compress (bool): Use ``np.savez_compressed``. Defaults to True.

    Returns:
        str: The path written.
    """
    path = str(path)
    if not path.endswith('.npz'):
        path += '.npz'
    out: Dict[str, np.ndarray] = {}
    for key, value in data.items():
        key = KEY_ALIASES.get(key, key)
        if key == 'vertex_ids':
            names = list(value.keys())
            out[_VERTEX_IDS_NAMES] = np.asarray(names, dtype=str)
            out[_VERTEX_IDS_VALUES] = np.asarray(
                [int(value[n]) for n in names], dtype=np.int64)
        elif key in OPTIONAL_NAME_KEYS:
            out[key] = np.asarray([str(n) for n in value], dtype=str)
        elif key in ('bs_style', 'bs_type'):
            out[key] = np.asarray(str(value))
        elif key in REQUIRED_KEYS or key in OPTIONAL_ARRAY_KEYS:
            arr = _to_numpy(value)
            out[key] = arr.astype(np.int64) if key in _INT_KEYS else arr
        # other keys (priors, training info of the release) are dropped
    missing = [k for k in REQUIRED_KEYS if k not in out]
    if missing:
        raise ValueError(f'cannot save SMPL data without keys {missing}')
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    (np.savez_compressed if compress else np.savez)(path, **out)
    return path


def smpl_data_from_hmr_state_dict(state_dict: Dict[str, Any],
                                  faces: np.ndarray,
                                  prefix: str = 'smpl.') -> Dict[str, Any]:
    """Rebuild SMPL model data from the buffers of an HMR checkpoint.

    The released HMR weights (``hmr_tf2pt.pth``) carry the neutral SMPL in
    the TensorFlow HMR layout: ``v_template`` (V, 3), ``shapedirs``
    (B, 3V), ``posedirs`` (207, 3V), ``J_regressor`` (V, 24), ``weights``
    (V, 24) and the COCO-plus ``joint_regressor`` (V, 19), where index
    ``3 * v + c`` of the flattened axis is coordinate ``c`` of vertex ``v``.
    The faces are not in the checkpoint and must be given.

    Args:
        state_dict (dict): The checkpoint's state dict (tensors or arrays).
        faces (np.ndarray): (F, 3) SMPL triangles, e.g. the release's
            ``smpl_faces.npy`` or ``load_smpl_model_data(...)['f']``.
        prefix (str): Prefix of the SMPL buffers. Defaults to ``'smpl.'``.

    Returns:
        dict: Data in the layout of :func:`load_smpl_model_data`, with
        ``joint_regressor_extra`` (19, V) and SMPL's kinematic tree.

    Raises:
        ValueError: If a buffer is missing or has an unexpected shape.
    """
    names = ('v_template', 'shapedirs', 'posedirs', 'J_regressor', 'weights')
    missing = [prefix + n for n in names if prefix + n not in state_dict]
    if missing:
        found = sorted(k for k in state_dict if k.startswith(prefix))
        raise ValueError(f'the checkpoint misses {missing}; found {found}')

    def get(key: str) -> np.ndarray:
        return _to_numpy(state_dict[prefix + key])

    v_template = get('v_template')
    num_verts = v_template.shape[0]

    def unflatten(key: str) -> np.ndarray:
        arr = get(key)
        if arr.ndim != 2 or arr.shape[1] != 3 * num_verts:
            raise ValueError(f'{prefix}{key} should be (K, {3 * num_verts}),'
                             f' got {arr.shape}')
        return arr.reshape(arr.shape[0], num_verts, 3).transpose(1, 2, 0)

    j_regressor = get('J_regressor')
    if j_regressor.shape[0] != num_verts:
        raise ValueError(f'{prefix}J_regressor should be ({num_verts}, J), '
                         f'got {j_regressor.shape}')
    num_joints = j_regressor.shape[1]
    parents = np.array(SMPL_PARENTS if num_joints == 24 else
                        [-1] + [0] * (num_joints - 1), dtype=np.int64)
    parents[0] = ROOT_PARENT
    data: Dict[str, Any] = dict(
        v_template=v_template,
        shapedirs=unflatten('shapedirs'),
        posedirs=unflatten('posedirs'),
        J_regressor=np.ascontiguousarray(j_regressor.T),
        weights=get('weights'),
        kintree_table=np.stack([parents, np.arange(num_joints)]),
        f=np.asarray(faces).astype(np.int64))
    if prefix + 'joint_regressor' in state_dict:
        data['joint_regressor_extra'] = np.ascontiguousarray(
            get('joint_regressor').T)
    data['J'] = data['J_regressor'] @ v_template
    validate_smpl_model_data(data, name='HMR checkpoint')
    return data

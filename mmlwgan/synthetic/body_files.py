# Copyright (c) mmlwgan contributors. All rights reserved.
"""The synthetic body as SMPL-format files (for :mod:`.body`).

``.npz`` (read with ``np.load``, no pickle) or a protocol-2 pickle laid out
like the SMPL release (with ``shapedirs`` pickled under chumpy's class name,
readable without chumpy by mmlwgan's loader), written atomically
(:func:`save_synthetic_smpl`), and a per-folder cache of such a file
(:func:`get_synthetic_smpl_path`).
"""
import os
import os.path as osp
import pickle
import sys
import tempfile
import types
from typing import Any, Dict, Optional

import numpy as np

from mmlwgan.models.body.smpl_io import save_smpl_npz

__all__ = ['save_synthetic_smpl', 'get_synthetic_smpl_path']


class _FakeChumpyCh:
    """Pickled as ``chumpy.ch.Ch`` (the array in the ``'x'`` state key)."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self._dirty_vars = set()  # a few chumpy-like extra attributes
        self._itr = None


class _fake_chumpy_modules:
    """Context registering ``chumpy`` / ``chumpy.ch`` so pickle can name
    :class:`_FakeChumpyCh` as ``chumpy.ch.Ch``; removed afterwards."""

    def __enter__(self) -> None:
        self._saved = {k: sys.modules.get(k) for k in ('chumpy', 'chumpy.ch')}
        pkg = types.ModuleType('chumpy')
        mod = types.ModuleType('chumpy.ch')
        pkg.ch = mod
        mod.Ch = _FakeChumpyCh
        self._cls = (_FakeChumpyCh.__module__, _FakeChumpyCh.__qualname__)
        _FakeChumpyCh.__module__, _FakeChumpyCh.__qualname__ = ('chumpy.ch',
                                                                'Ch')
        sys.modules['chumpy'], sys.modules['chumpy.ch'] = pkg, mod

    def __exit__(self, *exc: Any) -> None:
        _FakeChumpyCh.__module__, _FakeChumpyCh.__qualname__ = self._cls
        for key, value in self._saved.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def _to_release_pickle(data: Dict[str, Any], chumpy_like: bool) -> bytes:
    import scipy.sparse as sp
    out = dict(
        v_template=np.asarray(data['v_template']),
        shapedirs=np.asarray(data['shapedirs']),
        posedirs=np.asarray(data['posedirs']),
        J_regressor=sp.csc_matrix(data['J_regressor']),
        weights=np.asarray(data['weights']),
        kintree_table=np.asarray(data['kintree_table']),
        f=np.asarray(data['f'], dtype=np.uint32),
        J=np.asarray(data['J']),
        bs_style=data.get('bs_style', 'lbs'),
        bs_type=data.get('bs_type', 'lrotmin'),
    )
    for key in ('vertex_ids', 'vt', 'ft', 'face_uv', 'face_part_labels',
                'part_names', 'beta_names'):
        if key in data:
            out[key] = data[key]
    if 'joint_regressor_extra' in data:  # as in HMR's neutral SMPL
        out['cocoplus_regressor'] = sp.csc_matrix(
            data['joint_regressor_extra'])
    if not chumpy_like:
        return pickle.dumps(out, protocol=2)
    out['shapedirs'] = _FakeChumpyCh(out['shapedirs'])
    with _fake_chumpy_modules():
        return pickle.dumps(out, protocol=2)


def save_synthetic_smpl(path: str,
                        fmt: Optional[str] = None,
                        chumpy_like: bool = True,
                        **kwargs: Any) -> str:
    """Write the synthetic body to a file.

    Args:
        path (str): Output file.
        fmt (str, optional): ``'npz'`` (read with ``np.load``, no pickle) or
            ``'pkl'`` (a protocol-2 pickle laid out like the SMPL release:
            ``J_regressor`` a ``scipy.sparse.csc_matrix``, ``f`` uint32,
            ``bs_style`` / ``bs_type``, the COCO-plus regressor as HMR's
            ``cocoplus_regressor``). Defaults to the extension of ``path``.
        chumpy_like (bool): For ``'pkl'``, store ``shapedirs`` as an object
            whose pickle names ``chumpy.ch.Ch`` like the release does
            (readable without chumpy by mmlwgan's loader). Defaults to True.
        **kwargs: Passed to :func:`~mmlwgan.synthetic.body.
            make_synthetic_smpl`.

    Returns:
        str: The path written.
    """
    from .body import make_synthetic_smpl
    if fmt is None:
        fmt = osp.splitext(path)[1].lstrip('.').lower() or 'npz'
    if fmt not in ('npz', 'pkl'):
        raise ValueError(f"fmt should be 'npz' or 'pkl', got {fmt!r}")
    data = make_synthetic_smpl(**kwargs)
    dirname = osp.dirname(osp.abspath(path))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix='.' + fmt, dir=dirname)
    os.close(fd)
    try:
        if fmt == 'npz':
            save_smpl_npz(data, tmp)
        else:
            with open(tmp, 'wb') as f:
                f.write(_to_release_pickle(data, chumpy_like))
        os.replace(tmp, path)  # atomic: safe with parallel test workers
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


def get_synthetic_smpl_path(directory: str,
                            fmt: str = 'npz',
                            filename: Optional[str] = None,
                            **kwargs: Any) -> str:
    """Return a synthetic SMPL file in ``directory``, writing it once.

    Args:
        directory (str): Folder (created if needed), e.g. a pytest
            ``tmp_path_factory`` folder.
        fmt (str): ``'npz'`` or ``'pkl'``. Defaults to ``'npz'``.
        filename (str, optional): File name. Defaults to
            ``SMPL_NEUTRAL.<fmt>`` so that the directory itself also works as
            a ``model_path``.
        **kwargs: Passed to :func:`~mmlwgan.synthetic.body.
            make_synthetic_smpl`; give a distinct
            ``filename`` for non-default arguments.

    Returns:
        str: Path of the file.
    """
    path = osp.join(str(directory), filename or f'SMPL_NEUTRAL.{fmt}')
    if not osp.isfile(path):
        save_synthetic_smpl(path, fmt=fmt, **kwargs)
    return path

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Read checkpoints without running code hidden in their pickles.

mmengine's checkpoints hold, beside the tensors, its message hub
(``HistoryBuffer`` objects, numpy scalars...), which torch >= 2.6's
``weights_only=True`` refuses. ``load_checkpoint_tensors`` first tries
``weights_only=True``; when that refuses a global, it unpickles again with an
allow-list: torch's own tensor rebuilders, ``collections``, numpy arrays and
dtypes are real, and every other global becomes an inert placeholder (no
constructor or function of the file's choosing ever runs). The tensors come
back intact; the placeholders only stand in for metadata.
"""
import _compat_pickle
import pickle
import types
from typing import Any

import torch

_REAL_PREFIXES = ('torch', 'collections', 'numpy')
_REAL_BUILTINS = {'set', 'frozenset', 'slice', 'complex', 'range', 'bytearray'}
# plain data classes of mmengine's checkpoints (message hub), restored for real
# so that resuming a run restores its logs
_REAL_CLASSES = {('mmengine.logging.history_buffer', 'HistoryBuffer')}


class _Inert:
    """Stands in for a global the allow-list does not trust."""

    def __init__(self, *args, **kwargs) -> None:
        self.args = args

    def __call__(self, *args, **kwargs) -> '_Inert':
        return _Inert(*args)

    def __setstate__(self, state) -> None:
        self.state = state


def _guarded_getattr(obj: Any, name: str) -> Any:
    """``getattr`` restricted to public attributes of allow-listed objects
    (numpy pickles dtypes as ``getattr(numpy.dtypes, 'Float64DType')``;
    mmengine's message hub pickles ``HistoryBuffer``'s statistics methods)."""
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and name in ('min', 'max', 'current', 'mean'):
        return getattr(obj, name)
    owner = getattr(obj, '__module__', None) or getattr(obj, '__name__', '')
    if (isinstance(name, str) and not name.startswith('_')
            and str(owner).split('.')[0] in _REAL_PREFIXES):
        return getattr(obj, name)
    return _Inert(obj, name)


class _AllowListUnpickler(pickle.Unpickler):

    def find_class(self, module: str, name: str) -> Any:
        # protocol-2 pickles name Python 2 modules (``__builtin__``)
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        root = module.split('.')[0]
        if root in _REAL_PREFIXES:
            return super().find_class(module, name)
        if module == 'builtins' and name in _REAL_BUILTINS:
            return super().find_class(module, name)
        if (module, name) in _REAL_CLASSES:
            return super().find_class(module, name)
        if (module, name) == ('_codecs', 'encode'):  # bytes in protocol 2
            return super().find_class(module, name)
        if module == 'builtins' and name == 'getattr':
            return _guarded_getattr
        return _Inert


_allow_list_pickle = types.ModuleType('mmlwgan_allow_list_pickle')
_allow_list_pickle.Unpickler = _AllowListUnpickler
_allow_list_pickle.load = pickle.load
_allow_list_pickle.__dict__.update(
    {k: getattr(pickle, k) for k in ('UnpicklingError', 'HIGHEST_PROTOCOL')})


def load_checkpoint_tensors(path: str, map_location='cpu') -> Any:
    """``torch.load`` a checkpoint safely (see the module docstring).

    Args:
        path (str): local file.
        map_location: as for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        The unpickled object; untrusted globals are inert placeholders.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        return torch.load(path, map_location=map_location, weights_only=False,
                          pickle_module=_allow_list_pickle)


def _load_local(filename: str, map_location=None) -> Any:
    import os.path as osp
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return load_checkpoint_tensors(filename, map_location)


def use_safe_checkpoint_loader() -> None:
    """Make mmengine read local checkpoints with
    :func:`load_checkpoint_tensors` (``load_from``, ``--resume``): torch >=
    2.6 refuses mmengine's own checkpoints with ``weights_only=True``, and a
    full unpickle would run whatever code a file names."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', force=True)(_load_local)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Read every pickle the project reads without letting the file run code.

A pickle is a small program: it names globals (``module.name``) and calls
them. mmlwgan reads pickles written by other people (checkpoints, SMPL model
files, iPER annotations, SMPL sequences), so each kind of file has an
:class:`AllowList` of the exact ``(module, name)`` pairs it may name — never a
module prefix — and :class:`SafeUnpickler` refuses every other global with
:class:`UnsafePickleError` naming it and the file, before anything is called.

Kinds (module constants):

* :data:`CHECKPOINT`: torch tensors, storages, dtypes, devices and sizes (the
  globals torch's own ``weights_only`` unpickler admits), numpy arrays and
  scalars, ``OrderedDict`` and the plain data of mmengine's message hub
  (``HistoryBuffer`` and ``getattr`` of its four statistics methods).
* :data:`SMPL_MODEL`: numpy arrays, ``chumpy`` objects and ``scipy.sparse``
  matrices as *inert stand-ins* (:class:`ChumpyStandIn`,
  :class:`SparseStandIn`: they keep the pickled state, no chumpy or scipy
  code runs while reading), Python 2's ``copy_reg._reconstructor`` for those
  stand-ins only.
* :data:`IPER_ANNOTATION` (``pose_shape.pkl``, ``kps.pkl``) and
  :data:`SMPL_SEQUENCE` (SMPL parameter files given to the inferencers):
  dicts, lists and numpy arrays.

Functions that run code even with "harmless" looking names — ``getattr``,
``_codecs.encode``, ``copyreg._reconstructor`` — are replaced by guarded
versions that accept only the arguments legitimate files use (for example
``getattr(HistoryBuffer, 'mean')``, ``encode(str, 'latin1')``).

Torch files: :func:`load_torch_file` first tries ``torch.load(...,
weights_only=True)``; when torch's own allow-list is too narrow (mmengine's
message hub), it reads the file again with ``weights_only=False`` and a pickle
*module* whose ``Unpickler`` **and** ``load`` (torch reads the header of a
legacy non-zip file with ``pickle_module.load``) are the allow-listed
unpickler of the kind. TorchScript archives are refused (loading one runs
its code).
"""
import _compat_pickle
import io
import os
import pickle
import types
from collections import OrderedDict
from typing import Any, Callable, Dict, FrozenSet, Iterable, Mapping, Tuple

import numpy as np

__all__ = [
    'UnsafePickleError', 'AllowList', 'SafeUnpickler', 'ChumpyStandIn',
    'SparseStandIn', 'safe_load', 'safe_loads', 'load_torch_file',
    'to_numpy', 'CHECKPOINT', 'SMPL_MODEL', 'IPER_ANNOTATION',
    'SMPL_SEQUENCE'
]

Pair = Tuple[str, str]


class UnsafePickleError(pickle.UnpicklingError):
    """A file names a global that the allow-list of its kind does not hold
    (or calls an allowed one with arguments legitimate files never use)."""


class AllowList:
    """What one kind of file may name, as exact ``(module, name)`` pairs.

    Args:
        kind (str): shown in errors, e.g. ``'SMPL model file'``.
        globals (Mapping[tuple[str, str], Any]): ``(module, name)`` -> the
            object the unpickler returns for it (the real object, or a
            stand-in or guard). Modules are matched after Python 2 names
            are mapped to Python 3 ones and numpy 2's ``numpy._core`` to
            numpy 1's ``numpy.core``.
        getattrs (Iterable[tuple[object, str]]): ``(owner, attribute)`` pairs
            that a ``builtins.getattr`` call in the file may fetch; with
            none, ``getattr`` is refused like any other global.
    """

    def __init__(self,
                 kind: str,
                 globals: Mapping[Pair, Any],
                 getattrs: Iterable[Tuple[Any, str]] = ()) -> None:
        getattrs = list(getattrs)
        self.kind = kind
        self.globals: Dict[Pair, Any] = dict(globals)
        self.getattrs: FrozenSet[Tuple[int, str]] = frozenset(
            (id(owner), name) for owner, name in getattrs)
        self._owners = [owner for owner, _ in getattrs]  # keep ids alive
        if self.getattrs:
            self.globals[('builtins', 'getattr')] = self._guarded_getattr
        #: ids of every object a file can obtain by name (never rebuilt)
        self.shared_ids: FrozenSet[int] = frozenset(
            [id(v) for v in self.globals.values()] +
            [id(getattr(o, n)) for o, n in getattrs] +
            [id(o) for o in self._owners])

    def _guarded_getattr(self, owner: Any, name: Any, *default: Any) -> Any:
        if default or not isinstance(name, str) or \
                (id(owner), name) not in self.getattrs:
            raise UnsafePickleError(
                f'getattr({_describe(owner)}, {name!r}) is not on the '
                f'allow-list for {self.kind}s')
        return getattr(owner, name)

    def resolve(self, module: str, name: str) -> Any:
        """The object for a global, or :class:`UnsafePickleError`."""
        module, name = _normalise(module, name)
        try:
            return self.globals[(module, name)]
        except (KeyError, TypeError):
            raise UnsafePickleError(
                f'it names the global {module}.{name}, which is not on the '
                f'allow-list for {self.kind}s') from None


def _describe(obj: Any) -> str:
    if isinstance(obj, type) or callable(obj):
        return f'{getattr(obj, "__module__", "?")}.' \
               f'{getattr(obj, "__qualname__", type(obj).__name__)}'
    return f'<{type(obj).__name__}>'


def _normalise(module: str, name: str) -> Pair:
    """Python 2 and numpy 2 names -> the Python 3 / numpy 1 names the
    allow-lists use (pure renaming: nothing is imported)."""
    if not isinstance(module, str) or not isinstance(name, str):
        return module, name
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    if module == 'numpy._core' or module.startswith('numpy._core.'):
        module = 'numpy.core' + module[len('numpy._core'):]
    return module, name


class SafeUnpickler(pickle._Unpickler):
    """Unpickler whose ``find_class`` consults an allow-list.

    Every way a pickle can reach a global (``GLOBAL``, ``STACK_GLOBAL``,
    ``INST``, ``OBJ`` and the copyreg extension opcodes) goes through
    ``find_class``; objects are only ever called if they came from it.
    ``BUILD`` (set an object's state) is refused on the allow-listed objects
    themselves, so a file cannot rewrite a class or function of the process
    (``setattr(HistoryBuffer, 'mean', ...)``); it works on the fresh
    objects the file makes. This is Python's own unpickler with those two
    changes (the pure-Python one: its opcodes can be guarded).

    Args:
        file: binary file object.
        allow (AllowList): what the file may name.
        source (str): the file's name, for errors.
        **kwargs: ``encoding`` / ``errors`` as for ``pickle.Unpickler``.
    """

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, allow: AllowList, source: str = '<bytes>',
                 **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self.allow = allow
        self.source = source

    def _refuse(self, why: str) -> UnsafePickleError:
        return UnsafePickleError(
            f'{self.source}: refused to load: {why} (mmlwgan reads pickles '
            'through an allow-list; see "What is trusted" in the README)')

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allow.resolve(module, name)
        except UnsafePickleError as e:
            raise self._refuse(str(e)) from None

    def load_build(self) -> None:
        if id(self.stack[-2]) in self.allow.shared_ids:
            raise self._refuse(
                f'it sets the state of {_describe(self.stack[-2])}, an object '
                'of the process, not one the file made')
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build


def _rethrow_guard_errors(source: str, fn: Callable[[], Any]) -> Any:
    """Errors raised by guards during ``load`` get the file's name."""
    try:
        return fn()
    except UnsafePickleError as e:
        msg = str(e)
        if not msg.startswith(source):
            raise UnsafePickleError(f'{source}: refused to load: {msg}') \
                from None
        raise


def safe_load(file, allow: AllowList, source: str = None,
              encoding: str = 'ASCII') -> Any:
    """Unpickle from a path or a binary file object with an allow-list.

    Python 2 pickles: pass ``encoding='latin1'`` (numpy arrays of Python 2
    pickles need it).

    Args:
        file (str | PathLike | file): what to read.
        allow (AllowList): e.g. :data:`SMPL_MODEL`.
        source (str, optional): name used in errors (the path by default).
        encoding (str): as for ``pickle.load``.

    Returns:
        The unpickled object.

    Raises:
        UnsafePickleError: the file names something ``allow`` does not hold.
        pickle.UnpicklingError / EOFError: the file is not a pickle.
    """
    if isinstance(file, (str, os.PathLike)):
        source = source or os.fspath(file)
        with open(file, 'rb') as f:
            return safe_load(f, allow, source, encoding)
    source = source or getattr(file, 'name', '<file>')
    return _rethrow_guard_errors(
        source, lambda: SafeUnpickler(file, allow, source,
                                      encoding=encoding).load())


def safe_loads(data: bytes, allow: AllowList, source: str = '<bytes>',
               encoding: str = 'ASCII') -> Any:
    """:func:`safe_load` of a bytes object."""
    return safe_load(io.BytesIO(data), allow, source, encoding)


# ---------------------------------------------------------------------------
# Guards for the few callables legitimate files call
# ---------------------------------------------------------------------------
def _latin1_encode(text: Any, encoding: str = 'utf-8') -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for ``bytes``."""
    if not isinstance(text, str) or encoding not in ('latin1', 'latin-1'):
        raise UnsafePickleError(
            f"_codecs.encode(<{type(text).__name__}>, {encoding!r}) is not "
            "allowed (only (str, 'latin1') as written for bytes)")
    return text.encode('latin1')


class ChumpyStandIn:
    """Inert stand-in for a ``chumpy`` object of an SMPL model pickle.

    chumpy's ``Ch`` objects pickle their ``__dict__``; the plain array value
    is stored under ``'x'``. Derived nodes (``chumpy.reordering.Select``,
    ``transpose``, ``reshape``) keep their input under ``'a'``. The state is
    kept verbatim; :meth:`to_array` interprets it.
    """

    chumpy_path = 'chumpy.ch.Ch'

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__['_state'] = {}

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:
            # (dict_state, slot_state) as produced for objects with slots.
            merged = dict(state[0] or {})
            merged.update(state[1] or {})
            state = merged
        self.__dict__['_state'] = state if isinstance(state, dict) else {
            'x': state
        }

    @property
    def state(self) -> Dict[str, Any]:
        """dict: The pickled state of the chumpy object."""
        return self.__dict__.get('_state', {})

    def to_array(self) -> np.ndarray:
        """Recover the numerical value of the chumpy object.

        Returns:
            np.ndarray: The value of the node.

        Raises:
            ValueError: If the value cannot be recovered from the state.
        """
        state = self.state
        cls_name = self.chumpy_path.rsplit('.', 1)[-1]
        if 'x' in state:
            return to_numpy(state['x'])
        if cls_name == 'Select' and 'a' in state and 'idxs' in state:
            src = to_numpy(state['a']).ravel()
            out = src[np.asarray(state['idxs']).ravel()]
            shape = state.get('preferred_shape')
            return out.reshape(shape) if shape is not None else out
        if cls_name == 'reshape' and 'a' in state and 'newshape' in state:
            return to_numpy(state['a']).reshape(state['newshape'])
        if cls_name == 'transpose' and 'a' in state:
            return np.transpose(to_numpy(state['a']), state.get('axes'))
        raise ValueError(
            f'cannot recover an array from a pickled {self.chumpy_path} '
            f'object (state keys: {sorted(state)})')


class SparseStandIn:
    """Inert stand-in for a pickled ``scipy.sparse`` matrix: keeps the
    pickled ``__dict__``; :meth:`to_array` densifies it with numpy only."""

    fmt = 'csc'

    def __setstate__(self, state: Any) -> None:
        self.__dict__['_state'] = state if isinstance(state, dict) else {}

    def to_array(self) -> np.ndarray:
        """Dense (M, N) array of the matrix.

        Raises:
            ValueError: If the state is not a csc / csr / coo matrix's.
        """
        d = self.__dict__.get('_state', {})
        shape = d.get('_shape', d.get('shape'))
        try:
            shape = tuple(int(s) for s in shape)
            data = np.asarray(d['data'])
            if self.fmt in ('csc', 'csr'):
                indices = np.asarray(d['indices'], dtype=np.int64)
                indptr = np.asarray(d['indptr'], dtype=np.int64)
                major = shape[1] if self.fmt == 'csc' else shape[0]
                if len(indptr) != major + 1:
                    raise ValueError('indptr length')
                counts = np.diff(indptr)
                outer = np.repeat(np.arange(major), counts)
                rows, cols = (indices, outer) if self.fmt == 'csc' else (
                    outer, indices)
            else:
                rows = np.asarray(d['row'], dtype=np.int64)
                cols = np.asarray(d['col'], dtype=np.int64)
            out = np.zeros(shape, dtype=data.dtype)
            np.add.at(out, (rows, cols), data)
            return out
        except Exception as e:  # noqa: BLE001 - any malformed state
            raise ValueError(f'cannot recover a {self.fmt} sparse matrix '
                             f'from its pickled state ({e})') from None


def to_numpy(value: Any) -> np.ndarray:
    """An array from a loaded value (array, stand-in, tensor, list)."""
    if isinstance(value, (ChumpyStandIn, SparseStandIn)):
        return value.to_array()
    if hasattr(value, 'detach') and hasattr(value, 'cpu'):  # torch tensor
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _stand_in(base: type, module: str, name: str, **attrs: Any) -> type:
    return type(name, (base, ), dict(attrs, __module__=module))


def _reconstructor_for(classes: Tuple[type, ...]) -> Callable[..., Any]:
    """``copyreg._reconstructor`` restricted to ``classes`` (pickle protocols
    0 and 1 build plain Python objects with it): ``object.__new__(cls)``."""

    def reconstructor(cls: Any, base: Any, state: Any) -> Any:
        if not (isinstance(cls, type) and issubclass(cls, classes)
                and base is object and state is None):
            raise UnsafePickleError(
                f'copy_reg._reconstructor({_describe(cls)}, '
                f'{_describe(base)}, ...) is not allowed')
        return object.__new__(cls)

    return reconstructor


# ---------------------------------------------------------------------------
# The allow-lists
# ---------------------------------------------------------------------------
def _merge(*tables: Mapping[Pair, Any]) -> Dict[Pair, Any]:
    out: Dict[Pair, Any] = {}
    for table in tables:
        out.update(table)
    return out


def _numpy_globals() -> Dict[Pair, Any]:
    from numpy.core import multiarray, numeric
    return {
        ('numpy.core.multiarray', '_reconstruct'): multiarray._reconstruct,
        ('numpy.core.multiarray', 'scalar'): multiarray.scalar,
        ('numpy.core.numeric', '_frombuffer'): numeric._frombuffer,
        ('numpy', 'ndarray'): np.ndarray,
        ('numpy', 'dtype'): np.dtype,
    }


_ARRAYS: Dict[Pair, Any] = _merge(
    {
        ('collections', 'OrderedDict'): OrderedDict,
        ('builtins', 'set'): set,
        ('builtins', 'frozenset'): frozenset,
        ('builtins', 'complex'): complex,
        ('builtins', 'bytearray'): bytearray,
        ('_codecs', 'encode'): _latin1_encode,
    }, _numpy_globals())

#: Plain pickles of dicts / lists of numpy arrays: iPER annotation files.
IPER_ANNOTATION = AllowList('iPER annotation file',
                            _ARRAYS)
#: SMPL parameter sequences given to the inferencers.
SMPL_SEQUENCE = AllowList('SMPL parameter file', _ARRAYS)

_CHUMPY_CLASSES = (('chumpy.ch', 'Ch'), ('chumpy.reordering', 'Select'),
                   ('chumpy.reordering', 'transpose'),
                   ('chumpy.reordering', 'reshape'))
_SPARSE_CLASSES = tuple((f'scipy.sparse.{p}{fmt}', f'{fmt}_matrix')
                        for fmt in ('csc', 'csr', 'coo') for p in ('', '_'))


def _smpl_globals() -> Dict[Pair, Any]:
    out = dict(_ARRAYS)
    for module, name in _CHUMPY_CLASSES:
        out[(module, name)] = _stand_in(ChumpyStandIn, module, name,
                                        chumpy_path=f'{module}.{name}')
    for module, name in _SPARSE_CLASSES:
        out[(module, name)] = _stand_in(SparseStandIn, module, name,
                                        fmt=name[:3])
    out[('copyreg', '_reconstructor')] = _reconstructor_for(
        (ChumpyStandIn, SparseStandIn))
    out[('builtins', 'object')] = object
    return out


#: SMPL model files (the licensed release's pickles, HMR's neutral model).
SMPL_MODEL = AllowList('SMPL model file', _smpl_globals())


_HISTORY_STATISTICS = ('min', 'max', 'current', 'mean')


def _build_checkpoint() -> AllowList:
    """Globals of checkpoints as mmengine writes them: what torch's own
    ``weights_only`` unpickler admits (tensor / parameter rebuilders,
    storages, dtypes, devices, sizes, layouts), numpy arrays and scalars,
    the message hub's ``HistoryBuffer`` and its statistics methods."""
    import torch.serialization  # noqa: F401  (loads the module below)
    from mmengine.logging import HistoryBuffer
    from torch import _weights_only_unpickler
    torch_globals = {
        tuple(qualname.rsplit('.', 1)): obj
        for qualname, obj in
        _weights_only_unpickler._get_allowed_globals().items()
    }
    return AllowList(
        'checkpoint',
        _merge(torch_globals, _ARRAYS, {
            ('mmengine.logging.history_buffer', 'HistoryBuffer'):
            HistoryBuffer,
            ('copyreg', '_reconstructor'):
            _reconstructor_for((HistoryBuffer, )),
            ('builtins', 'object'): object,
        }, {  # protocol >= 4 names methods by qualified name
            ('mmengine.logging.history_buffer', f'HistoryBuffer.{n}'):
            getattr(HistoryBuffer, n)
            for n in _HISTORY_STATISTICS
        }),
        getattrs=[(HistoryBuffer, n) for n in _HISTORY_STATISTICS])


class _LazyAllowList:
    """An allow-list built at first use (torch and mmengine are imported
    only when a checkpoint is read)."""

    def __init__(self, build: Callable[[], AllowList]) -> None:
        self._build = build
        self._value = None

    def get(self) -> AllowList:
        """The allow-list."""
        if self._value is None:
            self._value = self._build()
        return self._value


#: Checkpoints: plain state dicts, or what mmengine writes (tensors, optimizer
#: and scheduler states, numpy scalars, the message hub's ``HistoryBuffer``).
CHECKPOINT = _LazyAllowList(_build_checkpoint)


def _pickle_module(allow: AllowList, source: str) -> types.ModuleType:
    """A stand-in ``pickle`` module for ``torch.load(pickle_module=...)``:
    ``Unpickler`` and ``load`` both use the allow-list."""

    class Unpickler(SafeUnpickler):

        def __init__(self, file, **kwargs: Any) -> None:
            super().__init__(file, allow, source, **kwargs)

    def load(file, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    mod = types.ModuleType(f'mmlwgan_safe_pickle_{allow.kind}')
    mod.Unpickler = Unpickler
    mod.load = load
    mod.UnpicklingError = pickle.UnpicklingError
    mod.HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
    return mod


def load_torch_file(path: str,
                    allow: Any = CHECKPOINT,
                    map_location: Any = 'cpu') -> Any:
    """``torch.load`` a file written by someone else, safely.

    ``weights_only=True`` first; when torch's allow-list refuses a global,
    again with ``allow`` (both torch formats, zip and legacy). TorchScript
    archives are refused.

    Args:
        path (str): local file.
        allow (AllowList): what the file may name beyond torch's own
            ``weights_only`` list. Defaults to :data:`CHECKPOINT`.
        map_location: as for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        The unpickled object.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        UnsafePickleError: the file names a global ``allow`` does not hold,
            or is a TorchScript archive.
    """
    import torch
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{path} can not be found.')
    if isinstance(allow, _LazyAllowList):
        allow = allow.get()
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        pass  # torch's allow-list is narrower than ``allow``: read again
    except RuntimeError as e:
        if 'TorchScript' in str(e):
            raise UnsafePickleError(
                f'{path}: refused to load: a TorchScript archive holds code '
                'that loading would run; give a checkpoint saved with '
                'torch.save(state_dict)') from None
        raise
    return _rethrow_guard_errors(
        path, lambda: torch.load(
            path,
            map_location=map_location,
            weights_only=False,
            pickle_module=_pickle_module(allow, path)))

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Checkpoints are read without running code hidden in their pickles.

:func:`load_checkpoint_tensors` reads a local checkpoint through
:func:`mmlwgan.utils.safe_pickle.load_torch_file` (``weights_only=True``
first, then the :data:`~mmlwgan.utils.safe_pickle.CHECKPOINT` allow-list for
what mmengine adds: numpy scalars, the message hub's ``HistoryBuffer``).
:func:`use_safe_checkpoint_loader` makes mmengine use it for local files
(``load_from``, ``--resume``).
"""
import os.path as osp
from typing import Any

from .safe_pickle import CHECKPOINT, load_torch_file


def load_checkpoint_tensors(path: str, map_location='cpu') -> Any:
    """``torch.load`` a checkpoint safely.

    Args:
        path (str): local file.
        map_location: as for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        The unpickled object.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafePickleError: the file names a global a checkpoint never holds.
    """
    return load_torch_file(path, CHECKPOINT, map_location)


def _load_local(filename: str, map_location=None) -> Any:
    return load_checkpoint_tensors(osp.expanduser(filename), map_location)


def use_safe_checkpoint_loader() -> None:
    """Make mmengine read local checkpoints with
    :func:`load_checkpoint_tensors` (``load_from``, ``--resume``): torch >=
    2.6 refuses mmengine's own checkpoints with ``weights_only=True``, and a
    full unpickle would run whatever code a file names."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', force=True)(_load_local)

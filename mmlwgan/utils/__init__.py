# Copyright (c) mmlwgan contributors. All rights reserved.
"""Utilities: the bottom layer of mmlwgan.

No module here imports another mmlwgan package at module level (the models,
datasets, ... import these; ``register_all_modules`` imports them when
called). ``mmlwgan.models`` imports the module that holds a utility
(``mmlwgan.utils.logging``), not this package.
"""
from .allocator import freed_memory_retained, retain_freed_memory
from .errors import InferenceInputError, NoPersonError
from .io import (AtomicVideoWriter, OutputPathError, apply_umask, atomic_dir,
                 atomic_path, check_output_dir, remove_stale_temporaries,
                 write_image)
from .logging import print_once_warning
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'print_once_warning', 'AtomicVideoWriter',
    'atomic_path', 'atomic_dir', 'write_image', 'apply_umask',
    'remove_stale_temporaries', 'check_output_dir', 'OutputPathError',
    'retain_freed_memory', 'freed_memory_retained', 'InferenceInputError',
    'NoPersonError'
]

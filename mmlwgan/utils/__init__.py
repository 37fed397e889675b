# Copyright (c) mmlwgan contributors. All rights reserved.
from .allocator import freed_memory_retained, retain_freed_memory
from .io import AtomicVideoWriter, atomic_path, write_image
from .logging import print_once_warning
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'print_once_warning', 'AtomicVideoWriter',
    'atomic_path', 'write_image', 'retain_freed_memory',
    'freed_memory_retained'
]

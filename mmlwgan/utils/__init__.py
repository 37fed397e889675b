# Copyright (c) mmlwgan contributors. All rights reserved.
from .allocator import freed_memory_retained, retain_freed_memory
from .io import (AtomicVideoWriter, OutputPathError, apply_umask, atomic_dir,
                 atomic_path, check_output_dir, remove_stale_temporaries,
                 write_image)
from .logging import print_once_warning
from .setup_env import register_all_modules

__all__ = [
    'register_all_modules', 'print_once_warning', 'AtomicVideoWriter',
    'atomic_path', 'atomic_dir', 'write_image', 'apply_umask',
    'remove_stale_temporaries', 'check_output_dir', 'OutputPathError',
    'retain_freed_memory',
    'freed_memory_retained'
]

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Keep freed host memory for reuse (glibc ``malloc`` tuning).

On the CPU, PyTorch allocates every activation with ``malloc``. glibc
serves large blocks with ``mmap`` and gives them back with ``munmap`` when
they are freed (and trims the heap's top above 128 KiB), so an inference
loop that allocates the same activations frame after frame touches fresh
pages each time: for G_TSF at 256 px that is hundreds of MB of page faults
per frame, expensive in a virtual machine (measured: G_TSF 472 -> 295
ms/frame on a 2-core KVM guest with freed memory kept). GPUs have
PyTorch's caching allocator for this; on the CPU, Intel's and PyTorch's
performance guides recommend jemalloc / tcmalloc through ``LD_PRELOAD``.
:func:`retain_freed_memory` gets the same effect in-process, without a
preload, through ``mallopt``: no ``mmap`` for large blocks and no trimming,
so freed blocks stay in the heap and are reused.

The cost: the process keeps its peak heap (RSS does not shrink after a
peak), and the setting is process-wide and, once made, stays. Other
allocators (musl, macOS) and an explicitly preloaded jemalloc / tcmalloc
are left alone.
"""
import ctypes
import ctypes.util
import os
import platform
import threading
from typing import Optional

__all__ = ['retain_freed_memory', 'freed_memory_retained',
           'glibc_malloc_tunable']

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
#: largest value mallopt takes (an int); ~2 GiB of free heap top kept
_KEEP = 2**31 - 1

_lock = threading.Lock()
_retained = False
_libc: Optional[ctypes.CDLL] = None


def _glibc() -> Optional[ctypes.CDLL]:
    global _libc
    if _libc is None:
        if platform.system() != 'Linux' or platform.libc_ver()[0] != 'glibc':
            return None
        try:
            lib = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        except OSError:
            return None
        if not hasattr(lib, 'mallopt'):
            return None
        lib.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.mallopt.restype = ctypes.c_int
        _libc = lib
    return _libc


def glibc_malloc_tunable() -> bool:
    """Whether this process allocates with glibc's ``malloc`` (and no
    jemalloc / tcmalloc / mimalloc is preloaded)."""
    preload = os.environ.get('LD_PRELOAD', '')
    if any(k in preload for k in ('jemalloc', 'tcmalloc', 'mimalloc')):
        return False
    return _glibc() is not None


def freed_memory_retained() -> bool:
    """Whether :func:`retain_freed_memory` has taken effect here."""
    return _retained


def retain_freed_memory(enable: Optional[bool] = None) -> bool:
    """Make glibc keep freed memory for reuse (process-wide, once).

    Args:
        enable (bool, optional): False does nothing. None (default): on,
            unless the environment variable ``MMLWGAN_RETAIN_FREED_MEMORY``
            is ``0``.

    Returns:
        bool: True when freed memory is (now) retained; False when disabled
        or not applicable (not glibc, another allocator preloaded, or
        ``mallopt`` refused).
    """
    global _retained
    if enable is None:
        enable = os.environ.get('MMLWGAN_RETAIN_FREED_MEMORY', '1') != '0'
    if not enable:
        return _retained
    with _lock:
        if _retained:
            return True
        if not glibc_malloc_tunable():
            return False
        lib = _glibc()
        # mallopt returns 1 on success
        ok = lib.mallopt(_M_MMAP_MAX, 0) == 1
        ok = lib.mallopt(_M_TRIM_THRESHOLD, _KEEP) == 1 and ok
        _retained = ok
        return ok

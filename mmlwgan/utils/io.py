# Copyright (c) mmlwgan contributors. All rights reserved.
"""Output files that are never left half-written.

Every writer here writes to a hidden temporary file next to the destination
and renames it into place only when everything succeeded; on an exception the
temporary file is removed, so a failed run leaves nothing behind.

* Temporary names carry the writing process: ``.tmp-<pid>-<host>-<random>``.
  A process killed with SIGKILL cannot remove its own; the next writer in
  the same folder removes those of processes that are no longer alive
  (:func:`remove_stale_temporaries`; same host only; the ``.tmp-*`` entries
  of older versions, which carry no process id, once they are a day old).
* Finished files and folders get the permissions of a plain ``open()`` /
  ``mkdir()`` (``0o666`` / ``0o777`` minus the umask), not the ``0o600`` /
  ``0o700`` of :mod:`tempfile`, so that other users or a web server can
  read them when the umask allows it.
"""
import hashlib
import os
import os.path as osp
import re
import shutil
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import Iterator, List, Optional

import cv2
import numpy as np

__all__ = [
    'atomic_path', 'atomic_dir', 'write_image', 'AtomicVideoWriter',
    'temp_prefix', 'remove_stale_temporaries', 'current_umask',
    'apply_umask', 'check_output_dir', 'OutputPathError'
]

#: entries of older versions without a process id are removed after this
LEGACY_TEMP_AGE_S = 24 * 3600
_TEMP_RE = re.compile(r'^\.tmp-(\d+)-([0-9a-f]{8})-')
#: seconds during which a folder is not scanned again by this process
RESCAN_S = 60.0
_cleaned = {}
_cleaned_lock = threading.Lock()


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def temp_prefix(name: str = '') -> str:
    """The prefix of this process's temporary names:
    ``.tmp-<pid>-<host hash>-[<name>-]``."""
    prefix = f'.tmp-{os.getpid()}-{_host_tag()}-'
    return prefix + (f'{name}-' if name else '')


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's process, or unknown: keep its files
    return True


def remove_stale_temporaries(folder: str, force: bool = False) -> List[str]:
    """Remove the ``.tmp-*`` files and folders left in ``folder`` by writers
    that died (SIGKILL, power loss).

    An entry is stale when the process named in it (same host) is no longer
    alive; entries of older versions (no process id) when they are older
    than :data:`LEGACY_TEMP_AGE_S`. A folder is scanned at most once per
    :data:`RESCAN_S` seconds by a process (``force=True``: now), so that
    writing many files into one folder costs one scan.

    Returns:
        list[str]: the removed paths.
    """
    folder = osp.abspath(folder)
    now = time.monotonic()
    with _cleaned_lock:
        if not force and now - _cleaned.get(folder, -RESCAN_S) < RESCAN_S:
            return []
        _cleaned[folder] = now
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    host = _host_tag()
    now = time.time()
    removed = []
    for name in names:
        if not name.startswith('.tmp-'):
            continue
        path = osp.join(folder, name)
        m = _TEMP_RE.match(name)
        if m:
            if m.group(2) != host or _pid_alive(int(m.group(1))):
                continue
        else:
            try:
                if now - os.lstat(path).st_mtime < LEGACY_TEMP_AGE_S:
                    continue
            except OSError:
                continue
        try:
            if osp.isdir(path) and not osp.islink(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
            removed.append(path)
        except OSError:
            pass
    return removed


def current_umask() -> int:
    """The process's umask, read without changing it where possible
    (``/proc/self/status``; else set and restored at once)."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('Umask:'):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str, is_dir: Optional[bool] = None) -> None:
    """Give ``path`` the mode a plain ``open()`` (``0o666``) or ``mkdir()``
    (``0o777``) would have under the current umask (temporary files are
    ``0o600`` / ``0o700``). A folder's entries are left as they are."""
    if is_dir is None:
        is_dir = osp.isdir(path)
    os.chmod(path, (0o777 if is_dir else 0o666) & ~current_umask())


class OutputPathError(OSError):
    """An output folder cannot be used: it is a file, it cannot be created
    or it is not writable. The message says which and why, in one line."""


def check_output_dir(path: str, what: str = 'output folder') -> str:
    """Fail early, with one clear line, when ``path`` cannot receive
    outputs; nothing is created.

    The folder (or, when it does not exist yet, its nearest existing
    parent) must be a folder in which a file can be created: a probe file is
    created and removed (which also catches read-only mounts and root on
    them, where permission bits say nothing).

    Raises:
        OutputPathError: a file, a path through a file, or no write access.
    """
    path = os.fspath(path)
    full = osp.abspath(path)
    probe_dir = full
    while not osp.exists(probe_dir):
        parent = osp.dirname(probe_dir)
        if parent == probe_dir:
            break
        probe_dir = parent
    if not osp.isdir(probe_dir):
        if probe_dir == full:
            raise OutputPathError(f'{what} {path!r} is a file, not a folder')
        raise OutputPathError(
            f'{what} {path!r} cannot be created: {probe_dir!r} is a file')
    try:
        fd, probe = tempfile.mkstemp(prefix=temp_prefix('probe'),
                                     dir=probe_dir)
    except OSError as e:
        reason = e.strerror or str(e)
        where = '' if probe_dir == full else \
            f' (its parent {probe_dir!r} does not accept new entries)'
        raise OutputPathError(
            f'{what} {path!r} is not writable: {reason}{where}') from None
    os.close(fd)
    os.remove(probe)
    return path


def _make_parent(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    remove_stale_temporaries(folder)


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it to ``path`` on success.

    The file gets the umask's permissions (like ``open()``) before it is
    moved into place; stale temporary files of dead writers in the folder
    are removed first (:func:`remove_stale_temporaries`).

    Args:
        path (str): the final destination. Its folder is created.

    Yields:
        str: the temporary path to write to (same extension as ``path``).
    """
    folder = osp.dirname(osp.abspath(path))
    _make_parent(folder)
    ext = osp.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(), suffix=ext, dir=folder)
    os.close(fd)
    try:
        yield tmp
        apply_umask(tmp, is_dir=False)
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_dir(path: str) -> Iterator[str]:
    """A temporary folder beside ``path`` renamed to it on success (an
    existing ``path`` folder is replaced), removed on failure; it gets the
    umask's permissions (like ``mkdir()``)."""
    parent = osp.dirname(osp.abspath(path))
    _make_parent(parent)
    tmp = tempfile.mkdtemp(prefix=temp_prefix(osp.basename(path)),
                           dir=parent)
    try:
        yield tmp
        apply_umask(tmp, is_dir=True)
        if osp.isdir(path):
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def write_image(path: str, img: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB image atomically (format from extension)."""
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError('write_image expects an (H, W, 3) uint8 RGB array, '
                         f'got {img.dtype} {img.shape}')
    with atomic_path(path) as tmp:
        if not cv2.imwrite(tmp, cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise OSError(f'could not write image {path}')


class AtomicVideoWriter:
    """Write RGB frames to an mp4 (or avi) that appears only when complete.

    Use as a context manager; frames are (H, W, 3) uint8 RGB arrays of one
    size. On an exception inside the ``with`` block the partial file is
    deleted and nothing appears at ``path``.

    Args:
        path (str): destination, e.g. ``'out/result.mp4'``.
        fps (float): frames per second. Defaults to 30 (the release's).
        fourcc (str, optional): codec; ``'mp4v'`` for .mp4 by default.
    """

    def __init__(self, path: str, fps: float = 30.0,
                 fourcc: Optional[str] = None) -> None:
        self.path = path
        self.fps = fps
        ext = osp.splitext(path)[1].lower()
        self.fourcc = fourcc or ('mp4v' if ext in ('.mp4', '.mov') else 'MJPG')
        self._ctx = None
        self._tmp = None
        self._writer = None
        self.num_frames = 0

    def __enter__(self) -> 'AtomicVideoWriter':
        self._ctx = atomic_path(self.path)
        self._tmp = self._ctx.__enter__()
        return self

    def write(self, frame: np.ndarray) -> None:
        """Append one (H, W, 3) uint8 RGB frame."""
        if frame.dtype != np.uint8 or frame.ndim != 3:
            raise ValueError('frames must be (H, W, 3) uint8 RGB arrays, got '
                             f'{frame.dtype} {frame.shape}')
        if self._writer is None:
            h, w = frame.shape[:2]
            self._writer = cv2.VideoWriter(
                self._tmp, cv2.VideoWriter_fourcc(*self.fourcc), self.fps,
                (w, h))
            if not self._writer.isOpened():
                raise OSError(f'could not open a video writer for {self.path}')
            self._size = (h, w)
        elif frame.shape[:2] != self._size:
            raise ValueError(f'frame size {frame.shape[:2]} differs from the '
                             f'first frame size {self._size}')
        self._writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self.num_frames += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        if self._writer is not None:
            self._writer.release()
        if exc_type is None and self.num_frames == 0:
            exc_type, exc = ValueError, ValueError(
                f'no frame was written to {self.path}')
            self._ctx.__exit__(exc_type, exc, None)
            raise exc
        return self._ctx.__exit__(exc_type, exc, tb) or False

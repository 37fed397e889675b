# Copyright (c) mmlwgan contributors. All rights reserved.
"""Output files that are never left half-written.

Every writer here writes to a hidden temporary file next to the destination
and renames it into place only when everything succeeded; on an exception the
temporary file is removed, so a failed run leaves nothing behind.
"""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator, Optional

import cv2
import numpy as np


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it to ``path`` on success.

    Args:
        path (str): the final destination. Its folder is created.

    Yields:
        str: the temporary path to write to (same extension as ``path``).
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    ext = osp.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix='.tmp-', suffix=ext, dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


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

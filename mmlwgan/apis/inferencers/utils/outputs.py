# Copyright (c) mmlwgan contributors. All rights reserved.
"""Streaming outputs of the inferencers: an mp4, an optional side-by-side
mp4 and PNG folder, written as frames come and published atomically."""
import contextlib
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from mmlwgan.utils import AtomicVideoWriter, atomic_dir, write_image

__all__ = ['OutputWriter', 'as_uint8', 'side_by_side_frame']


class OutputWriter:
    """Write result frames (and side-by-side frames) as they come.

    Everything is written to temporary files and moved into place only when
    the ``with`` block ends without an exception, so a failed run leaves no
    partial mp4 or png behind. An output folder that cannot be written
    fails at once (:func:`~mmlwgan.utils.check_output_dir`); temporary files
    of killed runs in it are removed; outputs get the umask's permissions
    (see :mod:`mmlwgan.utils.io`).

    Args:
        out_dir (str, optional): output folder; None writes nothing.
        name (str): base name of the outputs.
        save_video (bool): ``<name>.mp4``.
        side_by_side (bool): ``<name>_side_by_side.mp4``.
        save_frames (bool): ``<name>_frames/000000.png`` ...
        save_image (bool): ``<name>.png`` (single-frame results).
        fps (float): video frame rate (30 as in the release).
        keep_frames (bool): also keep the result frames in memory.
    """

    def __init__(self, out_dir: Optional[str], name: str,
                 save_video: bool = True, side_by_side: bool = False,
                 save_frames: bool = False, save_image: bool = False,
                 fps: float = 30.0, keep_frames: bool = False) -> None:
        self.out_dir = out_dir
        self.fps = fps
        self.keep_frames = keep_frames
        self.frames: List[np.ndarray] = []
        self.num_frames = 0
        self.paths: Dict[str, Optional[str]] = dict(
            video=None, side_by_side=None, frames_dir=None, image=None)
        if out_dir is not None:
            from mmlwgan.utils import check_output_dir
            check_output_dir(out_dir)  # one clear error before any frame
            base = osp.join(out_dir, name)
            if save_video:
                self.paths['video'] = base + '.mp4'
            if side_by_side:
                self.paths['side_by_side'] = base + '_side_by_side.mp4'
            if save_frames:
                self.paths['frames_dir'] = base + '_frames'
            if save_image:
                self.paths['image'] = base + '.png'
        self._stack = None
        self._video = self._sbs = None
        self._frames_tmp = None
        self._first: Optional[np.ndarray] = None

    def __enter__(self) -> 'OutputWriter':
        stack = contextlib.ExitStack()
        try:
            if self.paths['video']:
                self._video = stack.enter_context(
                    AtomicVideoWriter(self.paths['video'], self.fps))
            if self.paths['side_by_side']:
                self._sbs = stack.enter_context(
                    AtomicVideoWriter(self.paths['side_by_side'], self.fps))
            if self.paths['frames_dir']:
                self._frames_tmp = stack.enter_context(
                    atomic_dir(self.paths['frames_dir']))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def write(self, frames: Sequence[np.ndarray],
              side_by_side: Optional[Sequence[np.ndarray]] = None) -> None:
        """Append (H, W, 3) uint8 RGB result frames (and their side-by-side
        composites)."""
        for k, frame in enumerate(frames):
            if self._video is not None:
                self._video.write(frame)
            if self._sbs is not None and side_by_side is not None:
                self._sbs.write(side_by_side[k])
            if self._frames_tmp is not None:
                write_image(osp.join(self._frames_tmp,
                                     f'{self.num_frames:06d}.png'), frame)
            if self.num_frames == 0:
                self._first = frame
            if self.keep_frames:
                self.frames.append(frame)
            self.num_frames += 1

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack = self._stack, None
        if exc_type is None and self.paths['image'] and \
                self._first is not None:
            try:
                # inside the stack's protection: a failure here removes the
                # videos too
                write_image(self.paths['image'], self._first)
            except BaseException as e:  # noqa: BLE001
                stack.__exit__(type(e), e, e.__traceback__)
                raise
        return bool(stack.__exit__(exc_type, exc, tb))


def as_uint8(imgs: Tensor) -> List[np.ndarray]:
    """(N, 3, H, W) in [-1, 1] -> list of (H, W, 3) uint8."""
    arr = ((imgs.detach().float().clamp(-1, 1) + 1) * 127.5 + 0.5).to(
        torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    return list(arr)


def side_by_side_frame(panels: Sequence[np.ndarray],
                       labels: Optional[Sequence[str]] = None) -> np.ndarray:
    """Panels (H, W, 3) uint8 side by side, labelled when ``labels``."""
    from mmlwgan.visualization import hstack_labelled
    return hstack_labelled([p.copy() for p in panels], labels)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""The web app's work, without the web: one shared model, one run at a
time, results as browser-playable files.

:class:`WebRunner` takes what a page hands over (paths of uploaded files,
option values), runs one of the three inferencers with a progress callback
and returns the paths of the written videos, transcoded to H.264 (OpenCV's
``mp4v`` does not play in browsers). A failed run ends as the one line the
command-line demos print (:func:`error_line`, which is
:func:`mmlwgan.utils.cli.error_message`).
"""
import os
import os.path as osp
import subprocess
import tempfile
import threading
import time
from typing import Any, Dict, List, Optional, Sequence

from mmlwgan.apis.progress import ProgressCallback
# the one line a demo CLI prints on stderr for an exception: error: <cause>
from mmlwgan.utils.cli import error_message as error_line

__all__ = ['error_line', 'to_browser_video', 'WebRunner', 'source_list']


def to_browser_video(path: str, timeout: float = 300.0) -> str:
    """Re-encode an mp4 in place as H.264 / yuv420p with the moov atom
    first, so that browsers play it while it downloads.

    Uses the ffmpeg binary of ``imageio-ffmpeg`` (a runtime requirement).
    Every frame is kept (no frame-rate conversion).

    Args:
        path (str): the mp4 written by an inferencer.
        timeout (float): seconds ffmpeg may take.

    Returns:
        str: ``path``.
    """
    import imageio_ffmpeg
    tmp = osp.join(osp.dirname(path), f'.h264-{osp.basename(path)}')
    cmd = [
        imageio_ffmpeg.get_ffmpeg_exe(), '-nostdin', '-loglevel', 'error',
        '-y', '-i', path, '-c:v', 'libx264', '-preset', 'veryfast', '-crf',
        '18', '-pix_fmt', 'yuv420p', '-fps_mode', 'passthrough', '-movflags',
        '+faststart', '-an', tmp
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(
                f'ffmpeg could not re-encode {path}: '
                f'{proc.stderr.strip().splitlines()[-1:]}')
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)
    return path


class WebRunner:
    """Runs the three tasks for the web app on one shared model.

    The model is built once (lazily, or by :meth:`load`); the appearance
    transfer and novel view inferencers reuse it. A lock makes runs one at
    a time even outside the app's queue.

    Args:
        config (str): model config file.
        checkpoint (str, optional): its weights.
        device (str): ``'cpu'``, ``'cuda'``... Defaults to ``'cpu'``.
        cfg_options (dict, optional): config overrides (e.g. the body
            model's ``model_path``).
        out_root (str, optional): where each run gets its own folder;
            default a temporary folder.
    """

    def __init__(self, config: str, checkpoint: Optional[str] = None,
                 device: str = 'cpu', cfg_options: Optional[dict] = None,
                 out_root: Optional[str] = None) -> None:
        self.config = config
        self.checkpoint = checkpoint
        self.device = device
        self.cfg_options = cfg_options
        self.out_root = osp.abspath(
            out_root or tempfile.mkdtemp(prefix='mmlwgan-web-'))
        os.makedirs(self.out_root, exist_ok=True)
        self._lock = threading.Lock()
        self._inferencers: Dict[str, Any] = {}

    # ----------------------------------------------------------- model
    def load(self) -> None:
        """Build the model and the three inferencers (once)."""
        if self._inferencers:
            return
        from mmlwgan.apis import (AppearanceTransferInferencer,
                                  MotionImitationInferencer,
                                  NovelViewInferencer)
        imitator = MotionImitationInferencer(
            self.config, weights=self.checkpoint, device=self.device,
            cfg_options=self.cfg_options, show_progress=False)
        self._inferencers = dict(
            imitation=imitator,
            transfer=AppearanceTransferInferencer(
                imitator.model, device=self.device, show_progress=False),
            view=NovelViewInferencer(imitator.model, device=self.device,
                                     show_progress=False))

    @property
    def part_names(self) -> List[str]:
        """Body part names (for appearance transfer's ``keep_parts``)."""
        self.load()
        inf = self._inferencers['transfer']
        return list(inf.part_labels()[1])

    # ------------------------------------------------------------ runs
    def run(self, task: str, progress: Optional[ProgressCallback] = None,
            **kwargs) -> Dict[str, Any]:
        """Run one task into a new folder under ``out_root``.

        Args:
            task (str): ``'imitation'``, ``'transfer'`` or ``'view'``.
            progress (ProgressCallback, optional): ``(stage, done, total)``.
            **kwargs: the inferencer's call arguments (``src``, ``ref``,
                ``src_smpl``, ...).

        Returns:
            dict: the inferencer's result (``video``, ``side_by_side``,
            ``num_frames``, ...) with browser-playable videos, plus
            ``seconds``.
        """
        if task not in ('imitation', 'transfer', 'view'):
            raise ValueError(f'unknown task {task!r}')
        with self._lock:
            self.load()
            inferencer = self._inferencers[task]
            out_dir = tempfile.mkdtemp(prefix=f'{task}-', dir=self.out_root)
            t0 = time.perf_counter()
            inferencer.progress_callback = progress
            try:
                result = inferencer(out_dir=out_dir, **kwargs)
            finally:
                inferencer.progress_callback = None
            if progress is not None:
                progress('encoding the video', 0, None)
            for key in ('video', 'side_by_side'):
                if result.get(key):
                    to_browser_video(result[key])
            result['seconds'] = time.perf_counter() - t0
            result.pop('frames', None)
            return result


def source_list(files: Optional[Sequence[Any]]) -> Any:
    """Uploaded source photo(s) -> what the inferencers take: one path,
    or a list of paths; None when nothing was uploaded."""
    if not files:
        return None
    if isinstance(files, (str, os.PathLike)):
        return os.fspath(files)
    paths = [os.fspath(getattr(f, 'name', f)) for f in files]
    return paths[0] if len(paths) == 1 else paths

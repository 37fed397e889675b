# Copyright (c) mmlwgan contributors. All rights reserved.
"""Reading video frames from a folder of images or from a video file.

iPER is distributed in two forms: folders of frames
(``images/<actor>/<cloth>/<action>/000.jpg ...``, the ``images_HD`` layout
the evaluation protocol names frames in) and the 256 px video release
(``iPER_256_video_release/<actor>_<cloth>_<action>.mp4``, which the release's
``tools/unzip_iPER.py`` expands into ``frame%08d.png`` starting at 0). Both
index frames from 0 in temporal order; this module reads either.

It is also mmlwgan's one list of image and video file extensions
(:data:`IMG_EXTENSIONS`, :data:`VIDEO_EXTENSIONS`) and its one sequential
frame reader (:func:`iter_video_frames`), used by the inferencers' inputs,
the video preprocessing and the tools.

Frames are returned as ``(H, W, 3)`` uint8 RGB arrays.
"""
import os
import os.path as osp
import re
from typing import Dict, Iterator, List, Optional, Sequence

import cv2
import numpy as np

#: Image extensions recognised as images / frames (compared
#: case-insensitively), everywhere in mmlwgan.
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.webp', '.tif',
                  '.tiff')
#: Video extensions recognised as videos (compared case-insensitively),
#: everywhere in mmlwgan.
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg',
                    '.mpeg', '.gif')

_DIGITS = re.compile(r'(\d+)')


def natural_sort_key(name: str) -> tuple:
    """Sort key ordering embedded numbers by value (``'2.jpg' < '10.jpg'``).

    Zero-padded names (the release's ``000.jpg`` / ``frame00000000.png``)
    sort the same as with a plain string sort; unpadded or wider numbers
    (``999.jpg``, ``1000.jpg``) still come out in temporal order.
    """
    parts = _DIGITS.split(name)
    return tuple((0, int(p), p) if p.isdigit() else (1, 0, p.lower())
                 for p in parts)


def is_image_file(path: str) -> bool:
    return osp.splitext(path)[1].lower() in IMG_EXTENSIONS


def is_video_file(path: str) -> bool:
    return osp.splitext(path)[1].lower() in VIDEO_EXTENSIONS


def list_frames(folder: str) -> List[str]:
    """File names of the image frames in ``folder``, in temporal order.

    Hidden files (names starting with ``.``) are ignored.

    Args:
        folder (str): a frame folder.

    Returns:
        list[str]: names (not paths), naturally sorted.

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'frames folder {folder} does not exist')
    names = [
        n for n in os.listdir(folder)
        if not n.startswith('.') and is_image_file(n)
        and osp.isfile(osp.join(folder, n))
    ]
    return sorted(names, key=natural_sort_key)


def frame_index_from_name(name: str) -> int:
    """The number in a frame name: ``'035.jpg'`` -> 35,
    ``'frame00000012.png'`` -> 12 (the last number of the base name).

    Raises:
        ValueError: the name holds no number.
    """
    digits = _DIGITS.findall(osp.splitext(osp.basename(name))[0])
    if not digits:
        raise ValueError(f'frame name {name!r} holds no frame number')
    return int(digits[-1])


def read_image(path: str) -> np.ndarray:
    """Read an image file as ``(H, W, 3)`` uint8 RGB.

    Grey images are expanded to 3 channels and an alpha channel is dropped.

    Raises:
        FileNotFoundError: the file does not exist.
        OSError: the file cannot be decoded.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'frame {path} does not exist')
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f'could not decode image {path}')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _open_video(path: str) -> cv2.VideoCapture:
    if not osp.isfile(path):
        raise FileNotFoundError(f'video {path} does not exist')
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise OSError(f'could not open video {path}')
    return cap


def iter_video_frames(path: str, max_frames: Optional[int] = None,
                      rgb: bool = True) -> Iterator[np.ndarray]:
    """Decode a video file frame by frame (one frame in memory at a time).

    The video is opened at the first ``next()`` and released when the
    generator ends or is closed.

    Args:
        path (str): a video file readable by OpenCV.
        max_frames (int, optional): stop after this many frames.
        rgb (bool): RGB frames (default); False keeps OpenCV's BGR.

    Yields:
        np.ndarray: ``(H, W, 3)`` uint8 frames, until the video (or
        ``max_frames``) ends.

    Raises:
        FileNotFoundError / OSError: missing or unreadable video.
    """
    cap = _open_video(path)
    try:
        count = 0
        while max_frames is None or count < max_frames:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if rgb else frame
    finally:
        cap.release()


def count_video_frames(path: str, exact: bool = False) -> int:
    """Number of frames of a video file.

    Args:
        path (str): the video.
        exact (bool): decode (grab) every frame to count them instead of
            trusting the container's frame count. Defaults to False.

    Raises:
        FileNotFoundError / OSError: missing or unreadable video.
    """
    cap = _open_video(path)
    try:
        if not exact:
            count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            if count > 0:
                return count
        count = 0
        while cap.grab():
            count += 1
        return count
    finally:
        cap.release()


def read_video_frames(path: str, indices: Sequence[int]) -> List[np.ndarray]:
    """Read the frames ``indices`` (0-based) of a video as RGB uint8 arrays.

    Frames are decoded in one forward pass from the smallest index (one seek
    to it, then sequential reads), so asking for several frames at once is
    cheap.

    Args:
        path (str): a video file readable by OpenCV.
        indices (Sequence[int]): frame numbers, any order, repeats allowed.

    Returns:
        list[np.ndarray]: one ``(H, W, 3)`` uint8 RGB frame per index, in the
        order of ``indices``.

    Raises:
        FileNotFoundError / OSError: missing or unreadable video.
        IndexError: an index is negative or past the end of the video.
    """
    indices = [int(i) for i in indices]
    if not indices:
        return []
    if min(indices) < 0:
        raise IndexError(f'negative frame index {min(indices)} for {path}')
    wanted = sorted(set(indices))
    cap = _open_video(path)
    got: Dict[int, np.ndarray] = {}
    try:
        pos = wanted[0]
        if pos > 0:
            cap.set(cv2.CAP_PROP_POS_FRAMES, pos)
            actual = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
            if actual != pos:  # inexact seek: decode from the start
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                pos = 0
        last = wanted[-1]
        todo = set(wanted)
        while pos <= last:
            if pos in todo:
                ok, frame = cap.read()
                if ok:
                    got[pos] = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            else:
                ok = cap.grab()
            if not ok:
                break
            pos += 1
    finally:
        cap.release()
    missing = [i for i in wanted if i not in got]
    if missing:
        raise IndexError(f'could not read frame(s) {missing} of video {path} '
                         f'(it has {pos} readable frames)')
    return [got[i] for i in indices]


def read_frames(paths_or_video: Dict,
                indices: Sequence[int]) -> List[np.ndarray]:
    """Read frames from either source description.

    Args:
        paths_or_video (dict): ``dict(frame_dir=..., frame_names=[...])`` for
            a frame folder or ``dict(video_path=...)`` for a video file.
        indices (Sequence[int]): 0-based frame numbers.
    """
    if paths_or_video.get('frame_names') is not None:
        names = paths_or_video['frame_names']
        folder = paths_or_video['frame_dir']
        return [read_image(osp.join(folder, names[int(i)])) for i in indices]
    return read_video_frames(paths_or_video['video_path'], indices)


__all__ = [
    'IMG_EXTENSIONS', 'VIDEO_EXTENSIONS', 'natural_sort_key', 'is_image_file',
    'is_video_file', 'list_frames', 'frame_index_from_name', 'read_image',
    'count_video_frames', 'iter_video_frames', 'read_video_frames',
    'read_frames'
]

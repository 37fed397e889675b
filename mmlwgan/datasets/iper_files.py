# Copyright (c) mmlwgan contributors. All rights reserved.
"""Readers of the files of an iPER-format dataset (:class:`~.IPERDataset`):
the annotation pickles (``pose_shape.pkl``, ``kps.pkl``; Python 2 or 3,
through an allow-list), the split files and the evaluation protocol, each
failing with an :class:`IPERDataError` that names the file and what is wrong
with it."""
import json
import os.path as osp
import re
from typing import Any, Dict, List, Tuple

import numpy as np

from mmlwgan.utils.safe_pickle import (IPER_ANNOTATION, UnsafePickleError,
                                       safe_load)

__all__ = [
    'COCOPLUS_KEYPOINT_NAMES', 'IPERDataError', 'IPERMissingFileError',
    'load_pickle', 'load_pose_shape', 'load_kps', 'read_split_file',
    'load_protocol'
]

#: HMR's 19 COCO-plus keypoints, the order of ``kps.pkl``.
COCOPLUS_KEYPOINT_NAMES = (
    'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee',
    'left_ankle', 'right_wrist', 'right_elbow', 'right_shoulder',
    'left_shoulder', 'left_elbow', 'left_wrist', 'neck', 'head_top', 'nose',
    'left_eye', 'right_eye', 'left_ear', 'right_ear')

_VIDEO_ID = re.compile(r'^[^/\\\s]+/[^/\\\s]+/[^/\\\s]+$')


class IPERDataError(ValueError):
    """A problem with the files of an iPER-format dataset. The message names
    the file and what is wrong with it."""


class IPERMissingFileError(IPERDataError, FileNotFoundError):
    """A file or folder of an iPER-format dataset is missing."""


# ---------------------------------------------------------------------------
# File readers
# ---------------------------------------------------------------------------
def load_pickle(path: str) -> Any:
    """Load an annotation pickle written by Python 2 or 3
    (``encoding='latin1'``) through the allow-list of
    :data:`~mmlwgan.utils.safe_pickle.IPER_ANNOTATION` (dicts, lists, numpy
    arrays): a file naming anything else is refused and runs nothing.

    Raises:
        IPERMissingFileError: the file does not exist.
        IPERDataError: the file cannot be unpickled or is refused.
    """
    if not osp.isfile(path):
        raise IPERMissingFileError(f'missing file {path}')
    try:
        return safe_load(path, IPER_ANNOTATION, encoding='latin1')
    except UnsafePickleError as e:
        raise IPERDataError(str(e)) from None
    except Exception as e:  # noqa: BLE001 - any unpickling failure
        raise IPERDataError(
            f'corrupt pickle {path}: {type(e).__name__}: {e}') from None


def _as_array(value: Any, path: str, key: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise IPERDataError(
            f"{path}: '{key}' is not a numeric array ({e})") from None


def load_pose_shape(path: str) -> np.ndarray:
    """Read a ``pose_shape.pkl`` into (N, 85) thetas ``[cam, pose, shape]``.

    ``cams`` must be (N, 3) and ``pose`` (N, 72) (axis-angle; iPERCore's
    (N, 96) quaternions are converted); ``shape`` (N, 10), or one (10,) /
    (1, 10) vector shared by all frames.

    Raises:
        IPERMissingFileError / IPERDataError: missing, corrupt or
        wrongly-shaped file (the message names the file and key).
    """
    data = load_pickle(path)
    if not isinstance(data, dict):
        raise IPERDataError(f'{path} should hold a dict with keys cams, pose, '
                            f'shape; got {type(data).__name__}')
    missing = [k for k in ('cams', 'pose', 'shape') if k not in data]
    if missing:
        raise IPERDataError(f'{path} lacks key(s) {missing} (has '
                            f'{sorted(map(str, data))})')
    cams = _as_array(data['cams'], path, 'cams')
    pose = _as_array(data['pose'], path, 'pose')
    shape = _as_array(data['shape'], path, 'shape')
    if cams.ndim != 2 or cams.shape[1] != 3:
        raise IPERDataError(
            f"{path}: 'cams' should be (N, 3), got {tuple(cams.shape)}")
    num = cams.shape[0]
    if pose.ndim == 3 and pose.shape[1:] == (24, 3):
        pose = pose.reshape(len(pose), 72)
    if pose.ndim == 2 and pose.shape[1] == 96:  # iPERCore quaternions
        from scipy.spatial.transform import Rotation
        pose = Rotation.from_quat(pose.reshape(-1, 4)).as_rotvec().reshape(
            -1, 72).astype(np.float32)
    if pose.ndim != 2 or pose.shape[1] != 72:
        raise IPERDataError(
            f"{path}: 'pose' should be (N, 72), got {tuple(pose.shape)}")
    if shape.ndim == 1:
        shape = shape[None]
    if shape.ndim != 2 or shape.shape[1] != 10:
        raise IPERDataError(
            f"{path}: 'shape' should be (N, 10), got {tuple(shape.shape)}")
    if shape.shape[0] == 1 and num != 1:
        shape = np.repeat(shape, num, axis=0)
    if pose.shape[0] != num or shape.shape[0] != num:
        raise IPERDataError(
            f"{path}: 'cams', 'pose' and 'shape' have different numbers of "
            f'frames ({num}, {pose.shape[0]}, {shape.shape[0]})')
    theta = np.concatenate([cams, pose, shape], axis=1)
    if not np.isfinite(theta).all():
        raise IPERDataError(f'{path} holds NaN or infinite values')
    return np.ascontiguousarray(theta, dtype=np.float32)


def load_kps(path: str) -> np.ndarray:
    """Read a ``kps.pkl``: ``{'kps': (N, 19, 2)}`` (or (N, 19, 3) with a
    confidence, or the bare array) -> (N, K, 2) float32 in [-1, 1].

    Raises:
        IPERMissingFileError / IPERDataError.
    """
    data = load_pickle(path)
    if isinstance(data, dict):
        if 'kps' not in data:
            raise IPERDataError(f"{path} lacks key 'kps' (has "
                                f'{sorted(map(str, data))})')
        data = data['kps']
    kps = _as_array(data, path, 'kps')
    if kps.ndim != 3 or kps.shape[2] not in (2, 3):
        raise IPERDataError(
            f"{path}: 'kps' should be (N, 19, 2), got {tuple(kps.shape)}")
    return np.ascontiguousarray(kps[..., :2])


def read_split_file(path: str) -> List[Tuple[int, str]]:
    """Video ids of a split file (one ``actor/cloth/action`` per line).

    Blank lines and ``#`` comments are skipped; ids are checked for the
    three-part form.

    Returns:
        list[tuple[int, str]]: (line number, video id).

    Raises:
        IPERMissingFileError: no such file.
        IPERDataError: a malformed line.
    """
    if not osp.isfile(path):
        raise IPERMissingFileError(f'split file {path} not found')
    out = []
    with open(path, 'r', encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            vid = line.split('#', 1)[0].strip().strip('/')
            if not vid:
                continue
            if not _VIDEO_ID.match(vid):
                raise IPERDataError(
                    f'{path}:{lineno}: malformed video id {vid!r} (expected '
                    "'actor/cloth/action', e.g. '001/9/1')")
            out.append((lineno, vid))
    return out


def load_protocol(path: str) -> Dict[str, dict]:
    """The per-video entries of an iPER evaluation protocol file.

    The file is the release's ``iPER_protocol.json``: ``{"val": {video_id:
    entry}}``; an entry has ``"s_n"`` (number of sources -> source frame
    names), ``"self_imitation"`` / ``"cross_imitation"`` (``"target"``
    video id and inclusive frame ``"range"``) and ``"flag"``.

    Raises:
        IPERMissingFileError / IPERDataError.
    """
    if not osp.isfile(path):
        raise IPERMissingFileError(f'protocol file {path} not found')
    try:
        with open(path, 'r', encoding='utf-8') as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise IPERDataError(f'corrupt protocol file {path}: {e}') from None
    if isinstance(data, dict) and isinstance(data.get('val'), dict):
        data = data['val']
    if not isinstance(data, dict) or not all(
            isinstance(v, dict) for v in data.values()):
        raise IPERDataError(f'protocol file {path} should map video ids to '
                            'entries (optionally under "val")')
    return data

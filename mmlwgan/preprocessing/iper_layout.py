# Copyright (c) mmlwgan contributors. All rights reserved.
"""The iPER layout that :class:`~.VideoPreprocessor` writes: video ids
(``actor/cloth/action``), which videos are finished, and the
``train.txt`` / ``val.txt`` splits."""
import json
import os
import os.path as osp
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmlwgan.datasets.video_io import VIDEO_EXTENSIONS, list_frames
from mmlwgan.utils.io import atomic_path

__all__ = [
    'video_id_from_path', 'check_video_id', 'is_video_done',
    'find_done_videos', 'write_splits'
]

_VIDEO_ID = re.compile(r'^[^/\\\s]+/[^/\\\s]+/[^/\\\s]+$')


def video_id_from_path(path: str) -> str:
    """``'.../001_9_1.mp4'`` -> ``'001/9/1'`` (iPER's ``actor_cloth_action``
    naming); any other name ``'.../my clip.mp4'`` -> ``'my-clip/1/1'``."""
    stem = osp.basename(osp.normpath(str(path)))
    if osp.isfile(path) or osp.splitext(stem)[1].lower() in VIDEO_EXTENSIONS:
        stem = osp.splitext(stem)[0]
    stem = re.sub(r'[\s/\\]+', '-', stem).strip('-') or 'video'
    parts = stem.split('_')
    if len(parts) == 3 and all(parts):
        return '/'.join(parts)
    return f'{stem}/1/1'


def check_video_id(video_id: str) -> str:
    vid = str(video_id).strip().strip('/')
    if not _VIDEO_ID.match(vid) or '..' in vid.split('/'):
        raise ValueError(f'video id {video_id!r} should be '
                         "'actor/cloth/action' (e.g. '001/9/1'), without "
                         'spaces')
    return vid


def is_video_done(out_root: str, video_id: str) -> bool:
    """Whether ``video_id`` is finished under ``out_root``: its
    ``meta.json`` and ``pose_shape.pkl`` written and as many frames as the
    meta says."""
    meta_path = osp.join(out_root, 'smpls', video_id, 'meta.json')
    img_dir = osp.join(out_root, 'images', video_id)
    if not (osp.isfile(meta_path) and osp.isfile(
            osp.join(out_root, 'smpls', video_id, 'pose_shape.pkl'))
            and osp.isdir(img_dir)):
        return False
    try:
        with open(meta_path, 'r', encoding='utf-8') as f:
            num = int(json.load(f)['num_frames'])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return len(list_frames(img_dir)) == num


def find_done_videos(out_root: str) -> List[str]:
    """Ids of the finished videos under ``out_root`` (sorted)."""
    smpl_root = osp.join(out_root, 'smpls')
    done = []
    if not osp.isdir(smpl_root):
        return done
    for dirpath, _, files in os.walk(smpl_root):
        if 'meta.json' in files and 'pose_shape.pkl' in files:
            vid = osp.relpath(dirpath, smpl_root).replace(os.sep, '/')
            if _VIDEO_ID.match(vid) and is_video_done(out_root, vid):
                done.append(vid)
    return sorted(done)


def _read_ids(path: str) -> List[str]:
    if not osp.isfile(path):
        return []
    with open(path, 'r', encoding='utf-8') as f:
        return [
            line.split('#', 1)[0].strip().strip('/') for line in f
            if line.split('#', 1)[0].strip()
        ]


def write_splits(out_root: str,
                 video_ids: Optional[Sequence[str]] = None,
                 train_ratio: float = 0.8,
                 seed: int = 0) -> Tuple[List[str], List[str]]:
    """Write ``train.txt`` and ``val.txt`` (video ids, one a line).

    Videos already listed in an existing split file stay where they are (so
    adding videos later does not move old ones); new ones are shuffled
    (``seed``) and assigned so that about ``train_ratio`` of all videos are
    for training, with at least one video in each split when there are two
    or more and ``0 < train_ratio < 1``.

    Args:
        out_root (str): the dataset folder.
        video_ids (Sequence[str], optional): the videos to split; defaults
            to every finished video under ``out_root``.
        train_ratio (float): Defaults to 0.8.
        seed (int): Defaults to 0.

    Returns:
        tuple[list[str], list[str]]: train and val ids.
    """
    if not 0.0 <= train_ratio <= 1.0:
        raise ValueError(f'train_ratio should be in [0, 1], got {train_ratio}')
    ids = list(dict.fromkeys(
        find_done_videos(out_root) if video_ids is None else video_ids))
    known = set(ids)
    train = [v for v in _read_ids(osp.join(out_root, 'train.txt'))
             if v in known]
    val = [v for v in _read_ids(osp.join(out_root, 'val.txt'))
           if v in known and v not in train]
    new = sorted(known - set(train) - set(val))
    np.random.default_rng(seed).shuffle(new)
    total = len(ids)
    target = int(round(train_ratio * total))
    if total >= 2 and 0.0 < train_ratio < 1.0:
        target = min(max(target, 1), total - 1)
    for vid in new:
        (train if len(train) < target else val).append(vid)
    for name, lines in (('train.txt', train), ('val.txt', val)):
        with atomic_path(osp.join(out_root, name)) as tmp:
            with open(tmp, 'w', encoding='utf-8') as f:
                f.write(''.join(f'{v}\n' for v in lines))
    return train, val

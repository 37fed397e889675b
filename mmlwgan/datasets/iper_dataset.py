# Copyright (c) mmlwgan contributors. All rights reserved.
"""The iPER dataset (Impersonator, ICCV 2019) as an mmengine dataset.

Layout under ``data_root`` (the release's, see ``doc/train.md`` of
svip-lab/impersonator)::

    images/<actor>/<cloth>/<action>/000.jpg ...   frames (any image type,
                                                  sorted naturally)
    images/<actor>/<cloth>/<action>.mp4           or a video per video id
    iPER_256_video_release/<actor>_<cloth>_<action>.mp4
                                                  or the 256 px video release
    smpls/<actor>/<cloth>/<action>/pose_shape.pkl cams (N, 3), pose (N, 72),
                                                  shape (N, 10)
    smpls/<actor>/<cloth>/<action>/kps.pkl        {'kps': (N, 19, 2)}, NDC
    train.txt / val.txt                           video ids, e.g. ``001/9/1``
    iPER_protocol.json                            evaluation protocol

The pickles may be Python 2 pickles (they are read with ``latin1``); the
readers of these files are in :mod:`.iper_files`.

Sampling follows the release (``data/imper_dataset.py``: ``ImPerDataset``):
the source frame is drawn from the first ``src_range`` (15) frames of a video
and the target from anywhere in the same video; an "epoch" draws about
``n_frames / 10`` pairs per video. In ``test_mode`` the pairs are
deterministic: from the protocol file (self-imitation: the protocol's source
frame(s) and every ``test_interval``-th frame of its range as targets;
cross-imitation: the protocol's target video and range) or, without a
protocol, the first frame(s) as sources and every ``test_interval``-th frame
as targets.
"""
import os.path as osp
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from mmlwgan.registry import DATASETS, TRANSFORMS
from .iper_files import (COCOPLUS_KEYPOINT_NAMES, IPERDataError,
                         IPERMissingFileError, load_kps, load_pickle,
                         load_pose_shape, load_protocol, read_split_file)
from .video_io import count_video_frames, frame_index_from_name, list_frames


# ---------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------
@DATASETS.register_module()
class IPERDataset(BaseDataset):
    """iPER motion-imitation pairs: one or more source frames and a target
    frame of the same person.

    ``load_data_list()`` returns one entry per video of the split file
    (``video_id``, ``num_frames``, the frame source -- ``frame_dir`` and
    ``frame_names`` or ``video_path`` --, ``smpl`` (N, 85) float32 and ``kps``
    (N, 19, 2) float32 or None); items are pairs drawn from them.

    Args:
        ann_file (str): the split file, e.g. ``'train.txt'`` (relative to
            ``data_root``).
        data_root (str): the dataset folder.
        data_prefix (dict): sub-folders: ``img`` (frames / per-id videos,
            default ``'images'``), ``smpl`` (``'smpls'``) and ``video`` (the
            256 px video release, ``'iPER_256_video_release'``).
        pipeline (list): transforms, e.g. ``LoadPairFrames``,
            ``ResizeFrames``, ``PackLWGANInputs``.
        num_sources (int): source frames per item. Defaults to 1.
        src_range (int): training sources come from the first ``src_range``
            frames (the release's 15).
        sample_ratio (float): training pairs per video per epoch, as a
            fraction of its frames (the release's 1/10).
        pairs_per_video (int, optional): a fixed number of training pairs per
            video instead of ``sample_ratio``.
        with_kps (bool): read ``kps.pkl`` (required then). Defaults to True.
        seed (int, optional): in training, draw the pair of item ``i`` from a
            generator seeded with ``(seed, i)`` (the same pairs every epoch);
            None (default) draws random pairs like the release, from a
            generator seeded with ``torch.initial_seed()`` of the process:
            distinct in every DataLoader worker and epoch, reproducible
            under mmengine's ``randomness`` seed.
        protocol_file (str, optional): evaluation protocol (relative to
            ``data_root``), used in ``test_mode``.
        test_task (str): ``'self_imitation'`` or ``'cross_imitation'``.
        test_interval (int): in ``test_mode``, every ``test_interval``-th
            frame of the target range is a target. Defaults to 1.
        test_mode (bool): deterministic evaluation pairs.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`
            (``metainfo``, ``indices`` (a subset of videos),
            ``serialize_data``, ``lazy_init``, ``max_refetch``).

    ``__getitem__`` runs the pipeline on a dict with ``sample_idx``,
    ``video_id``, ``tgt_video_id``, ``task`` (``'train'``,
    ``'self_imitation'`` or ``'cross_imitation'``), ``src_frame_ids`` (list),
    ``tgt_frame_id``, the frame sources (``src_img_paths`` / ``tgt_img_path``
    for frame folders, else ``src_video_path`` / ``tgt_video_path``),
    ``src_smpl`` (S, 85), ``tgt_smpl`` (85,), ``src_kps`` (S, 19, 2) /
    ``tgt_kps`` (19, 2) when read, and ``num_frames``.
    """

    METAINFO = dict(
        dataset_name='iPER',
        keypoint_names=COCOPLUS_KEYPOINT_NAMES,
        smpl_dim=85)

    def __init__(self,
                 ann_file: str = 'train.txt',
                 data_root: str = 'data/iPER',
                 data_prefix: Optional[dict] = None,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 num_sources: int = 1,
                 src_range: int = 15,
                 sample_ratio: float = 0.1,
                 pairs_per_video: Optional[int] = None,
                 with_kps: bool = True,
                 seed: Optional[int] = None,
                 protocol_file: Optional[str] = None,
                 test_task: str = 'self_imitation',
                 test_interval: int = 1,
                 test_mode: bool = False,
                 **kwargs) -> None:
        if num_sources < 1:
            raise ValueError(f'num_sources must be >= 1, got {num_sources}')
        if src_range < 1:
            raise ValueError(f'src_range must be >= 1, got {src_range}')
        if pairs_per_video is None and not sample_ratio > 0:
            raise ValueError(f'sample_ratio must be > 0, got {sample_ratio}')
        if pairs_per_video is not None and pairs_per_video < 1:
            raise ValueError(
                f'pairs_per_video must be >= 1, got {pairs_per_video}')
        if test_task not in ('self_imitation', 'cross_imitation'):
            raise ValueError("test_task should be 'self_imitation' or "
                             f"'cross_imitation', got {test_task!r}")
        if test_interval < 1:
            raise ValueError(
                f'test_interval must be >= 1, got {test_interval}')
        if not ann_file:
            raise ValueError('ann_file (the split file, e.g. train.txt) is '
                             'required')
        prefix = dict(
            img='images', smpl='smpls', video='iPER_256_video_release')
        prefix.update(data_prefix or {})
        self.num_sources = int(num_sources)
        self.src_range = int(src_range)
        self.sample_ratio = float(sample_ratio)
        self.pairs_per_video = pairs_per_video
        self.with_kps = with_kps
        self.seed = seed
        self.protocol_file = protocol_file
        self.test_task = test_task
        self.test_interval = int(test_interval)
        self._index: Optional[np.ndarray] = None
        self._rng: Optional[np.random.Generator] = None
        self._rng_seed: Optional[int] = None
        self._num_split_videos = 0
        self._protocol: Optional[Dict[str, dict]] = None
        pipeline = list(pipeline)
        if DefaultScope.get_current_instance() is None:
            # no default scope (direct use, not through a Runner): resolve
            # the transforms in mmlwgan's registry
            pipeline = [
                TRANSFORMS.build(t) if isinstance(t, dict) else t
                for t in pipeline
            ]
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=prefix,
            pipeline=pipeline,
            test_mode=test_mode,
            **kwargs)

    # ------------------------------------------------------------------
    # Loading
    # ------------------------------------------------------------------
    def _protocol_path(self) -> Optional[str]:
        if not self.protocol_file:
            return None
        if osp.isabs(self.protocol_file) or not self.data_root:
            return self.protocol_file
        return osp.join(self.data_root, self.protocol_file)

    def _video_source(self, vid: str) -> Dict[str, Any]:
        """Where the frames of ``vid`` are: a frame folder, else
        ``images/<vid>.mp4``, else the 256 px release's
        ``<actor>_<cloth>_<action>.mp4``."""
        img_dir = osp.join(self.data_prefix['img'], vid)
        if osp.isdir(img_dir):
            names = list_frames(img_dir)
            if not names:
                raise IPERDataError(
                    f"frames folder {img_dir} of video '{vid}' holds no "
                    'image files')
            return dict(frame_dir=img_dir, frame_names=names,
                        video_path=None, num_frames=len(names))
        candidates = [img_dir + '.mp4']
        if self.data_prefix.get('video'):
            candidates.append(
                osp.join(self.data_prefix['video'],
                         vid.replace('/', '_') + '.mp4'))
        for path in candidates:
            if osp.isfile(path):
                try:
                    num = count_video_frames(path)
                except OSError as e:
                    raise IPERDataError(
                        f"video file {path} of '{vid}' cannot be read: {e}"
                    ) from None
                return dict(frame_dir=None, frame_names=None,
                            video_path=path, num_frames=num)
        raise IPERMissingFileError(
            f"missing frames of video '{vid}': no frames folder {img_dir} "
            f"and no video file {' or '.join(candidates)}")

    def _load_video(self, vid: str, where: str) -> Dict[str, Any]:
        smpl_dir = osp.join(self.data_prefix['smpl'], vid)
        img_dir = osp.join(self.data_prefix['img'], vid)
        if not osp.isdir(smpl_dir):
            video_file = self.data_prefix.get('video') and osp.join(
                self.data_prefix['video'], vid.replace('/', '_') + '.mp4')
            if not (osp.isdir(img_dir) or osp.isfile(img_dir + '.mp4') or
                    (video_file and osp.isfile(video_file))):
                raise IPERMissingFileError(
                    f"unknown video id '{vid}' ({where}): neither {smpl_dir} "
                    f'nor {img_dir} exists')
        smpl_path = osp.join(smpl_dir, 'pose_shape.pkl')
        if not osp.isfile(smpl_path):
            raise IPERMissingFileError(
                f"missing SMPL file {smpl_path} of video '{vid}'")
        source = self._video_source(vid)
        smpl = load_pose_shape(smpl_path)
        num = source['num_frames']
        where_frames = source['frame_dir'] or source['video_path']
        if len(smpl) != num:
            raise IPERDataError(
                f"video '{vid}': {num} frames in {where_frames} but "
                f'{len(smpl)} SMPL entries in {smpl_path}')
        kps = None
        if self.with_kps:
            kps_path = osp.join(smpl_dir, 'kps.pkl')
            kps = load_kps(kps_path)
            if len(kps) != num:
                raise IPERDataError(
                    f"video '{vid}': {num} frames in {where_frames} but "
                    f'{len(kps)} keypoint entries in {kps_path}')
        return dict(video_id=vid, smpl=smpl, kps=kps, **source)

    def load_data_list(self) -> List[dict]:
        """One dict per video of the split file (plus, in test mode, the
        cross-imitation target videos of the protocol that are not in it).

        Raises:
            IPERMissingFileError / IPERDataError: see the class docstring.
        """
        if self.data_root and not osp.isdir(self.data_root):
            raise IPERMissingFileError(
                f'iPER data_root {self.data_root} does not exist')
        split = read_split_file(self.ann_file)
        if not split:
            raise IPERDataError(f'split file {self.ann_file} lists no video')
        seen = set()
        data_list = []
        for lineno, vid in split:
            if vid in seen:
                continue
            seen.add(vid)
            data_list.append(
                self._load_video(vid, f'{self.ann_file}:{lineno}'))
        self._num_split_videos = len(data_list)
        if self.test_mode and self._protocol_path():
            path = self._protocol_path()
            self._protocol = load_protocol(path)
            for vid, entry in self._protocol.items():
                if vid not in seen:
                    continue
                task = entry.get(self.test_task) or {}
                target = task.get('target', vid)
                if target not in seen:
                    seen.add(target)
                    data_list.append(
                        self._load_video(target, f'{self.test_task} target of'
                                         f" '{vid}' in {path}"))
        return data_list

    # ------------------------------------------------------------------
    # Pair index
    # ------------------------------------------------------------------
    def full_init(self) -> None:
        if self._fully_initialized:
            return
        super().full_init()
        self._build_index()

    def get_subset_(self, indices) -> None:
        """Keep a subset of the videos (``indices`` index videos)."""
        super().get_subset_(indices)
        self._num_split_videos = BaseDataset.__len__(self)
        self._build_index()

    def _num_videos(self) -> int:
        return BaseDataset.__len__(self)

    def video_info(self, video_idx: int) -> dict:
        """The per-video dict of ``load_data_list`` (a copy)."""
        return BaseDataset.get_data_info(self, video_idx)

    def _build_index(self) -> None:
        num_videos = self._num_videos()
        if self._num_split_videos and self._indices is None:
            num_videos = min(self._num_split_videos, num_videos)
        lengths = [self.video_info(i)['num_frames'] for i in range(num_videos)]
        if self.test_mode:
            self._index = self._build_test_pairs(lengths)
            return
        if self.pairs_per_video is not None:
            counts = [int(self.pairs_per_video)] * num_videos
        else:
            counts = [max(1, int(n * self.sample_ratio)) for n in lengths]
        self._index = np.repeat(
            np.arange(num_videos, dtype=np.int64),
            np.asarray(counts, dtype=np.int64))

    def _frame_ids_from_names(self, info: dict, names: Sequence,
                              where: str) -> List[int]:
        ids = []
        lookup = {n: i for i, n in enumerate(info['frame_names'] or [])}
        for name in names:
            if isinstance(name, (int, np.integer)):
                idx = int(name)
            elif name in lookup:
                idx = lookup[name]
            else:
                try:  # the release: int('035.jpg'.split('.')[0])
                    idx = frame_index_from_name(str(name))
                except ValueError:
                    raise IPERDataError(
                        f'{where}: frame {name!r} not found') from None
            if not 0 <= idx < info['num_frames']:
                raise IPERDataError(
                    f'{where}: frame {name!r} (index {idx}) is out of range '
                    f"for video '{info['video_id']}' of "
                    f"{info['num_frames']} frames")
            ids.append(idx)
        return ids

    def _protocol_sources(self, entry: dict, info: dict,
                          where: str) -> List[int]:
        key = str(self.num_sources)
        s_n = entry.get('s_n') or {}
        if key in s_n:
            names = list(s_n[key])
        elif len(entry.get('source') or []) >= self.num_sources:
            src = list(entry['source'])
            pick = np.linspace(0, len(src) - 1, self.num_sources).round()
            names = [src[int(i)] for i in pick]
        else:
            raise IPERDataError(
                f'{where}: no {self.num_sources} source frame(s) (no '
                f'"s_n"["{key}"] and too few "source" frames)')
        if len(names) != self.num_sources:
            raise IPERDataError(
                f'{where}: "s_n"["{key}"] lists {len(names)} frames')
        return self._frame_ids_from_names(info, names, where)

    def _build_test_pairs(self, lengths: List[int]) -> np.ndarray:
        """Rows ``[src_video, tgt_video, tgt_frame, src_frame_1..S]``."""
        rows = []
        num_split = len(lengths)
        vid_to_idx = {
            self.video_info(i)['video_id']: i
            for i in range(self._num_videos())
        }
        if self._protocol is not None:
            path = self._protocol_path()
            for vid, entry in self._protocol.items():
                v = vid_to_idx.get(vid)
                if v is None or v >= num_split:
                    continue  # a video of another split
                info = self.video_info(v)
                where = f"{path} entry '{vid}'"
                srcs = self._protocol_sources(entry, info, where)
                task = entry.get(self.test_task)
                if task is None:
                    raise IPERDataError(f'{where} has no "{self.test_task}"')
                target = task.get('target', vid)
                tv = vid_to_idx.get(target)
                if tv is None:
                    raise IPERDataError(
                        f"{where}: target video '{target}' is not loaded")
                t_len = self.video_info(tv)['num_frames']
                lo, hi = task.get('range', [0, t_len - 1])
                lo, hi = max(0, int(lo)), min(int(hi), t_len - 1)
                for t in range(lo, hi + 1, self.test_interval):
                    rows.append([v, tv, t] + srcs)
            if not rows:
                raise IPERDataError(
                    f'protocol file {path} has no entry for the videos of '
                    f'{self.ann_file}')
        else:
            for v, n in enumerate(lengths):
                first = min(self.src_range, n)
                srcs = np.linspace(0, first - 1, self.num_sources).round()
                srcs = [int(s) for s in srcs]
                for t in range(0, n, self.test_interval):
                    rows.append([v, v, t] + srcs)
        return np.asarray(rows, dtype=np.int64).reshape(
            -1, 3 + self.num_sources)

    # ------------------------------------------------------------------
    # Items
    # ------------------------------------------------------------------
    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        return len(self._index)

    def _sample_pair(self, num_frames: int, idx: int) -> Tuple[List[int], int]:
        if self.seed is None:
            # torch gives every DataLoader worker its own seed, new each
            # epoch; numpy's global state would be the same in all workers
            seed = torch.initial_seed()
            if self._rng is None or self._rng_seed != seed:
                self._rng, self._rng_seed = np.random.default_rng(seed), seed
            rng = self._rng
        else:
            rng = np.random.default_rng([int(self.seed), int(idx)])
        first = min(self.src_range, num_frames)
        srcs = rng.choice(
            first, size=self.num_sources,
            replace=self.num_sources > first)
        tgt = int(rng.choice(num_frames))
        return [int(s) for s in srcs], tgt

    @staticmethod
    def _frame_refs(info: dict, ids: Sequence[int]) -> Dict[str, Any]:
        if info['frame_names'] is not None:
            return dict(paths=[
                osp.join(info['frame_dir'], info['frame_names'][i])
                for i in ids
            ], video=None)
        return dict(paths=None, video=info['video_path'])

    def get_data_info(self, idx: int) -> dict:
        """The pair of item ``idx`` (see the class docstring)."""
        if not self._fully_initialized:
            self.full_init()
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f'index {idx} out of range for {len(self)} items')
        if self.test_mode:
            row = self._index[idx]
            v, tv, tgt = int(row[0]), int(row[1]), int(row[2])
            srcs = [int(s) for s in row[3:]]
            task = self.test_task
        else:
            v = tv = int(self._index[idx])
            task = 'train'
        info = self.video_info(v)
        tinfo = info if tv == v else self.video_info(tv)
        if not self.test_mode:
            srcs, tgt = self._sample_pair(info['num_frames'], idx)
        src = self._frame_refs(info, srcs)
        tgt_ref = self._frame_refs(tinfo, [tgt])
        item = dict(
            sample_idx=idx,
            video_id=info['video_id'],
            tgt_video_id=tinfo['video_id'],
            task=task,
            src_frame_ids=srcs,
            tgt_frame_id=tgt,
            num_frames=info['num_frames'],
            src_img_paths=src['paths'],
            src_video_path=src['video'],
            tgt_img_path=tgt_ref['paths'][0] if tgt_ref['paths'] else None,
            tgt_video_path=tgt_ref['video'],
            src_smpl=info['smpl'][srcs].copy(),
            tgt_smpl=tinfo['smpl'][tgt].copy(),
        )
        if info['kps'] is not None:
            item['src_kps'] = info['kps'][srcs].copy()
        if tinfo['kps'] is not None:
            item['tgt_kps'] = tinfo['kps'][tgt].copy()
        return item

    @property
    def video_ids(self) -> List[str]:
        """Ids of the split's videos, in split-file order."""
        n = self._num_videos()
        if self._num_split_videos and self._indices is None:
            n = min(self._num_split_videos, n)
        return [self.video_info(i)['video_id'] for i in range(n)]


__all__ = [
    'IPERDataset', 'IPERDataError', 'IPERMissingFileError', 'load_pickle',
    'load_pose_shape', 'load_kps', 'read_split_file', 'load_protocol',
    'COCOPLUS_KEYPOINT_NAMES'
]

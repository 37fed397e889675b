# Copyright (c) mmlwgan contributors. All rights reserved.
"""Loading the frames of a source / target pair."""
from collections import defaultdict
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from mmlwgan.registry import TRANSFORMS
from ..video_io import read_image, read_video_frames


@TRANSFORMS.register_module()
class LoadPairFrames(BaseTransform):
    """Read the source frame(s) and the target frame of a pair.

    Frames come from image files (``src_img_paths`` / ``tgt_img_path``) or
    from video files (``src_video_path`` + ``src_frame_ids`` /
    ``tgt_video_path`` + ``tgt_frame_id``); frames of one video are decoded
    in a single pass. The target is optional (inference has none).

    Added keys: ``src_img`` (list of S ``(H, W, 3)`` uint8 RGB arrays),
    ``tgt_img`` (``(H, W, 3)`` uint8 RGB, when a target is given),
    ``ori_shape`` / ``img_shape`` ((H, W) of the first source frame) and
    ``src_ori_shapes`` / ``tgt_ori_shape``.
    """

    def _video_requests(self, results: dict) -> Dict[str, List[int]]:
        requests: Dict[str, List[int]] = defaultdict(list)
        if not results.get('src_img_paths'):
            path = results.get('src_video_path')
            if not path:
                raise KeyError('LoadPairFrames needs src_img_paths or '
                               'src_video_path')
            requests[path].extend(int(i) for i in results['src_frame_ids'])
        if results.get('tgt_img_path') is None and results.get(
                'tgt_video_path'):
            requests[results['tgt_video_path']].append(
                int(results['tgt_frame_id']))
        return requests

    def transform(self, results: dict) -> dict:
        decoded: Dict[Tuple[str, int], np.ndarray] = {}
        for path, ids in self._video_requests(results).items():
            for i, frame in zip(ids, read_video_frames(path, ids)):
                decoded[(path, i)] = frame

        if results.get('src_img_paths'):
            src = [read_image(p) for p in results['src_img_paths']]
        else:
            path = results['src_video_path']
            src = [decoded[(path, int(i))] for i in results['src_frame_ids']]
        results['src_img'] = src
        results['src_ori_shapes'] = [img.shape[:2] for img in src]

        tgt: Optional[np.ndarray] = None
        if results.get('tgt_img_path') is not None:
            tgt = read_image(results['tgt_img_path'])
        elif results.get('tgt_video_path'):
            tgt = decoded[(results['tgt_video_path'],
                           int(results['tgt_frame_id']))]
        if tgt is not None:
            results['tgt_img'] = tgt
            results['tgt_ori_shape'] = tgt.shape[:2]
        results['ori_shape'] = src[0].shape[:2]
        results['img_shape'] = src[0].shape[:2]
        return results

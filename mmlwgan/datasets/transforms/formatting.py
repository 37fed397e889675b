# Copyright (c) mmlwgan contributors. All rights reserved.
"""Packing a pair into the inputs / data sample layout of the model."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mmlwgan.registry import TRANSFORMS
from mmlwgan.structures import LWGANDataSample


def _image_to_tensor(img: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) uint8 tensor (contiguous)."""
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f'expected an (H, W, 3) image, got {img.shape}')
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


@TRANSFORMS.register_module()
class PackLWGANInputs(BaseTransform):
    """Pack a pair for :class:`LWGANDataPreprocessor`.

    Returns ``dict(inputs=dict(src_img=(S, 3, H, W) uint8 tensor,
    tgt_img=(3, H, W) uint8 tensor), data_samples=LWGANDataSample)``; the
    data sample has ``src_smpl`` (S, 85) and ``tgt_smpl`` (85,) float32,
    ``src_kps`` (S, K, 2) / ``tgt_kps`` (K, 2) when present, and the
    metainfo ``meta_keys`` found in the results (``video_id``,
    ``src_frame_ids``, ``tgt_frame_id``, ``img_shape``, ...). ``tgt_img`` is
    left out when there is no target (inference).

    Args:
        meta_keys (Sequence[str]): keys copied into the metainfo when
            present.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = (
                     'sample_idx', 'video_id', 'tgt_video_id', 'task',
                     'src_frame_ids', 'tgt_frame_id', 'img_shape',
                     'ori_shape', 'scale_factor', 'num_frames')
                 ) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        src = results['src_img']
        if isinstance(src, np.ndarray) and src.ndim == 3:
            src = [src]
        inputs = dict(src_img=torch.stack([_image_to_tensor(i) for i in src]))
        if results.get('tgt_img') is not None:
            inputs['tgt_img'] = _image_to_tensor(results['tgt_img'])

        meta = {}
        for key in self.meta_keys:
            if key in results:
                value = results[key]
                if isinstance(value, np.ndarray):
                    value = value.tolist()
                meta[key] = value
        sample = LWGANDataSample(metainfo=meta)
        if 'src_smpl' in results:
            smpl = np.asarray(results['src_smpl'], dtype=np.float32)
            sample.src_smpl = torch.from_numpy(
                np.ascontiguousarray(smpl.reshape(-1, smpl.shape[-1])))
        if 'tgt_smpl' in results:
            sample.tgt_smpl = torch.from_numpy(
                np.ascontiguousarray(results['tgt_smpl'], dtype=np.float32))
        for key in ('src_kps', 'tgt_kps'):
            if results.get(key) is not None:
                sample.set_field(
                    torch.from_numpy(
                        np.ascontiguousarray(results[key], dtype=np.float32)),
                    key)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Batching, device transfer and normalisation of Liquid Warping GAN data."""
from typing import Dict, List, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from mmlwgan.registry import MODELS


def _stack(x: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    if isinstance(x, Tensor):
        return x
    return torch.stack(list(x))


@MODELS.register_module()
class LWGANDataPreprocessor(BaseDataPreprocessor):
    """Stack images, move them to the device and map [0, 255] to [-1, 1].

    Inputs (as collated by ``pseudo_collate``): ``data['inputs']`` is a dict
    with ``src_img`` (list of (S, 3, H, W) or a (B, S, 3, H, W) tensor) and,
    for training / evaluation, ``tgt_img`` (list of (3, H, W) or
    (B, 3, H, W)); RGB, uint8 or float in [0, 255].
    ``data['data_samples']`` is a list of :class:`LWGANDataSample`; their
    SMPL fields are stacked into ``inputs['src_smpl']`` (B, S, 85) and
    ``inputs['tgt_smpl']`` (B, 85).

    Args:
        mean (float): subtracted from pixel values. Defaults to 127.5.
        std (float): pixel values are divided by it. Defaults to 127.5, so
            images come out in [-1, 1] as the release trains on.
    """

    def __init__(self, mean: float = 127.5, std: float = 127.5) -> None:
        super().__init__()
        self.mean = mean
        self.std = std

    def normalize(self, img: Tensor) -> Tensor:
        return (img.float() - self.mean) / self.std

    def destruct(self, img: Tensor) -> Tensor:
        """[-1, 1] back to [0, 255] floats."""
        return img * self.std + self.mean

    def forward(self, data: dict, training: bool = False) -> Dict:
        data = self.cast_data(data)
        raw = data['inputs']
        samples: List = data.get('data_samples') or []
        inputs = {}
        for key in ('src_img', 'tgt_img'):
            if key in raw and raw[key] is not None:
                inputs[key] = self.normalize(_stack(raw[key]))
        if 'src_img' not in inputs:
            raise KeyError("the batch has no 'src_img' input")
        if inputs['src_img'].dim() == 4:  # one source: add the S axis
            inputs['src_img'] = inputs['src_img'].unsqueeze(1)
        for key in ('src_smpl', 'tgt_smpl'):
            if key in raw:
                inputs[key] = _stack(raw[key]).float()
            elif samples and key in samples[0]:
                inputs[key] = torch.stack(
                    [s.get(key) for s in samples]).float().to(self.device)
        if 'src_smpl' in inputs and inputs['src_smpl'].dim() == 2:
            inputs['src_smpl'] = inputs['src_smpl'].unsqueeze(1)
        if 'tgt_img' in inputs:
            for s, img in zip(samples, inputs['tgt_img']):
                s.gt_img = img
        return dict(inputs=inputs, data_samples=samples)

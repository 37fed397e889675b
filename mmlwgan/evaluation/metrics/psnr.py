# Copyright (c) mmlwgan contributors. All rights reserved.
"""PSNR metric, and the data-sample helpers shared by mmlwgan's metrics."""
from typing import Any, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from torch import Tensor

from mmlwgan.registry import METRICS
from ..functional import psnr

#: Appended to the result keys of a metric whose feature network was not
#: given pretrained weights (e.g. ``LPIPS_randinit``): such values are not
#: comparable to published numbers.
RANDOM_INIT_SUFFIX = '_randinit'


def get_sample_field(sample: Any, key: str) -> Any:
    """Read ``key`` from a data sample given as a dict (what mmengine's
    ``Evaluator`` passes, ``LWGANDataSample.to_dict()``) or as a
    :class:`~mmengine.structures.BaseDataElement`.

    Values wrapped as ``{'data': x}`` / ``PixelData`` are unwrapped; numpy
    arrays become tensors.

    Raises:
        KeyError: the sample has no such field.
    """
    if isinstance(sample, BaseDataElement):
        value = sample.get(key, None)
        fields = list(sample.keys()) + list(sample.metainfo_keys())
    elif isinstance(sample, dict):
        value = sample.get(key, None)
        fields = list(sample.keys())
    else:
        raise TypeError('A data sample must be a dict or a BaseDataElement, '
                        f'got {type(sample).__name__}.')
    if value is None:
        raise KeyError(f'The data sample has no {key!r} (it has {fields}).')
    if isinstance(value, BaseDataElement) and 'data' in value:
        value = value.data
    elif isinstance(value, dict) and 'data' in value:
        value = value['data']
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    return value


def prepare_image(img: Tensor, quantize: bool = False) -> Tensor:
    """A (C, H, W) float image in [-1, 1], clamped.

    Args:
        img (Tensor): (C, H, W) or (1, C, H, W); float in [-1, 1] or uint8.
        quantize (bool): Round to the 256 levels of an 8-bit image first,
            i.e. measure what a saved PNG would give (the release evaluated
            saved images).
    """
    if img.dim() == 4 and img.shape[0] == 1:
        img = img[0]
    if img.dim() != 3:
        raise ValueError(
            f'Expected a (C, H, W) image, got {tuple(img.shape)}.')
    if img.dtype == torch.uint8:
        return img.float() / 127.5 - 1
    img = img.detach().float().clamp(-1, 1)
    if quantize:
        img = torch.round((img + 1) * 127.5) / 127.5 - 1
    return img


def stack_images(imgs: Sequence[Tensor]) -> Sequence[Tensor]:
    """Batches of same-size images: one (N, C, H, W) tensor when all sizes
    agree, otherwise one (1, C, H, W) tensor per image."""
    if all(im.shape == imgs[0].shape for im in imgs):
        return [torch.stack(list(imgs), dim=0)]
    return [im[None] for im in imgs]


def module_to(module: torch.nn.Module, device: torch.device) -> None:
    """Move ``module`` to ``device`` if it is elsewhere."""
    param = next(module.parameters(), None)
    if param is not None and param.device != device:
        module.to(device)


def warn_if_random(name: str, suffix: str) -> None:
    if suffix:
        print_log(
            f'{name} used a randomly initialised feature network; its result '
            f'keys end with "{suffix}" and are not comparable to published '
            'numbers.', logger='current', level=30)


@METRICS.register_module()
class PSNRMetric(BaseMetric):
    """Peak signal-to-noise ratio between prediction and ground truth.

    Computed per image on the [-1, 1] images (data range 2, the same value
    as on the uint8 scale) and averaged over images.

    Args:
        gt_key (str): Ground-truth field of the data samples.
        pred_key (str): Prediction field of the data samples.
        quantize (bool): Round both images to 8 bits first (as saved files).
        collect_device (str): 'cpu' or 'gpu', for distributed collection.
        prefix (str, optional): Prefix of the result keys; defaults to
            :attr:`default_prefix` (none).

    Metrics:
        - PSNR (float): mean PSNR in dB (higher is better).
    """
    metric = 'PSNR'
    default_prefix: Optional[str] = ''

    def __init__(self,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 quantize: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.quantize = quantize

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        for sample in data_samples:
            pred = prepare_image(get_sample_field(sample, self.pred_key),
                                 self.quantize)
            gt = prepare_image(get_sample_field(sample, self.gt_key),
                               self.quantize)
            self.results.append({self.metric: psnr(pred, gt, data_range=2.)})

    def compute_metrics(self, results: list) -> dict:
        return {self.metric: float(np.mean([r[self.metric] for r in results]))}

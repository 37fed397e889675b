# Copyright (c) mmlwgan contributors. All rights reserved.
"""Helpers shared by mmlwgan's metrics: reading a data sample's fields,
preparing images, batching them, placing a feature network and labelling
results of randomly initialised ones (mmagic's ``metrics_utils.py``)."""
from typing import Any, Sequence

import numpy as np
import torch
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from torch import Tensor

__all__ = [
    'RANDOM_INIT_SUFFIX', 'get_sample_field', 'prepare_image',
    'stack_images', 'module_to', 'warn_if_random'
]

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
    """Log that metric ``name`` used a randomly initialised feature network
    when its result keys carry ``suffix`` (:data:`RANDOM_INIT_SUFFIX`)."""
    if suffix:
        print_log(
            f'{name} used a randomly initialised feature network; its result '
            f'keys end with "{suffix}" and are not comparable to published '
            'numbers.', logger='current', level=30)

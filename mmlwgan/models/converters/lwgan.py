# Copyright (c) mmlwgan contributors. All rights reserved.
"""Convert the ICCV Liquid Warping GAN release checkpoints.

Generator (``net_epoch_*_id_G.pth``, LWB, 194 tensors, 97,452,736 values,
or the W_C baseline, 126 tensors, 64,477,184 values)::

    bg_model.*           -> bg_net.*
    src_model.*          -> src_net.*        (LWB only)
    tsf_model.*          -> tsf_net.*
    *.attetion_reg.*     -> *.attention_reg.*   (the release's typo)

Discriminator (``*_id_D.pth``, 12 tensors, 6,962,625 values): keys are
kept (``model.N.weight/bias``).

Everything below the prefixes is identical (``model.N``, ``encoders.i.j``,
``resnets.i.main.j``, ``decoders``, ``skippers``, ``img_reg``), so values
are not touched. Converted generators must run their fusion with
``align_corners=True`` (the released configs do).
"""
import copy
from collections import OrderedDict
from typing import Dict, Mapping, Optional

import torch
import torch.nn as nn
from torch import Tensor

from mmlwgan.registry import MODELS
from .utils import (ConversionError, check_converted, extract_state_dict,
                    rename_state_dict)

GENERATOR_RULES = [
    (r'^bg_model\.', 'bg_net.'),
    (r'^src_model\.', 'src_net.'),
    (r'^tsf_model\.', 'tsf_net.'),
    (r'\.attetion_reg\.', '.attention_reg.'),
]

_BG_NET = dict(type='ResNetGenerator', in_channels=4, out_channels=3,
               base_channels=64, num_downs=3, num_blocks=6)


def _resunet(in_channels: int) -> dict:
    return dict(type='ResUnetGenerator', in_channels=in_channels,
                out_channels=3, base_channels=64, num_downs=3, num_blocks=6)


#: full-width architectures of the released checkpoints (mirrored in
#: configs/_base_/models/lwgan_generator*.py)
RELEASE_MODEL_CFGS: Dict[str, dict] = dict(
    lwb=dict(
        type='LWBGenerator',
        bg_net=_BG_NET,
        src_net=_resunet(6),
        tsf_net=_resunet(6),
        fusion=dict(type='LiquidWarpingBlock', align_corners=True)),
    concat=dict(
        type='ConcatGenerator',
        bg_net=_BG_NET,
        tsf_net=_resunet(15),
        num_sources=2),
    discriminator=dict(
        type='PatchDiscriminator', in_channels=6, base_channels=64,
        num_layers=4),
)


def build_release_model(name: str, device: str = 'meta') -> nn.Module:
    """Build a released architecture (on the meta device by default).

    Args:
        name (str): ``'lwb'``, ``'concat'`` or ``'discriminator'``.
        device (str): device to build on; ``'meta'`` allocates nothing.

    Returns:
        nn.Module: the module.
    """
    # imported here: registers the modules without an import cycle
    from mmlwgan.models import discriminators, generators  # noqa: F401
    if name not in RELEASE_MODEL_CFGS:
        raise KeyError(f'unknown release model {name!r}, choose from '
                       f'{sorted(RELEASE_MODEL_CFGS)}')
    with torch.device(device):
        return MODELS.build(copy.deepcopy(RELEASE_MODEL_CFGS[name]))


def _convert(state_dict: Mapping[str, Tensor], rules, reference: nn.Module
             ) -> 'OrderedDict[str, Tensor]':
    sd = extract_state_dict(state_dict)
    converted = rename_state_dict(sd, rules)
    origin = dict(zip(converted.keys(), sd.keys()))
    check_converted(converted, reference, strict=True, origin=origin)
    return converted


def convert_lwgan_generator(state_dict: Mapping[str, Tensor],
                            variant: str = 'lwb',
                            model: Optional[nn.Module] = None
                            ) -> 'OrderedDict[str, Tensor]':
    """Convert a released generator state dict to mmlwgan's keys.

    Args:
        state_dict (Mapping[str, Tensor]): the release's
            ``G.state_dict()`` (``'module.'`` prefixes and a
            ``'state_dict'`` / ``'model'`` wrapper are tolerated).
        variant (str): ``'lwb'`` (``LWBGenerator``) or ``'concat'`` (W_C
            ``ConcatGenerator``). Defaults to ``'lwb'``.
        model (nn.Module, optional): module to check against; defaults to
            the released full-width architecture (built on the meta
            device).

    Returns:
        OrderedDict[str, Tensor]: loadable with
        ``model.load_state_dict(converted, strict=True)``.

    Raises:
        ConversionError: unexpected or missing keys, shape mismatches or a
            different value count; the message names the keys.
    """
    if variant not in ('lwb', 'concat'):
        raise ValueError(f"variant must be 'lwb' or 'concat', got "
                         f'{variant!r}')
    reference = model if model is not None else build_release_model(variant)
    return _convert(state_dict, GENERATOR_RULES, reference)


def convert_lwgan_discriminator(state_dict: Mapping[str, Tensor],
                                model: Optional[nn.Module] = None
                                ) -> 'OrderedDict[str, Tensor]':
    """Convert (check) a released PatchGAN state dict.

    Keys are identical (``model.N.*``); the value is strict checking.

    Args:
        state_dict (Mapping[str, Tensor]): the release's ``D.state_dict()``.
        model (nn.Module, optional): module to check against; defaults to
            the released ``PatchDiscriminator`` (meta device).

    Returns:
        OrderedDict[str, Tensor]: loadable into ``PatchDiscriminator()``.

    Raises:
        ConversionError: as :func:`convert_lwgan_generator`.
    """
    reference = (
        model if model is not None else build_release_model('discriminator'))
    return _convert(state_dict, [], reference)


__all__ = [
    'GENERATOR_RULES', 'RELEASE_MODEL_CFGS', 'build_release_model',
    'convert_lwgan_generator', 'convert_lwgan_discriminator',
    'ConversionError'
]

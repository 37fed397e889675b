# Copyright (c) mmlwgan contributors. All rights reserved.
"""``init_model``: config + checkpoint -> a LiquidWarpingGAN ready to infer."""
import copy
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log
from torch import nn
from mmlwgan.models.converters.utils import (ConversionError,
                                              extract_state_dict)
from mmlwgan.utils.checkpoint import load_checkpoint_tensors

__all__ = ['init_model', 'load_model_weights', 'read_state_dict',
           'ConfigError', 'CheckpointMismatchError']

#: Parts that never live in mmlwgan checkpoints (loaded from the user's own
#: files; see ``LiquidWarpingGAN``) or are not needed for inference.
_EXTERNAL = ('body_model.', 'hmr.', 'perceptual_loss.', 'face_loss.')
_OPTIONAL = ('discriminator.', )


class ConfigError(ValueError):
    """The config cannot give an inference model (missing file, no model,
    wrong model type)."""


class CheckpointMismatchError(RuntimeError):
    """The checkpoint's tensors do not fit the model built from the
    config."""


def _load_config(config: Union[str, os.PathLike, Config, dict],
                 cfg_options: Optional[dict] = None) -> Config:
    if isinstance(config, (str, os.PathLike)):
        path = os.fspath(config)
        if not osp.isfile(path):
            raise FileNotFoundError(f'config file {path!r} does not exist')
        try:
            cfg = Config.fromfile(path)
        except Exception as e:  # noqa: BLE001 - syntax errors etc.
            raise ConfigError(f'config file {path!r} cannot be read '
                              f'({type(e).__name__}: {e})') from e
    elif isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, (dict, ConfigDict)):
        cfg = Config(copy.deepcopy(dict(config)))
    else:
        raise TypeError('config must be a file path, a Config or a dict, '
                        f'got {type(config).__name__}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def _check_model_type(cfg: Config, where: str) -> None:
    from mmlwgan.models.editors import LiquidWarpingGAN
    from mmlwgan.registry import MODELS
    if 'model' not in cfg or not isinstance(cfg.model, (dict, ConfigDict)):
        raise ConfigError(f'{where} has no `model` dict')
    mtype = cfg.model.get('type')
    if mtype is None:
        raise ConfigError(f'{where}: `model` has no `type`')
    cls = mtype if isinstance(mtype, type) else MODELS.get(mtype)
    if cls is None:
        raise ConfigError(
            f"{where}: model type {mtype!r} is not registered in mmlwgan; "
            "the inferencers need type='LiquidWarpingGAN'")
    if not (isinstance(cls, type) and issubclass(cls, LiquidWarpingGAN)):
        raise ConfigError(
            f"{where}: model type {mtype!r} is {getattr(cls, '__name__', cls)}"
            ", not a LiquidWarpingGAN; the inferencers need "
            "type='LiquidWarpingGAN' (a config from configs/lwgan/)")


def read_state_dict(path: str) -> 'OrderedDict[str, torch.Tensor]':
    """Read the model state dict of an mmengine checkpoint (or a raw state
    dict) from a local file; ``module.`` prefixes are removed.

    Raises:
        FileNotFoundError: the file does not exist.
        CheckpointMismatchError: the file is not a readable checkpoint.
    """
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'checkpoint file {path!r} does not exist (mmlwgan never '
            'downloads weights: give the path of a file you have)')
    if osp.getsize(path) == 0:
        raise CheckpointMismatchError(f'checkpoint file {path!r} is empty '
                                      '(0 bytes)')
    try:
        data = load_checkpoint_tensors(path, map_location='cpu')
    except Exception as e:  # noqa: BLE001 - unpickling errors of all kinds
        raise CheckpointMismatchError(
            f'checkpoint file {path!r} cannot be read as a torch checkpoint '
            f'({type(e).__name__}: {str(e).splitlines()[0][:200]})') from e
    try:
        data = extract_state_dict(data)
    except ConversionError:
        data = None
    if data is None or not all(
            isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointMismatchError(
            f'checkpoint file {path!r} holds no state dict of tensors')
    return data


def _first(items: List[str], n: int = 5) -> str:
    more = f' ... (+{len(items) - n})' if len(items) > n else ''
    return ', '.join(items[:n]) + more


def compare_state_dicts(model_sd: Mapping[str, torch.Tensor],
                        ckpt_sd: Mapping[str, torch.Tensor]
                        ) -> Tuple[List[str], List[str], List[str]]:
    """Missing keys, unexpected keys and shape mismatches (as text), leaving
    out external parts and the (optional) discriminator."""
    def relevant(k):
        return not k.startswith(_EXTERNAL + _OPTIONAL)

    missing = [k for k in model_sd if k not in ckpt_sd and relevant(k)]
    unexpected = [k for k in ckpt_sd if k not in model_sd and relevant(k)]
    shapes = [
        f'{k}: checkpoint {tuple(ckpt_sd[k].shape)} vs model '
        f'{tuple(v.shape)}' for k, v in model_sd.items()
        if k in ckpt_sd and tuple(ckpt_sd[k].shape) != tuple(v.shape)
    ]
    return missing, unexpected, shapes


def load_model_weights(model: nn.Module, checkpoint: str,
                       where: str = 'the config') -> None:
    """Load a checkpoint into ``model``; every generator tensor must fit.

    The body model, HMR and the pretrained loss networks are not part of
    mmlwgan checkpoints (they come from their own files); the discriminator
    may be absent on either side (it is not used at inference).

    Raises:
        FileNotFoundError: missing file.
        CheckpointMismatchError: unreadable file, or missing / unexpected
            keys or shape mismatches (the first ones are named).
    """
    ckpt = read_state_dict(checkpoint)
    model_sd = model.state_dict()
    missing, unexpected, shapes = compare_state_dicts(model_sd, ckpt)
    if missing or unexpected or shapes:
        parts = []
        if shapes:
            parts.append(f'{len(shapes)} shape mismatch(es): '
                         f'{_first(shapes, 3)}')
        if missing:
            parts.append(f'{len(missing)} key(s) missing from the '
                         f'checkpoint: {_first(missing)}')
        if unexpected:
            parts.append(f'{len(unexpected)} unexpected key(s) in the '
                         f'checkpoint: {_first(unexpected)}')
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint!r} does not fit the model of {where}: '
            + '; '.join(parts) + '. Use the config the checkpoint was '
            'trained with (or convert released weights with '
            'tools/model_converters/).')
    to_load = {k: v for k, v in ckpt.items() if k in model_sd}
    model.load_state_dict(to_load, strict=False)
    skipped = [k for k in model_sd
               if k.startswith(_OPTIONAL) and k not in ckpt]
    if skipped:
        print_log(f'{checkpoint}: no discriminator weights (not needed for '
                  'inference)', logger='current')


def init_model(config: Union[str, os.PathLike, Config, dict],
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[Dict[str, Any]] = None) -> nn.Module:
    """Build a :class:`~mmlwgan.models.LiquidWarpingGAN` from a config and
    load its weights.

    Args:
        config (str | Config | dict): config file path or object; its
            ``model`` must be a ``LiquidWarpingGAN``.
        checkpoint (str, optional): mmengine checkpoint (or raw state dict)
            path. None keeps the (random / ``init_cfg``) initialisation.
        device (str | torch.device): Defaults to ``'cpu'``.
        cfg_options (dict, optional): overrides merged into the config,
            e.g. ``{'model.hmr.pretrained': 'checkpoints/hmr.pth'}``.

    Returns:
        nn.Module: the model in eval mode on ``device``, with ``model.cfg``.

    Raises:
        FileNotFoundError: missing config or checkpoint file.
        ConfigError: unreadable config, no model or a wrong model type.
        CheckpointMismatchError: unreadable checkpoint, or one that does not
            fit the config (the first mismatching keys are named).

    Examples:
        >>> model = init_model('configs/lwgan/lwgan_lwb_1xb4-30e_iper-256.py',
        ...                    'checkpoints/lwgan_iper.pth', device='cuda')
    """
    from mmlwgan.registry import MODELS
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    if checkpoint is not None and not osp.isfile(os.fspath(checkpoint)):
        raise FileNotFoundError(
            f'checkpoint file {os.fspath(checkpoint)!r} does not exist '
            '(mmlwgan never downloads weights: give the path of a file you '
            'have)')
    cfg = _load_config(config, cfg_options)
    if isinstance(config, (str, os.PathLike)):
        where = f'config {os.fspath(config)!r}'
    elif getattr(config, 'filename', None):
        where = f'config {config.filename!r}'
    else:
        where = 'the config'
    _check_model_type(cfg, where)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.pop('pretrained', None)
    model = MODELS.build(model_cfg)
    if checkpoint is not None:
        load_model_weights(model, os.fspath(checkpoint), where)
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model

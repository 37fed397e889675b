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
from mmlwgan.models.editors.liquid_warping_gan import EXTERNAL_PREFIXES
from mmlwgan.utils.checkpoint import load_checkpoint_tensors

__all__ = ['init_model', 'load_model_weights', 'read_state_dict',
           'load_pretrained_init_cfgs', 'ConfigError',
           'CheckpointMismatchError']

#: Parts not needed for inference (besides the ones that never live in
#: mmlwgan checkpoints: ``EXTERNAL_PREFIXES`` of ``LiquidWarpingGAN``,
#: loaded from the user's own files).
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
        _make_room_for_hmr_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    _complete_hmr_cfg(cfg)
    use_synthetic_body_if_missing(cfg)
    return cfg


#: the HMR a model gets when options or a config give its weights without a
#: ``type`` (``--cfg-options model.hmr.pretrained=PATH``): the release's
#: (``HMR``'s defaults: ResNetV2-50, 3 iterations, frozen)
DEFAULT_HMR_TYPE = 'HMR'


def _make_room_for_hmr_options(cfg: Config, cfg_options: dict) -> None:
    """``model.hmr.*`` options on a model whose ``hmr`` is None: start
    from an empty HMR config (merging into None fails in mmengine)."""
    model = cfg.get('model')
    if not isinstance(model, dict) or model.get('hmr') is not None:
        return
    if any(str(k).startswith('model.hmr.') for k in cfg_options):
        model['hmr'] = dict(type=DEFAULT_HMR_TYPE)


def _complete_hmr_cfg(cfg: Config) -> None:
    """An ``hmr`` dict without ``type`` (``hmr=dict(pretrained=PATH)`` or
    ``--cfg-options model.hmr.pretrained=PATH`` on a config without HMR) is
    the release's HMR with those settings."""
    model = cfg.get('model')
    hmr = model.get('hmr') if isinstance(model, dict) else None
    if isinstance(hmr, dict) and 'type' not in hmr:
        hmr['type'] = DEFAULT_HMR_TYPE


#: where the synthetic body of ``synthetic_body = True`` configs is generated
SYNTHETIC_BODY_DIR_ENV = 'MMLWGAN_SYNTHETIC_SMPL_DIR'


def synthetic_body_dir() -> str:
    """The folder of the generated synthetic body
    (``$MMLWGAN_SYNTHETIC_SMPL_DIR`` or ``~/.cache/mmlwgan/synthetic_smpl``,
    as ``demo/run_demo.py``)."""
    return os.environ.get(SYNTHETIC_BODY_DIR_ENV) or osp.expanduser(
        osp.join('~', '.cache', 'mmlwgan', 'synthetic_smpl'))


def use_synthetic_body_if_missing(cfg: Config) -> Config:
    """Point the body model of a model trained with the project's synthetic
    body at a generated copy when its file is not there.

    Configs whose top level says ``synthetic_body = True`` (the ``*-tiny_*``
    synthetic configs, and so the bundled demo checkpoint's) were trained
    with the synthetic SMPL-format body, which the project generates
    deterministically: when ``model.body_model.model_path`` does not exist
    (e.g. ``data/synthetic_iper/smpl_model.npz`` without the dataset), the
    body is generated once into :func:`synthetic_body_dir` and used. An
    existing file is always kept. Works in place; returns ``cfg``.
    """
    if not cfg.get('synthetic_body', False):
        return cfg
    model = cfg.get('model')
    body = model.get('body_model') if isinstance(model, dict) else None
    if not isinstance(body, dict):
        return cfg
    path = body.get('model_path')
    if isinstance(path, (str, os.PathLike)) and osp.exists(os.fspath(path)):
        return cfg
    from mmlwgan.synthetic import get_synthetic_smpl_path
    body['model_path'] = get_synthetic_smpl_path(synthetic_body_dir())
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
                        ckpt_sd: Mapping[str, torch.Tensor],
                        skip: Tuple[str, ...] = EXTERNAL_PREFIXES + _OPTIONAL
                        ) -> Tuple[List[str], List[str], List[str]]:
    """Missing keys, unexpected keys and shape mismatches (as text), leaving
    out keys that start with ``skip`` (by default the external parts and the
    optional discriminator)."""
    def relevant(k):
        return not k.startswith(skip)

    missing = [k for k in model_sd if k not in ckpt_sd and relevant(k)]
    unexpected = [k for k in ckpt_sd if k not in model_sd and relevant(k)]
    shapes = [
        f'{k}: checkpoint {tuple(ckpt_sd[k].shape)} vs model '
        f'{tuple(v.shape)}' for k, v in model_sd.items()
        if k in ckpt_sd and tuple(ckpt_sd[k].shape) != tuple(v.shape)
    ]
    return missing, unexpected, shapes


def describe_mismatch(missing: List[str], unexpected: List[str],
                      shapes: List[str]) -> str:
    """:func:`compare_state_dicts`' lists as one line naming the first
    ones; empty when the state dicts fit."""
    parts = []
    if shapes:
        parts.append(f'{len(shapes)} shape mismatch(es): {_first(shapes, 3)}')
    if missing:
        parts.append(f'{len(missing)} key(s) missing from the checkpoint: '
                     f'{_first(missing)}')
    if unexpected:
        parts.append(f'{len(unexpected)} unexpected key(s) in the '
                     f'checkpoint: {_first(unexpected)}')
    return '; '.join(parts)


#: key prefixes of the original release's generator file (not converted)
_RELEASE_GENERATOR_PREFIXES = ('bg_model.', 'src_model.', 'tsf_model.')
_CONVERT_RELEASE_HINT = (
    'tools/model_converters/convert_release.py RELEASE_ASSETS_DIR --out DIR '
    'converts the release\'s files and writes DIR/lwgan.pth with '
    'DIR/config.py')


def _prefix_generator_only(
        model_sd: Mapping[str, torch.Tensor],
        ckpt: 'OrderedDict[str, torch.Tensor]',
        checkpoint: str) -> 'OrderedDict[str, torch.Tensor]':
    """A generator's own state dict (what ``convert_lwgan_generator.py``
    writes: ``bg_net.*``, ``tsf_net.*``..., no ``generator.`` prefix) whose
    keys are exactly the model generator's: load it into the generator."""
    if any(k.startswith('generator.') for k in ckpt):
        return ckpt
    gen_keys = {k[len('generator.'):] for k in model_sd
                if k.startswith('generator.')}
    if not gen_keys or set(ckpt) != gen_keys:
        return ckpt
    print_log(f'{checkpoint}: generator weights without the `generator.` '
              'prefix (a converted generator): loaded into the model\'s '
              'generator', logger='current')
    return OrderedDict(('generator.' + k, v) for k, v in ckpt.items())


def _mismatch_hint(ckpt: Mapping[str, torch.Tensor]) -> str:
    """What to do about a checkpoint that does not fit."""
    if any(k.startswith(_RELEASE_GENERATOR_PREFIXES) for k in ckpt):
        return ('It is a generator of the original release, not converted: '
                + _CONVERT_RELEASE_HINT + '.')
    if not any(k.startswith('generator.') for k in ckpt):
        return ('It holds no `generator.` weights; a generator-only file '
                'loads when its keys are exactly the config\'s generator\'s. '
                'For the release\'s weights: ' + _CONVERT_RELEASE_HINT + '.')
    return ('Use the config the checkpoint was trained with (for the '
            'release\'s weights: ' + _CONVERT_RELEASE_HINT + ').')


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
    ckpt = _prefix_generator_only(model_sd, ckpt, checkpoint)
    mismatch = describe_mismatch(*compare_state_dicts(model_sd, ckpt))
    if mismatch:
        raise CheckpointMismatchError(
            f'checkpoint {checkpoint!r} does not fit the model of {where}: '
            + mismatch + '. ' + _mismatch_hint(ckpt))
    to_load = {k: v for k, v in ckpt.items() if k in model_sd}
    model.load_state_dict(to_load, strict=False)
    skipped = [k for k in model_sd
               if k.startswith(_OPTIONAL) and k not in ckpt]
    if skipped:
        print_log(f'{checkpoint}: no discriminator weights (not needed for '
                  'inference)', logger='current')


def _pretrained_entries(init_cfg: Any) -> List[dict]:
    if init_cfg is None:
        return []
    cfgs = [init_cfg] if isinstance(init_cfg, Mapping) else list(init_cfg)
    return [c for c in cfgs
            if isinstance(c, Mapping) and c.get('type') == 'Pretrained']


def _load_into_submodule(module: nn.Module, name: str, checkpoint: str,
                         prefix: Optional[str], where: str) -> None:
    """Strictly load ``checkpoint`` (optionally its ``prefix.`` part, as
    mmengine's ``PretrainedInit``) into ``model.<name>``; a whole model's
    checkpoint is accepted too (its ``<name>.`` part is taken)."""
    ckpt = read_state_dict(checkpoint)
    own = module.state_dict()
    if prefix:
        prefix = prefix if prefix.endswith('.') else prefix + '.'
    elif not any(k in own for k in ckpt) and any(
            k.startswith(name + '.') for k in ckpt):
        prefix = name + '.'
    if prefix:
        ckpt = OrderedDict((k[len(prefix):], v) for k, v in ckpt.items()
                           if k.startswith(prefix))
        if not ckpt:
            raise CheckpointMismatchError(
                f'{where}: checkpoint {checkpoint!r} has no key starting with '
                f'{prefix!r}')
    mismatch = describe_mismatch(*compare_state_dicts(own, ckpt, skip=()))
    if mismatch:
        hint = _mismatch_hint(ckpt) if name == 'generator' else (
            'Use weights of this network (for the release\'s: '
            + _CONVERT_RELEASE_HINT + ').')
        raise CheckpointMismatchError(
            f'{where}: checkpoint {checkpoint!r} does not fit model.{name}: '
            + mismatch + '. ' + hint)
    module.load_state_dict(ckpt, strict=True)


def load_pretrained_init_cfgs(model: nn.Module) -> List[str]:
    """Load the weights of every ``init_cfg=dict(type='Pretrained',
    checkpoint=PATH[, prefix=...])`` of ``model`` and its sub-modules.

    mmengine applies them in ``init_weights()``, which training runs but
    inference does not; here they are loaded through mmlwgan's allow-listed
    reader, strictly (a file that does not fit raises, naming the keys).
    On the model itself the checkpoint is a model checkpoint (as
    ``--checkpoint``); on a sub-module (e.g. ``model.generator``) it is that
    network's own state dict, or a model checkpoint holding it.

    Returns:
        list[str]: names of the modules loaded (``''`` for the model).

    Raises:
        ConfigError: a ``Pretrained`` entry without a local checkpoint path.
        FileNotFoundError / CheckpointMismatchError: as
            :func:`load_model_weights`.
    """
    loaded = []
    for name, module in model.named_modules():
        for entry in _pretrained_entries(getattr(module, 'init_cfg', None)):
            where = f"init_cfg of model{'.' + name if name else ''}"
            path = entry.get('checkpoint')
            if not path:
                raise ConfigError(f"{where}: dict(type='Pretrained') needs "
                                  'checkpoint=PATH')
            path = os.fspath(path)
            if '://' in path:
                raise ConfigError(
                    f'{where}: {path!r} is a URL; mmlwgan never downloads '
                    'weights: give the path of a file you have')
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{where}: checkpoint file {path!r} does not exist '
                    '(mmlwgan never downloads weights)')
            if name == '':
                if entry.get('prefix'):
                    raise ConfigError(
                        f"{where}: `prefix` is not supported on the model's "
                        'own init_cfg; put the init_cfg on the sub-module')
                load_model_weights(model, path, where)
            else:
                _load_into_submodule(module, name, path, entry.get('prefix'),
                                     where)
            print_log(f'{where}: loaded {path}', logger='current')
            loaded.append(name)
    return loaded


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
    pretrained = model_cfg.pop('pretrained', None)
    model = MODELS.build(model_cfg)
    # every way of giving weights loads them or fails: init_cfg
    # Pretrained entries (mmengine applies them in init_weights(), which
    # inference never calls), the model's `pretrained`, then `checkpoint`
    loaded = load_pretrained_init_cfgs(model)
    if pretrained:
        load_model_weights(model, os.fspath(pretrained),
                           f'{where} (model.pretrained)')
    if checkpoint is not None:
        load_model_weights(model, os.fspath(checkpoint), where)
    if (checkpoint is None and not pretrained
            and not any(n == '' or n == 'generator'
                        or n.startswith('generator.') for n in loaded)):
        from mmlwgan.utils import print_once_warning
        print_once_warning(
            f'init_model: no weights for the generator of {where} (no '
            'checkpoint, no init_cfg=dict(type=\'Pretrained\', ...)): it is '
            'randomly initialised and its output is noise. Give a checkpoint '
            '(for the release\'s weights: ' + _CONVERT_RELEASE_HINT + ').',
            key='mmlwgan.init_model.random_generator')
    model.cfg = cfg
    model.to(device)
    model.eval()
    return model

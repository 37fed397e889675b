# Copyright (c) mmlwgan contributors. All rights reserved.
"""Checkpoints that do not depend on how the model was wrapped for DDP.

``MMSeparateDistributedDataParallel`` (one DDP per player of a GAN) replaces
the model's sub-modules by wrappers, and mmengine's Runner saves
``model.state_dict()`` of the model inside: a distributed run's checkpoint
holds ``generator.module.*`` keys where a single-process run's holds
``generator.*``. mmengine loads checkpoints non-strictly, so such a file,
tested or fine-tuned without the same wrapping (``tools/test.py``, the
inferencers), would leave the generator randomly initialised with only a
warning, and a single-process checkpoint would not resume a distributed run.

:class:`UnwrappedCheckpointHook` saves the keys of the unwrapped sub-modules
and, on loading (``load_from`` and ``resume``), rewrites the keys to the
current wrapping. ``tools/train.py`` and ``tools/test.py`` add it.
"""
from collections import OrderedDict
from typing import Dict, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmlwgan.registry import HOOKS


def _inner_model(runner):
    return runner.model.module if is_model_wrapper(
        runner.model) else runner.model


def _wrapped_children(model) -> Dict[str, bool]:
    """Sub-module name -> whether it is wrapped (e.g. by DDP)."""
    return {
        name: is_model_wrapper(child)
        for name, child in model.named_children()
    }


def _copy_metadata(src: dict, dst: OrderedDict, rename) -> OrderedDict:
    metadata = getattr(src, '_metadata', None)
    if metadata is not None:
        new_meta = OrderedDict()
        for key, value in metadata.items():
            new_meta[rename(key)] = value
        dst._metadata = new_meta
    return dst


def strip_wrapper_keys(state_dict: dict, wrapped: Sequence[str]) -> dict:
    """``<name>.module.x`` -> ``<name>.x`` for the sub-modules ``wrapped``
    (one wrapper level). Keeps the order and torch's ``_metadata``."""
    wrapped = set(wrapped)

    def rename(key: str) -> str:
        name, _, rest = key.partition('.')
        if name in wrapped:
            if rest == 'module':
                return name
            if rest.startswith('module.'):
                return f'{name}.{rest[len("module."):]}'
        return key

    out = OrderedDict((rename(k), v) for k, v in state_dict.items())
    # the wrapper's own metadata entry comes first and is then replaced by
    # the wrapped module's ('<name>.module' -> '<name>')
    return _copy_metadata(state_dict, out, rename)


def match_wrapper_keys(state_dict: dict, model) -> dict:
    """Rename the keys of ``state_dict`` that ``model`` does not have but
    has with one wrapper level (``module.``) more or less after the
    sub-module name: a checkpoint of any wrapping loads into the current
    one."""
    wrapped = _wrapped_children(model)
    model_keys = set(model.state_dict().keys())

    def rename(key: str) -> str:
        if key in model_keys:
            return key
        name, sep, rest = key.partition('.')
        if not sep or name not in wrapped:
            return key
        if wrapped[name]:
            alt = f'{name}.module.{rest}'
        elif rest.startswith('module.'):
            alt = f'{name}.{rest[len("module."):]}'
        else:
            return key
        return alt if alt in model_keys else key

    def rename_meta(key: str) -> str:
        name, sep, rest = key.partition('.')
        if name not in wrapped:
            return key
        if wrapped[name] and rest != 'module' and not rest.startswith(
                'module.'):
            return f'{name}.module.{rest}' if rest else f'{name}.module'
        if not wrapped[name] and (rest == 'module'
                                  or rest.startswith('module.')):
            return strip_meta(name, rest)
        return key

    def strip_meta(name: str, rest: str) -> str:
        rest = rest[len('module'):].lstrip('.')
        return f'{name}.{rest}' if rest else name

    out = OrderedDict((rename(k), v) for k, v in state_dict.items())
    return _copy_metadata(state_dict, out, rename_meta)


@HOOKS.register_module()
class UnwrappedCheckpointHook(Hook):
    """Save state dicts of the unwrapped model; load any into the current
    wrapping (see the module docstring)."""

    priority = 'VERY_HIGH'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        wrapped = [
            name for name, is_wrapped in _wrapped_children(
                _inner_model(runner)).items() if is_wrapped
        ]
        if wrapped and isinstance(checkpoint.get('state_dict'), dict):
            checkpoint['state_dict'] = strip_wrapper_keys(
                checkpoint['state_dict'], wrapped)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if isinstance(checkpoint, dict) and isinstance(
                checkpoint.get('state_dict'), dict):
            checkpoint['state_dict'] = match_wrapper_keys(
                checkpoint['state_dict'], _inner_model(runner))


def add_unwrapped_checkpoint_hook(cfg) -> None:
    """Append an :class:`UnwrappedCheckpointHook` to ``cfg.custom_hooks``
    (an mmengine ``Config``) unless it has one."""
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(
            str(h.get('type', '')).split('.')[-1] == 'UnwrappedCheckpointHook'
            for h in hooks):
        hooks.append(dict(type='mmlwgan.UnwrappedCheckpointHook'))
    cfg.custom_hooks = hooks

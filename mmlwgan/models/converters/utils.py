# Copyright (c) mmlwgan contributors. All rights reserved.
"""Shared helpers of the checkpoint converters.

A converter is: read a released checkpoint (:func:`load_checkpoint_file`),
rename its keys (:func:`rename_state_dict`), check the result against the
target module with strict key / shape / value-count checks
(:func:`check_converted`), save it as an mmengine checkpoint
(:func:`save_checkpoint_atomic`). Official key/shape listings (one
``name<TAB>(d0, d1, ...)`` per line, ``#`` comments) are read with
:func:`load_shape_listing`.

Every check raises :class:`ConversionError` naming the offending keys.
"""
import ast
import os
import os.path as osp
import re
import tempfile
from collections import OrderedDict
from typing import (Any, Dict, Mapping, Optional, Sequence, Tuple, Union)

import torch
import torch.nn as nn
from torch import Tensor

Shape = Tuple[int, ...]
RenameRules = Sequence[Tuple[str, str]]

#: how many offending keys an error message lists
_MAX_LISTED = 20


class ConversionError(ValueError):
    """A checkpoint does not match what the converter expects."""


def _fmt_keys(keys: Sequence[str]) -> str:
    keys = list(keys)
    shown = ', '.join(repr(k) for k in keys[:_MAX_LISTED])
    more = len(keys) - _MAX_LISTED
    return shown + (f' ... (+{more} more)' if more > 0 else '')


def _shape_of(value: Union[Tensor, Sequence[int]]) -> Shape:
    if isinstance(value, Tensor):
        return tuple(value.shape)
    return tuple(int(d) for d in value)


def load_shape_listing(path: str) -> 'OrderedDict[str, Shape]':
    """Read an official checkpoint listing into ``{name: shape}``.

    Lines look like ``bg_model.model.0.weight<TAB>(64, 4, 7, 7)``; blank
    lines and lines starting with ``#`` are skipped.

    Args:
        path (str): listing file.

    Returns:
        OrderedDict[str, tuple[int, ...]]: names in file order.
    """
    shapes: 'OrderedDict[str, Shape]' = OrderedDict()
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            try:
                name, shape = re.split(r'\s+', line, maxsplit=1)
                shapes[name] = tuple(
                    int(d) for d in ast.literal_eval(shape.strip()))
            except (ValueError, SyntaxError, TypeError) as e:
                raise ConversionError(
                    f'{path}:{lineno}: cannot parse {line!r}') from e
    return shapes


def num_values(state: Mapping[str, Union[Tensor, Sequence[int]]]) -> int:
    """Total number of values of a state dict or a ``{name: shape}`` map."""
    total = 0
    for value in state.values():
        n = 1
        for d in _shape_of(value):
            n *= d
        total += n
    return total


def extract_state_dict(checkpoint: Mapping[str, Any],
                       prefix: str = 'module.') -> 'OrderedDict[str, Tensor]':
    """Unwrap a loaded checkpoint and strip a wrapper prefix.

    Accepts a raw state dict or one wrapped under ``'state_dict'`` or
    ``'model'`` (mmengine, DataParallel-era scripts); removes ``prefix``
    (DataParallel's ``'module.'``) when every key has it (a model with a
    sub-module that happens to be called ``module`` keeps its names).

    Args:
        checkpoint (Mapping): what ``torch.load`` returned.
        prefix (str): prefix to strip. Defaults to ``'module.'``.

    Returns:
        OrderedDict[str, Tensor]: the state dict.
    """
    sd = checkpoint
    for key in ('state_dict', 'model'):
        if isinstance(sd, Mapping) and isinstance(sd.get(key), Mapping):
            sd = sd[key]
            break
    if not isinstance(sd, Mapping):
        raise ConversionError(f'not a state dict: {type(sd).__name__}')
    keys = list(sd)
    if prefix and keys and all(k.startswith(prefix) for k in keys):
        return OrderedDict((k[len(prefix):], v) for k, v in sd.items())
    return OrderedDict(sd.items())


def load_checkpoint_file(path: str) -> 'OrderedDict[str, Tensor]':
    """Read a checkpoint on CPU through the allow-listed loader
    (:func:`mmlwgan.utils.safe_pickle.load_torch_file`: nothing the file
    names runs) and :func:`extract_state_dict` it.

    Args:
        path (str): checkpoint file.

    Returns:
        OrderedDict[str, Tensor]: the state dict.

    Raises:
        ConversionError: the file is refused or holds no state dict.
    """
    from mmlwgan.utils.safe_pickle import UnsafePickleError, load_torch_file
    try:
        ckpt = load_torch_file(path)
    except UnsafePickleError as e:
        raise ConversionError(str(e)) from None
    return extract_state_dict(ckpt)


def rename_state_dict(state_dict: Mapping[str, Tensor],
                      rules: RenameRules,
                      require_match: bool = False
                      ) -> 'OrderedDict[str, Tensor]':
    """Rename keys with a table of regular-expression rules.

    Every rule ``(pattern, repl)`` is applied in order with ``re.sub`` to the
    result of the previous ones; values are kept as they are (same objects).

    Args:
        state_dict (Mapping[str, Tensor]): input.
        rules (Sequence[tuple[str, str]]): ``(pattern, repl)`` pairs.
        require_match (bool): raise if a key matches none of the patterns
            (an unexpected key). Defaults to False.

    Returns:
        OrderedDict[str, Tensor]: renamed, input order kept.

    Raises:
        ConversionError: two keys map to one name, or (``require_match``)
            keys match no rule.
    """
    compiled = [(re.compile(p), r) for p, r in rules]
    out: 'OrderedDict[str, Tensor]' = OrderedDict()
    origin: Dict[str, str] = {}
    unmatched = []
    for key, value in state_dict.items():
        new, matched = key, False
        for pattern, repl in compiled:
            new, n = pattern.subn(repl, new)
            matched |= n > 0
        if require_match and not matched:
            unmatched.append(key)
            continue
        if new in out:
            raise ConversionError(
                f'keys {origin[new]!r} and {key!r} both map to {new!r}')
        out[new] = value
        origin[new] = key
    if unmatched:
        raise ConversionError(
            f'unexpected keys ({len(unmatched)}), matched by no rename '
            f'rule: {_fmt_keys(unmatched)}')
    return out


def check_state_dict(state_dict: Mapping[str, Union[Tensor, Sequence[int]]],
                     expected: Mapping[str, Union[Tensor, Sequence[int]]],
                     strict: bool = True,
                     name: str = 'state dict',
                     origin: Optional[Mapping[str, str]] = None) -> None:
    """Compare keys and shapes with an expected ``{name: tensor or shape}``.

    Args:
        state_dict (Mapping): tensors (or shapes) to check.
        expected (Mapping): reference tensors or shapes.
        strict (bool): missing and unexpected keys are errors (else only
            shapes of the common keys are compared). Defaults to True.
        name (str): what is checked, for the messages.
        origin (Mapping[str, str], optional): ``new key -> original key``,
            to name the original key in messages.

    Raises:
        ConversionError: naming every offending key (up to 20 per kind).
    """
    def label(k):
        if origin and origin.get(k, k) != k:
            return f'{k} (from {origin[k]})'
        return k

    problems = []
    if strict:
        missing = [k for k in expected if k not in state_dict]
        unexpected = [k for k in state_dict if k not in expected]
        if missing:
            problems.append(f'missing keys ({len(missing)}): '
                            f'{_fmt_keys(missing)}')
        if unexpected:
            problems.append(
                f'unexpected keys ({len(unexpected)}): '
                f'{_fmt_keys([label(k) for k in unexpected])}')
    mismatched = [
        f'{label(k)}: got {_shape_of(v)}, expected {_shape_of(expected[k])}'
        for k, v in state_dict.items()
        if k in expected and _shape_of(v) != _shape_of(expected[k])
    ]
    if mismatched:
        problems.append(f'shape mismatches ({len(mismatched)}): ' +
                        '; '.join(mismatched[:_MAX_LISTED]))
    if problems:
        raise ConversionError(f'{name}: ' + ' | '.join(problems))


def check_converted(converted: Mapping[str, Tensor],
                    model: Union[nn.Module, Mapping[str, Any]],
                    strict: bool = True,
                    origin: Optional[Mapping[str, str]] = None) -> None:
    """Check a converted state dict against the module it is meant for.

    Keys and shapes must match ``model.state_dict()`` (a meta-device model
    is enough) and, when ``strict``, so must the number of values.

    Args:
        converted (Mapping[str, Tensor]): converted state dict.
        model (nn.Module | Mapping): target module or its state dict
            (tensors or shapes).
        strict (bool): also fail on missing / unexpected keys and value
            count. Defaults to True.
        origin (Mapping[str, str], optional): ``new key -> original key``
            for messages.

    Raises:
        ConversionError: on any mismatch.
    """
    expected = model.state_dict() if isinstance(model, nn.Module) else model
    check_state_dict(converted, expected, strict, 'converted checkpoint',
                     origin)
    if strict and num_values(converted) != num_values(expected):
        raise ConversionError(
            f'converted checkpoint has {num_values(converted)} values, the '
            f'model {num_values(expected)}')


def save_checkpoint_atomic(state_dict: Mapping[str, Tensor],
                           path: str,
                           meta: Optional[Dict[str, Any]] = None) -> None:
    """Save ``{'meta': meta, 'state_dict': state_dict}`` atomically.

    Writes a temporary file in the destination folder and renames it over
    ``path``, so an interrupted run never leaves a truncated checkpoint.

    Args:
        state_dict (Mapping[str, Tensor]): weights.
        path (str): output file (folders are created).
        meta (dict, optional): mmengine ``meta`` entry.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.tmp_', suffix='.pth', dir=folder)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(
                dict(meta=dict(meta or {}), state_dict=OrderedDict(
                    (k, v.detach().cpu().contiguous())
                    for k, v in state_dict.items())), f)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Convert SphereFace-20a weights (``sphere20a_20171020.pth``) for mmlwgan.

mmlwgan's :class:`~mmlwgan.models.losses.sphereface.SphereFace20a` uses the
release's module names (``conv1_1``, ``relu1_1``, ..., ``fc5``; see
``official_checkpoints/sphere20a.txt``), so the conversion is the identity on
those 62 tensors. The original SphereFace file also holds the training-time
classifier ``fc6`` (an A-Softmax ``AngleLinear`` over 10574 identities),
which the release drops when loading (only features are used); it is dropped
here too.
"""
from collections import OrderedDict
from typing import Any, Mapping

from .hmr import load_raw_state_dict

__all__ = ['convert_sphereface', 'SPHEREFACE_DROP_PREFIXES']

#: Key prefixes of the original file that the face loss does not use.
SPHEREFACE_DROP_PREFIXES = ('fc6.', )


def _is_sphereface_key(key: str) -> bool:
    head = key.split('.', 1)[0]
    return (head.startswith(('conv', 'relu')) and '_' in head) or head == 'fc5'


def convert_sphereface(state_dict: Mapping[str, Any],
                       strict: bool = True) -> 'OrderedDict':
    """Map a SphereFace-20a state dict onto ``SphereFace20a``.

    Args:
        state_dict (Mapping): The released state dict (``module.`` prefixes
            and ``state_dict`` / ``model`` wrappers are removed first).
        strict (bool): Raise on keys that are neither SphereFace-20a tensors
            nor the dropped ``fc6`` classifier. Defaults to True.

    Returns:
        OrderedDict[str, Tensor]: The 62 tensors of ``SphereFace20a``.

    Raises:
        KeyError: On unknown keys (``strict``) or an empty result.
    """
    state_dict = load_raw_state_dict(state_dict)
    out = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        if key.startswith(SPHEREFACE_DROP_PREFIXES):
            continue
        if _is_sphereface_key(key):
            out[key] = value
        else:
            unknown.append(key)
    if unknown and strict:
        raise KeyError(f'unexpected keys in the SphereFace checkpoint: '
                       f'{unknown[:8]}{" ..." if len(unknown) > 8 else ""}')
    if not out:
        raise KeyError('no SphereFace-20a weights found')
    return out

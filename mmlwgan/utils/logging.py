# Copyright (c) mmlwgan contributors. All rights reserved.
from mmengine.logging import print_log

_SEEN = set()


def print_once_warning(msg: str, key: str = None) -> None:
    """Log ``msg`` as a warning the first time ``key`` (default: ``msg``) is seen.

    Used, for instance, when a pretrained network is built without weights and
    initialised randomly: the user is told once, not at every construction.
    """
    key = key or msg
    if key in _SEEN:
        return
    _SEEN.add(key)
    print_log(msg, logger='current', level=30)

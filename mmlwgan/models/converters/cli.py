# Copyright (c) mmlwgan contributors. All rights reserved.
"""What the converter scripts in ``tools/model_converters`` share: their
command line, the ``meta`` they write and the line they print."""
import argparse
import os.path as osp
import time
from typing import Any, Dict, Mapping

from torch import Tensor

from .utils import num_values

__all__ = ['converter_parser', 'conversion_meta', 'conversion_summary']


def converter_parser(description: str,
                     src_help: str,
                     verify: bool = False) -> argparse.ArgumentParser:
    """``src`` / ``dst`` positionals and the optional common flags.

    Args:
        description (str): the script's description.
        src_help (str): help of ``src`` (which released file it reads).
        verify (bool): add ``--no-verify`` (skip the strict load of the
            written file into a freshly built module).

    Returns:
        argparse.ArgumentParser: for the script to extend.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help=src_help)
    parser.add_argument('dst', help='output mmlwgan checkpoint (.pth)')
    if verify:
        parser.add_argument(
            '--no-verify',
            action='store_true',
            help='skip the strict load of the output into a fresh module')
    return parser


def conversion_meta(src: str, converter: str, **extra: Any) -> Dict[str, Any]:
    """The ``meta`` of a converted checkpoint: mmlwgan's version, the source
    file's name, the converter script, the time, then ``extra``."""
    from mmlwgan import __version__
    return dict(mmlwgan_version=__version__,
                converted_from=osp.basename(src),
                converter=f'tools/model_converters/{converter}.py',
                time=time.strftime('%Y-%m-%d %H:%M:%S'), **extra)


def conversion_summary(state_dict: Mapping[str, Tensor], src: str,
                       dst: str) -> str:
    """``'<src> -> <dst>: N tensors, M values'``."""
    return (f'{src} -> {dst}: {len(state_dict)} tensors, '
            f'{num_values(state_dict)} values')

# Copyright (c) mmlwgan contributors. All rights reserved.
"""One-line errors for the command-line tools.

A failing command prints ``error: <the cause>`` as ONE line on stderr and
exits with status 1 (130 when interrupted); ``--debug`` (or the environment
variable ``MMLWGAN_DEBUG=1``) shows the full traceback instead.
"""
import os
import os.path as osp
import shutil
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

__all__ = ['DEBUG_ENV', 'add_debug_arg', 'error_line', 'error_message',
           'run_main', 'debug_requested', 'nothing_left_on_failure']

#: environment variable that turns ``--debug`` on for every tool
DEBUG_ENV = 'MMLWGAN_DEBUG'
DEBUG_HELP = ('on an error, show the full traceback instead of one line '
              f'(also: {DEBUG_ENV}=1)')


def add_debug_arg(parser) -> None:
    """Add ``--debug`` to an ``argparse`` parser."""
    parser.add_argument('--debug', action='store_true', help=DEBUG_HELP)


def debug_requested(flag: bool = False) -> bool:
    """``--debug`` given, or ``MMLWGAN_DEBUG`` set to a true value."""
    env = os.environ.get(DEBUG_ENV, '').strip().lower()
    return bool(flag) or env not in ('', '0', 'false', 'no', 'off')


def _expected_types():
    """Errors whose message says it all (no type name needed)."""
    types = [ValueError, OSError, KeyError]
    try:
        from mmlwgan.apis.inference import CheckpointMismatchError
        types.append(CheckpointMismatchError)
    except Exception:  # noqa: BLE001 - the tools work without the apis
        pass
    return tuple(types)


def error_line(exc: BaseException) -> str:
    """The cause of ``exc`` as one line: its message with line breaks
    folded, prefixed with the type's name unless it is an input / file /
    config error whose message says it all."""
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(
            exc.args[0], str):
        msg = exc.args[0]  # str(KeyError) quotes the message
    else:
        msg = str(exc)
    msg = ' '.join(msg.split())
    name = type(exc).__name__
    if not msg:
        return name
    if not isinstance(exc, _expected_types()):
        return f'{name}: {msg}'
    return msg


def error_message(exc: BaseException) -> str:
    """The one line a failing command prints on stderr:
    ``error: <cause>`` (:func:`error_line`)."""
    return f'error: {error_line(exc)}'


def run_main(fn: Callable[[], Any], debug: bool = False) -> Any:
    """Run ``fn()`` and return its result; on an exception print one
    ``error:`` line on stderr and return 1 (130 on Ctrl-C), or re-raise it
    (full traceback) when debugging is asked for."""
    debug = debug_requested(debug)
    try:
        return fn()
    except KeyboardInterrupt:
        if debug:
            raise
        print('error: interrupted', file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - every cause, in one line
        if debug:
            raise
        sys.stdout.flush()
        print(error_message(e), file=sys.stderr)
        sys.stderr.flush()
        return 1


def _has_progress(path: str) -> bool:
    """A checkpoint or logged training scalars somewhere under ``path``."""
    if osp.isfile(path):
        return path.endswith('.pth')
    for root, _, files in os.walk(path):
        if any(f.endswith('.pth') or f == 'scalars.json' for f in files):
            return True
    return False


@contextmanager
def nothing_left_on_failure(*paths: Optional[str]) -> Iterator[None]:
    """Remove what a run created in the given folders (or files) when it
    fails before having made progress.

    An mmengine ``Runner`` creates the work dir, a timestamped log folder
    and a config dump before it builds the model and the data; a run that
    fails there (a typo in a config, no data, an unreadable checkpoint)
    should leave nothing behind. Entries that were there before are never
    touched; nothing is removed once a checkpoint (``*.pth``) or training
    scalars (``scalars.json``) were written, so the logs of a run that
    failed mid-training stay.
    """
    before = {}
    for p in paths:
        if not p:
            continue
        p = osp.abspath(p)
        if osp.isdir(p):
            before[p] = set(os.listdir(p))
        else:
            before[p] = None if not osp.exists(p) else set()
    try:
        yield
    except BaseException:
        for p, old in before.items():
            try:
                if old is None:  # created by the run
                    if osp.exists(p) and not _has_progress(p):
                        if osp.isdir(p) and not osp.islink(p):
                            shutil.rmtree(p, ignore_errors=True)
                        else:
                            os.remove(p)
                elif osp.isdir(p):
                    new = [osp.join(p, n) for n in set(os.listdir(p)) - old]
                    if not any(_has_progress(n) for n in new):
                        for n in new:
                            if osp.isdir(n) and not osp.islink(n):
                                shutil.rmtree(n, ignore_errors=True)
                            else:
                                os.remove(n)
            except OSError:
                pass
        raise

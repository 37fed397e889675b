# Copyright (c) mmlwgan contributors. All rights reserved.
"""Progress reporting of the inferencers: a tqdm bar and/or a callback.

A progress callback is any ``callback(stage, done, total)``: ``stage`` names
the pipeline stage (``'SMPL of the reference'``, ``'personalize'``,
``'imitation'``, ``'transfer'``, ``'views'``), ``done`` and ``total`` count
its steps (``total`` may be None when unknown). The web app
(:mod:`mmlwgan.apis.web`) drives its progress bar with one.
"""
from typing import Any, Callable, Iterable, Iterator, Optional

__all__ = ['ProgressCallback', 'ProgressBar', 'progress_bar']

#: ``callback(stage, done, total)``
ProgressCallback = Callable[[str, int, Optional[int]], None]


class ProgressBar:
    """Counts the steps of one stage for a tqdm bar and a callback.

    Use it as an iterable wrapper (``for x in ProgressBar(it, ...)``) or
    call :meth:`update` / :meth:`close` by hand.

    Args:
        iterable (Iterable, optional): the steps, or None for manual
            updates.
        total (int, optional): number of steps.
        desc (str): the stage's name.
        show (bool): draw a tqdm bar.
        callback (ProgressCallback, optional): told ``(desc, 0, total)``
            at the start and ``(desc, done, total)`` after every step.
    """

    def __init__(self, iterable: Optional[Iterable] = None,
                 total: Optional[int] = None, desc: str = '',
                 show: bool = True,
                 callback: Optional[ProgressCallback] = None) -> None:
        self.iterable = iterable
        self.total = total
        self.desc = desc
        self.callback = callback
        self.n = 0
        self._bar = None
        if show:
            from tqdm import tqdm
            self._bar = tqdm(total=total, desc=desc, leave=False)
        if callback is not None:
            callback(desc, 0, total)

    def update(self, k: int = 1) -> None:
        """Count ``k`` more steps done."""
        self.n += k
        if self._bar is not None:
            self._bar.update(k)
        if self.callback is not None:
            self.callback(self.desc, self.n, self.total)

    def close(self) -> None:
        """Close the tqdm bar (the callback needs no closing)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __iter__(self) -> Iterator[Any]:
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()


def progress_bar(iterable: Optional[Iterable], total: Optional[int],
                 desc: str, show: bool,
                 callback: Optional[ProgressCallback] = None) -> Any:
    """``iterable`` itself when nothing reports progress, else a
    :class:`ProgressBar` over it (or, for ``iterable=None``, a bar to
    update by hand; None when nothing reports progress)."""
    if not show and callback is None:
        return iterable
    return ProgressBar(iterable, total, desc, show, callback)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""The input errors shared by every layer that reads user inputs.

They live at the bottom so that the preprocessing tools and the inferencers
raise (and catch) the same classes: :class:`NoPersonError` of
:class:`~mmlwgan.preprocessing.PersonTracker` is the one of
:mod:`mmlwgan.apis`. Both are ``ValueError`` s, so ``except ValueError``
keeps working, and :func:`mmlwgan.utils.cli.error_line` prints their
message alone.
"""
from typing import Optional

__all__ = ['InferenceInputError', 'NoPersonError']


class InferenceInputError(ValueError):
    """An input (of an inferencer or a preprocessing tool) is unusable; the
    message says which and why."""


class NoPersonError(InferenceInputError):
    """No person could be found: in an image or frame (detector or body
    silhouette), or in a whole video.

    Args:
        message (str): what was searched and where.
        frame_index (int, optional): 0-based index of the (first) frame
            without a person, when known.
        video (str, optional): the video it happened in, when known.

    Attributes:
        frame_index (int, optional): see Args.
        video (str, optional): see Args.
    """

    def __init__(self, message: str, frame_index: Optional[int] = None,
                 video: Optional[str] = None) -> None:
        super().__init__(message)
        self.frame_index = frame_index
        self.video = video

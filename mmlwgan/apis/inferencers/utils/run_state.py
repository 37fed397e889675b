# Copyright (c) mmlwgan contributors. All rights reserved.
"""What the stages of an inferencer call hand on: the sources
(:class:`SourceState`) and the prepared run (:class:`InferenceRun`, the
output of ``preprocess``)."""
import contextlib
from typing import Any, Dict, List, Optional, Union

import numpy as np
from torch import Tensor

__all__ = ['SourceState', 'InferenceRun']


class SourceState:
    """The sources of one call (images, SMPL, names)."""

    def __init__(self, name: str, images: List[np.ndarray], imgs: Tensor,
                 theta: Tensor, smpl_from: str) -> None:
        self.name = name
        self.images = images  # resized uint8 RGB
        self.imgs = imgs  # (S, 3, H, W) in [-1, 1]
        self.theta = theta  # (S, 85)
        self.smpl_from = smpl_from

    @property
    def num_sources(self) -> int:
        return self.imgs.shape[0]


class InferenceRun:
    """What :meth:`BaseLWGANInferencer.preprocess` hands to the other
    stages of one call: the validated inputs, nothing written yet.

    Args:
        name (str): base name of the output files.
        state (SourceState): the sources.
        background (str | Tensor): the resolved background option.
        batch_size (int): targets decoded together.
        num_frames (int): frames the run makes.
        single_frame (bool): also write ``<name>.png`` (one-frame results).
        results (dict, optional): entries of the result dict (SMPL
            parameters, views...).
        **task: the task's own inputs (reference, targets...), as
            attributes.
    """

    def __init__(self, name: str, state: SourceState,
                 background: Union[str, Tensor], batch_size: int,
                 num_frames: int, single_frame: bool = False,
                 results: Optional[Dict[str, Any]] = None,
                 **task: Any) -> None:
        self.name = name
        self.state = state
        self.background = background
        self.batch_size = int(batch_size)
        self.num_frames = int(num_frames)
        self.single_frame = single_frame
        self.results = dict(results or {})
        self.__dict__.update(task)
        self._resources = contextlib.ExitStack()

    def hold(self, resource: Any) -> Any:
        """Close ``resource`` (a context manager) when the run ends."""
        return self._resources.enter_context(resource)

    def close(self) -> None:
        """Release what the stages opened (e.g. a reference's frame
        reader)."""
        self._resources.close()

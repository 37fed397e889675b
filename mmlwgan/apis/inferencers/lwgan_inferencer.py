# Copyright (c) mmlwgan contributors. All rights reserved.
"""``LWGANInferencer``: one entry point keyed by task, as mmagic's
``MMagicInferencer``."""
from typing import Any, Callable, Dict, Optional, Set, Type

from .appearance_transfer_inferencer import AppearanceTransferInferencer
from .base_lwgan_inferencer import BaseLWGANInferencer
from .motion_imitation_inferencer import MotionImitationInferencer
from .novel_view_inferencer import NovelViewInferencer

#: task name -> inferencer class
TASKS: Dict[str, Type[BaseLWGANInferencer]] = {
    'motion_imitation': MotionImitationInferencer,
    'appearance_transfer': AppearanceTransferInferencer,
    'novel_view': NovelViewInferencer,
}


class LWGANInferencer:
    """The inferencer of one Liquid Warping GAN task.

    Args:
        task (str): ``'motion_imitation'``, ``'appearance_transfer'`` or
            ``'novel_view'``.
        model: config file / object or built model, as for the task's
            inferencer.
        weights (str, optional): checkpoint path.
        **kwargs: the task inferencer's other arguments (``device``,
            ``detector``, ``retain_freed_memory``...).

    Calling it calls the task's inferencer (see
    :class:`MotionImitationInferencer`, :class:`AppearanceTransferInferencer`,
    :class:`NovelViewInferencer` for the arguments); its four keyword sets
    (``preprocess_kwargs``...) and ``progress_callback`` are the task
    inferencer's.

    Examples:
        >>> from mmlwgan.apis import LWGANInferencer
        >>> lwgan = LWGANInferencer(
        ...     'novel_view',
        ...     'configs/lwgan/lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py',
        ...     'demo/checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth',
        ...     device='cpu', show_progress=False)
        >>> out = lwgan('demo/data/source.png',
        ...             src_smpl='demo/data/source_smpl.pkl', num_views=4,
        ...             out_dir='outputs/doc', return_frames=True)
        >>> len(out['frames'])
        4
    """

    def __init__(self, task: str, model: Any, weights: Any = None,
                 **kwargs: Any) -> None:
        if task not in TASKS:
            raise ValueError(f'task must be one of {sorted(TASKS)}, got '
                             f'{task!r}')
        self.task = task
        self.inferencer = TASKS[task](model, weights, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        return self.inferencer(*args, **kwargs)

    # the task inferencer's contract (mmengine's four keyword sets) and
    # progress callback, seen through this wrapper
    @property
    def preprocess_kwargs(self) -> Set[str]:
        return self.inferencer.preprocess_kwargs

    @property
    def forward_kwargs(self) -> Set[str]:
        return self.inferencer.forward_kwargs

    @property
    def visualize_kwargs(self) -> Set[str]:
        return self.inferencer.visualize_kwargs

    @property
    def postprocess_kwargs(self) -> Set[str]:
        return self.inferencer.postprocess_kwargs

    @property
    def progress_callback(self) -> Optional[Callable]:
        return self.inferencer.progress_callback

    @progress_callback.setter
    def progress_callback(self, callback: Optional[Callable]) -> None:
        self.inferencer.progress_callback = callback

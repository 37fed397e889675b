# Copyright (c) mmlwgan contributors. All rights reserved.
"""One optimizer wrapper per sub-module (generator, discriminator, ...)."""
import copy

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from mmlwgan.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an :class:`OptimWrapperDict` with one wrapper per sub-module.

    mmengine's Runner builds several optimizers only through a constructor.
    Each key of the config names an attribute of the model (e.g.
    ``generator``, ``discriminator``) and holds an ordinary optimizer-wrapper
    config for it::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            generator=dict(type='OptimWrapper', optimizer=dict(
                type='Adam', lr=2e-4, betas=(0.5, 0.999))),
            discriminator=dict(type='OptimWrapper', optimizer=dict(
                type='Adam', lr=2e-4, betas=(0.5, 0.999))))

    Args:
        optim_wrapper_cfg (dict): sub-module name -> optimizer-wrapper config.
        paramwise_cfg (dict, optional): applied to every sub-module unless its
            own config has one.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None) -> None:
        if not isinstance(optim_wrapper_cfg, dict):
            raise TypeError('optim_wrapper_cfg should be a dict, got '
                            f'{type(optim_wrapper_cfg)}')
        if 'type' in optim_wrapper_cfg or 'optimizer' in optim_wrapper_cfg:
            raise ValueError(
                'MultiOptimWrapperConstructor expects one optimizer-wrapper '
                'config per sub-module (e.g. generator=..., '
                'discriminator=...), not a single optimizer config')
        self.optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)
        self.paramwise_cfg = paramwise_cfg
        self.constructors = {}
        for key, cfg in self.optim_wrapper_cfg.items():
            cfg = copy.deepcopy(cfg)
            cfg.setdefault('type', 'OptimWrapper')
            paramwise = cfg.pop('paramwise_cfg', paramwise_cfg)
            self.constructors[key] = DefaultOptimWrapperConstructor(
                cfg, paramwise)

    def __call__(self, module: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(module):
            module = module.module
        wrappers = {}
        for key, constructor in self.constructors.items():
            sub = getattr(module, key, None)
            if sub is None:
                raise AttributeError(
                    f'the model has no sub-module {key!r} to optimise '
                    f'(optim_wrapper keys: {list(self.constructors)})')
            wrappers[key] = constructor(sub)
        return OptimWrapperDict(**wrappers)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Distributed training and testing on machines without CUDA (gloo).

mmengine 0.10's ``init_dist('pytorch')`` always calls
``torch.cuda.set_device(local_rank)`` and its Runner always wraps the model
with ``device_ids=[local_rank]``; both fail without a GPU. With
:func:`setup_cpu_distributed` called before ``Runner.from_cfg``,
``torchrun ... tools/train.py CONFIG --launcher pytorch`` works on CPUs: the
process group is initialised here (``env://`` from torchrun's variables) and
the Runner, finding it initialised, skips its own ``init_dist``.
"""
import datetime
import warnings

import torch
import torch.distributed as dist


def setup_cpu_distributed(cfg) -> bool:
    """Prepare ``cfg`` (and the process group) for CPU distributed runs.

    Does nothing (returns False) unless ``cfg.launcher == 'pytorch'`` and
    CUDA is unavailable. Otherwise:

    - ``env_cfg.dist_cfg.backend`` ``'nccl'`` (GPU only) becomes ``'gloo'``
      (with a warning);
    - the default process group is initialised from ``env_cfg.dist_cfg``
      (``timeout`` in seconds, like mmengine's) unless it already is;
    - a DDP-like ``model_wrapper_cfg`` (``MMDistributedDataParallel``,
      ``MMSeparateDistributedDataParallel``) gets ``device_ids=None`` (DDP
      of CPU modules);
      without one, the Runner's default ``MMDistributedDataParallel`` is
      written out (``broadcast_buffers=False``, the config's
      ``find_unused_parameters``).

    Args:
        cfg (mmengine.Config): the merged config (``launcher`` set).

    Returns:
        bool: whether the CPU setup was applied.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    # (a Config stores a copy of an assigned dict: read it back)
    if cfg.get('env_cfg', None) is None:
        cfg.env_cfg = dict()
    if cfg.env_cfg.get('dist_cfg', None) is None:
        cfg.env_cfg.dist_cfg = dict()
    dist_cfg = cfg.env_cfg.dist_cfg
    if dist_cfg.get('backend', 'nccl') == 'nccl':
        warnings.warn('no CUDA device: distributed backend nccl -> gloo')
        dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        kwargs = dict(dist_cfg)
        backend = kwargs.pop('backend')
        if kwargs.get('timeout') is not None:
            kwargs['timeout'] = datetime.timedelta(seconds=kwargs['timeout'])
        dist.init_process_group(backend=backend, **kwargs)
    wrapper = cfg.get('model_wrapper_cfg', None)
    if wrapper is None:
        wrapper = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper_type = wrapper.get('type', 'MMDistributedDataParallel')
    if isinstance(wrapper_type, str):
        from mmengine.registry import MODEL_WRAPPERS
        wrapper_type = MODEL_WRAPPERS.get(wrapper_type)
    if isinstance(wrapper_type, type) and issubclass(
            wrapper_type, torch.nn.parallel.DistributedDataParallel):
        wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper
    return True


def shutdown_distributed() -> None:
    """Leave the default process group in step with the other ranks
    (barrier), then destroy it; a no-op outside distributed runs.

    mmengine never destroys it: ranks then exit while peers may still use
    their connections (torch warns about the missing destroy; one 2-process
    gloo run here ended in a SIGABRT of a rank at exit)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()

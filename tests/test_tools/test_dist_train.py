# Copyright (c) mmlwgan contributors. All rights reserved.
"""Distributed training through ``tools/dist_train.sh`` (torchrun + mmengine):
2 CPU processes, gloo, on the tiny synthetic iPER.

A probe hook (a module written next to a config that inherits the tiny one)
records, on every rank, how the Runner wrapped the model, which samples the
rank trained on and a checksum of the weights after training.
"""
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys

import pytest


def helpers():
    """``tests/test_tools/conftest.py`` as a module (see its docstring)."""
    name = 'mmlwgan_tools_helpers'
    if name not in sys.modules:
        path = osp.join(osp.dirname(osp.abspath(__file__)), 'conftest.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


H = helpers()
ITERS = 4
WORLD_SIZE = 2

PROBE = '''
import json
import os.path as osp

import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class DistProbeHook(Hook):
    priority = 'LOWEST'

    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.samples = []

    def before_train(self, runner):
        model = runner.model
        inner = model.module
        self.info = dict(
            rank=dist.get_rank(), world_size=dist.get_world_size(),
            backend=dist.get_backend(), wrapper=type(model).__name__,
            children={n: type(m).__name__
                      for n, m in inner.named_children()},
            body_model_frozen=all(
                not p.requires_grad for p in inner.body_model.parameters()),
            body_model_tensors=len(list(inner.body_model.parameters()))
            + len(list(inner.body_model.buffers())))

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.samples += [s.sample_idx for s in data_batch['data_samples']]

    def after_train(self, runner):
        inner = runner.model.module
        self.info['samples'] = self.samples
        self.info['iter'] = runner.iter
        self.info['checksums'] = {
            key: float(sum(p.detach().double().abs().sum()
                           for p in getattr(inner, key).parameters()))
            for key in ('generator', 'discriminator')}
        path = osp.join(self.out_dir, f'probe_rank{self.info["rank"]}.json')
        with open(path, 'w') as f:
            json.dump(self.info, f)
'''


def test_dist_train_gloo(tiny_iper, tmp_path):
    probe_dir = tmp_path / 'probe'
    probe_dir.mkdir()
    (probe_dir / 'mmlwgan_dist_probe.py').write_text(PROBE)
    config = tmp_path / 'dist_tiny.py'
    config.write_text(
        f'_base_ = [{H.TINY_CONFIG!r}]\n'
        "custom_imports = dict(imports=['mmlwgan_dist_probe'], "
        'allow_failed_imports=False)\n'
        f"custom_hooks = [dict(type='DistProbeHook', "
        f'out_dir={str(probe_dir)!r})]\n')
    work_dir = str(tmp_path / 'work')
    # no model_wrapper_cfg: tools/train.py picks the separate DDP for the
    # multi-optimizer model
    options = H.tiny_options(tiny_iper, max_iters=ITERS, ckpt_interval=ITERS,
                             vis_interval=2)
    env = H.subprocess_env(PORT=H.free_port())
    env['PYTHONPATH'] = os.pathsep.join([str(probe_dir), env['PYTHONPATH']])
    cmd = ['bash', osp.join(H.ROOT, 'tools', 'dist_train.sh'), str(config),
           str(WORLD_SIZE), '--work-dir', work_dir
           ] + H.cfg_options_argv(options)
    proc = subprocess.run(cmd, env=env, cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:]

    probes = []
    for rank in range(WORLD_SIZE):
        with open(probe_dir / f'probe_rank{rank}.json') as f:
            probes.append(json.load(f))
    for rank, probe in enumerate(probes):
        assert probe['rank'] == rank
        assert probe['world_size'] == WORLD_SIZE
        assert probe['backend'] == 'gloo'
        assert probe['iter'] == ITERS
        assert probe['wrapper'] == 'MMSeparateDistributedDataParallel'
        children = probe['children']
        # the players are synchronised separately ...
        assert children['generator'] == 'MMDistributedDataParallel'
        assert children['discriminator'] == 'MMDistributedDataParallel'
        # ... the frozen body model and parameter-free parts are left alone
        assert children['body_model'] == 'SMPL'
        assert probe['body_model_frozen'] and probe['body_model_tensors'] > 0
        assert children['flow_composer'] == 'FlowComposer'
        assert children['data_preprocessor'] == 'LWGANDataPreprocessor'
        assert len(probe['samples']) == ITERS * 2  # batches of 2
    # each rank trained on its own half of the data ...
    assert not set(probes[0]['samples']) & set(probes[1]['samples'])
    # ... yet the weights agree: the gradients were all-reduced
    for key in ('generator', 'discriminator'):
        assert probes[0]['checksums'][key] == pytest.approx(
            probes[1]['checksums'][key], rel=1e-6)

    # rank 0 logged and saved; the checkpoint loads into a plain model
    records = H.read_scalars(work_dir)
    assert [r['step'] for r in records if 'loss' in r] == list(
        range(1, ITERS + 1))
    assert [r for r in records if 'PSNR' in r]  # validated at the end
    from mmlwgan.utils.checkpoint import load_checkpoint_tensors
    ckpt = load_checkpoint_tensors(osp.join(work_dir, f'iter_{ITERS}.pth'))
    state = ckpt['state_dict']
    assert not [k for k in state if '.module.' in k or
                k.startswith(('module.', 'body_model.'))]
    model = H.build_tiny_model(tiny_iper)
    model.load_state_dict(state, strict=True)
    checksum = float(sum(p.detach().double().abs().sum()
                         for p in model.generator.parameters()))
    assert checksum == pytest.approx(probes[0]['checksums']['generator'],
                                     rel=1e-6)
    for key in ('generator', 'discriminator'):
        steps = {float(s['step'])
                 for s in ckpt['optimizer'][key]['state'].values()}
        assert steps == {float(ITERS)}
    # grids written once (by rank 0)
    vis = sorted(os.listdir(osp.join(work_dir, 'vis')))
    assert vis == ['train_iter0000002.png', 'train_iter0000004.png',
                   f'val_iter{ITERS:07d}.png']

    # tools/dist_test.sh on the checkpoint: the metrics of a 2-process
    # evaluation are those of a single-process one
    ckpt_path = osp.join(work_dir, f'iter_{ITERS}.pth')
    out = str(tmp_path / 'dist_metrics.json')
    show_dir = str(tmp_path / 'dist_show')
    options = H.tiny_options(tiny_iper)
    env['PORT'] = str(H.free_port())
    cmd = ['bash', osp.join(H.ROOT, 'tools', 'dist_test.sh'), H.TINY_CONFIG,
           ckpt_path, str(WORLD_SIZE), '--work-dir',
           str(tmp_path / 'dist_test'), '--out', out, '--show-dir', show_dir
           ] + H.cfg_options_argv(options)
    proc = subprocess.run(cmd, env=env, cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:]
    with open(out) as f:
        dist_metrics = json.load(f)
    H.reset_history_buffer_statistics()
    single = H.load_tool('test').main(
        [H.TINY_CONFIG, ckpt_path, '--work-dir',
         str(tmp_path / 'single_test')] + H.cfg_options_argv(options))
    assert set(dist_metrics) == set(single)
    for key, value in single.items():
        assert dist_metrics[key] == pytest.approx(value, rel=1e-5), key
    # each rank drew its own batches (3 of the 5 targets each, padded):
    # rank-suffixed names, none overwritten
    assert sorted(os.listdir(show_dir)) == [
        f'test_batch{b:05d}_rank{r}.png' for b in range(2) for r in range(2)
    ]


def test_unwrapped_checkpoint_keys(tiny_iper):
    """Checkpoint keys do not depend on the DDP wrapping: saved unwrapped,
    loaded into either wrapping (also the ``generator.module.*`` files of
    runs made before the hook existed)."""
    from types import SimpleNamespace

    import torch
    import torch.distributed as dist
    from mmengine.model import MMSeparateDistributedDataParallel

    from mmlwgan.engine.hooks import (UnwrappedCheckpointHook,
                                      match_wrapper_keys, strip_wrapper_keys)
    plain = H.build_tiny_model(tiny_iper)
    plain_state = plain.state_dict()
    port = H.free_port()
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=0, world_size=1)
    try:
        model = H.build_tiny_model(tiny_iper)
        with torch.no_grad():  # other weights than ``plain``'s
            for p in model.parameters():
                p.add_(1.0)
        wrapper = MMSeparateDistributedDataParallel(model, device_ids=None)
        inner = wrapper.module
        assert type(inner.generator).__name__ == 'MMDistributedDataParallel'
        assert type(inner.body_model).__name__ == 'SMPL'  # frozen: unwrapped
        wrapped_state = inner.state_dict()
        assert any(k.startswith('generator.module.') for k in wrapped_state)

        # saving: the hook strips the wrappers' level
        runner = SimpleNamespace(model=wrapper)
        ckpt = dict(state_dict=wrapped_state)
        hook = UnwrappedCheckpointHook()
        hook.before_save_checkpoint(runner, ckpt)
        assert list(ckpt['state_dict']) == list(plain_state)
        assert strip_wrapper_keys(wrapped_state, ['generator', 'discriminator'
                                                  ]).keys() == ckpt[
                                                      'state_dict'].keys()
        # loading an unwrapped checkpoint into the wrapped model
        ckpt = dict(state_dict=plain_state)
        hook.after_load_checkpoint(runner, ckpt)
        inner.load_state_dict(ckpt['state_dict'], strict=True)
        key = next(k for k in plain_state if k.startswith('generator.'))
        wkey = key.replace('generator.', 'generator.module.', 1)
        assert torch.equal(inner.state_dict()[wkey], plain_state[key])
        # loading a wrapped (legacy) checkpoint into a plain model
        legacy = dict(state_dict={k: v + 2 for k, v in wrapped_state.items()})
        renamed = match_wrapper_keys(legacy['state_dict'], plain)
        plain.load_state_dict(renamed, strict=True)
        assert torch.equal(plain.state_dict()[key],
                           legacy['state_dict'][wkey])
    finally:
        dist.destroy_process_group()

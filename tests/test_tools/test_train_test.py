# Copyright (c) mmlwgan contributors. All rights reserved.
"""``tools/train.py`` and ``tools/test.py`` end to end on a tiny synthetic
iPER (CPU, 32 px, a model of width 4): falling losses, checkpoint contents,
resuming after a SIGKILL, the command-line flags, and the test tool's
metrics, dump and grids."""
import importlib.util
import json
import math
import os
import os.path as osp
import pickle
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch


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
TRAIN_ITERS = 40
CKPT_INTERVAL = 20


@pytest.fixture(scope='module')
def train_tool():
    return H.load_tool('train')


@pytest.fixture(scope='module')
def test_tool():
    return H.load_tool('test')


def load_ckpt(path: str) -> dict:
    from mmlwgan.utils.checkpoint import load_checkpoint_tensors
    return load_checkpoint_tensors(path)


build_tiny_model = H.build_tiny_model


@pytest.fixture(scope='module')
def trained(tiny_iper, tmp_path_factory, train_tool):
    """40 iterations of the tiny model (lr 1e-3, seed 0), checkpoints at 20
    and 40, validation at 40, in this process through ``main(argv)``."""
    work_dir = str(tmp_path_factory.mktemp('train') / 'work')
    options = H.tiny_options(tiny_iper, max_iters=TRAIN_ITERS,
                             ckpt_interval=CKPT_INTERVAL, lr=1e-3)
    H.reset_history_buffer_statistics()
    train_tool.main([H.TINY_CONFIG, '--work-dir', work_dir] +
                    H.cfg_options_argv(options))
    return work_dir


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------
def test_train_losses_fall(trained):
    records = H.read_scalars(trained)
    train = [r for r in records if 'loss' in r]
    assert [r['step'] for r in train] == list(range(1, TRAIN_ITERS + 1))
    for key in ('loss_rec', 'loss_tsf', 'loss_mask', 'loss_gan_g',
                'loss_gan_d_real', 'loss_gan_d_fake'):
        assert all(math.isfinite(r[key]) for r in train), key

    def mean(key, rows):
        return float(np.mean([r[key] for r in rows]))

    first, last = train[:5], train[-5:]
    # the reconstruction terms fall clearly (about 3.6 -> 1.8 with seed 0)
    for key in ('loss_rec', 'loss_tsf', 'loss_mask'):
        assert mean(key, last) < 0.75 * mean(key, first), (
            key, mean(key, first), mean(key, last))
    # so does the total (generator + discriminator), if less smoothly
    assert mean('loss', last) < 0.85 * mean('loss', first)
    # both optimizers' learning rates logged, constant (decay starts at 50)
    assert all(r['generator.lr'] == pytest.approx(1e-3) for r in train)
    assert all(r['discriminator.lr'] == pytest.approx(1e-3) for r in train)
    # the validation at the last iteration reports the image metrics
    val = [r for r in records if 'PSNR' in r]
    assert len(val) == 1
    assert -1 <= val[0]['SSIM'] <= 1
    assert 5 < val[0]['PSNR'] < 60
    assert 0 <= val[0]['MaskedL1'] <= 2


def test_train_checkpoints(trained, tiny_iper):
    files = sorted(f for f in os.listdir(trained) if f.endswith('.pth'))
    assert files == ['iter_20.pth', 'iter_40.pth']
    with open(osp.join(trained, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(trained, 'iter_40.pth')

    model = build_tiny_model(tiny_iper)
    for it in (CKPT_INTERVAL, TRAIN_ITERS):
        ckpt = load_ckpt(osp.join(trained, f'iter_{it}.pth'))
        assert {'meta', 'state_dict', 'optimizer', 'message_hub',
                'param_schedulers'} <= set(ckpt)
        assert ckpt['meta']['iter'] == it
        state = ckpt['state_dict']
        # the (licensed) body model never goes into a checkpoint
        assert not [k for k in state if k.startswith('body_model.')]
        # everything else the model has is there, and loads strictly
        expected = set(model.state_dict())
        assert set(state) == expected
        assert any(k.startswith('generator.') for k in state)
        assert any(k.startswith('discriminator.') for k in state)
        model.load_state_dict(state, strict=True)
        assert torch.equal(model.state_dict()[next(iter(expected))],
                           state[next(iter(expected))])

        # one optimizer per player, over exactly its parameters, each
        # stepped once per iteration
        optim = ckpt['optimizer']
        assert set(optim) == {'generator', 'discriminator'}
        for key in ('generator', 'discriminator'):
            n_params = len(list(getattr(model, key).parameters()))
            groups = optim[key]['param_groups']
            assert sum(len(g['params']) for g in groups) == n_params
            assert len(optim[key]['state']) == n_params
            steps = {float(s['step']) for s in optim[key]['state'].values()}
            assert steps == {float(it)}
        assert set(ckpt['param_schedulers']) == {'generator',
                                                 'discriminator'}
        # the message hub carries the logged losses for resuming
        hub = ckpt['message_hub']
        assert 'train/loss_rec' in hub['log_scalars']

    # the two checkpoints hold different weights (training went on)
    a = load_ckpt(osp.join(trained, 'iter_20.pth'))['state_dict']
    b = load_ckpt(osp.join(trained, 'iter_40.pth'))['state_dict']
    changed = [k for k in a if a[k].is_floating_point()
               and k.startswith(('generator.', 'discriminator.'))
               and not torch.equal(a[k], b[k])]
    assert len(changed) > 10


# ---------------------------------------------------------------------------
# resume after SIGKILL
# ---------------------------------------------------------------------------
def test_resume_after_kill(tiny_iper, tmp_path, train_tool):
    work_dir = str(tmp_path / 'work')
    os.makedirs(work_dir)
    interval = 4
    # a run far longer than the test: killed at its first checkpoint
    options = H.tiny_options(tiny_iper, max_iters=100000,
                             ckpt_interval=interval)
    log_path = str(tmp_path / 'killed.log')
    cmd = [H.PYTHON, osp.join(H.ROOT, 'tools', 'train.py'), H.TINY_CONFIG,
           '--work-dir', work_dir] + H.cfg_options_argv(options)
    marker = osp.join(work_dir, 'last_checkpoint')  # written after a save
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                env=H.subprocess_env(), cwd=H.ROOT)
        try:
            deadline = time.monotonic() + 120
            while not osp.isfile(marker):
                if proc.poll() is not None or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            alive = proc.poll() is None
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    with open(log_path) as f:
        log_text = f.read()
    assert alive and osp.isfile(marker), log_text[-3000:]
    assert proc.returncode == -signal.SIGKILL
    with open(marker) as f:
        killed_at = f.read().strip()
    k = int(re.fullmatch(r'iter_(\d+)\.pth', osp.basename(killed_at))[1])
    assert k % interval == 0 and k >= interval
    killed_ckpt = load_ckpt(killed_at)
    assert killed_ckpt['meta']['iter'] == k

    # resume from the work dir's latest checkpoint, 4 more iterations,
    # without validation
    max_iters = k + interval
    options = H.tiny_options(tiny_iper, max_iters=max_iters,
                             ckpt_interval=interval)
    H.reset_history_buffer_statistics()
    train_tool.main([H.TINY_CONFIG, '--work-dir', work_dir, '--resume',
                     '--no-validate'] + H.cfg_options_argv(options))

    run = H.run_dirs(work_dir)[-1]
    with open(osp.join(run, osp.basename(run) + '.log')) as f:
        resumed_log = f.read()
    assert 'Auto resumed from the latest checkpoint' in resumed_log
    assert f'resumed epoch: 0, iter: {k}' in resumed_log
    records = H.read_scalars(work_dir, last_only=True)
    steps = [r['step'] for r in records if 'loss' in r]
    assert steps == list(range(k + 1, max_iters + 1))
    assert not [r for r in records if 'PSNR' in r]  # --no-validate
    assert 'Iter(val)' not in resumed_log

    final = load_ckpt(osp.join(work_dir, f'iter_{max_iters}.pth'))
    assert final['meta']['iter'] == max_iters
    # Adam's step counts went on from the killed run's: both optimizer
    # states were restored
    for key in ('generator', 'discriminator'):
        steps = {float(s['step'])
                 for s in final['optimizer'][key]['state'].values()}
        assert steps == {float(max_iters)}, key
    # and training went on from the killed run's weights, not from scratch
    fresh = build_tiny_model(tiny_iper).state_dict()
    key = next(k_ for k_ in final['state_dict']
               if k_.startswith('generator.') and k_.endswith('weight'))
    d_killed = (final['state_dict'][key] - killed_ckpt['state_dict'][key])
    d_fresh = (final['state_dict'][key] - fresh[key])
    assert d_killed.abs().max() < d_fresh.abs().max()


# ---------------------------------------------------------------------------
# command-line flags (config merging)
# ---------------------------------------------------------------------------
def _merged(train_tool, *argv):
    from mmengine.config import Config
    args = train_tool.parse_args([H.TINY_CONFIG, *argv])
    return train_tool.merge_args(Config.fromfile(H.TINY_CONFIG), args), args


def test_train_flags(train_tool, tmp_path):
    cfg, args = _merged(train_tool)
    assert cfg.work_dir == osp.join(
        './work_dirs', 'lwgan_lwb-tiny_1xb4-300i_synthetic-64')
    assert cfg.launcher == 'none' and not cfg.resume
    assert cfg.optim_wrapper.generator.type == 'OptimWrapper'
    # multi-optimizer model: each sub-module gets its own DDP
    assert cfg.model_wrapper_cfg.type == 'MMSeparateDistributedDataParallel'
    assert cfg.val_cfg is not None and cfg.val_dataloader is not None

    # --amp switches BOTH wrappers, keeps their optimizers
    cfg, _ = _merged(train_tool, '--amp')
    for key in ('generator', 'discriminator'):
        sub = cfg.optim_wrapper[key]
        assert sub.type == 'AmpOptimWrapper'
        assert sub.loss_scale == 'dynamic'
        assert sub.optimizer.type == 'Adam' and sub.optimizer.lr == 1e-3
    assert cfg.optim_wrapper.constructor == 'MultiOptimWrapperConstructor'
    # ... which the constructor builds into AmpOptimWrapper objects (on CPU
    # AmpOptimWrapper refuses to be built: check the constructor's configs)
    from mmlwgan.engine import MultiOptimWrapperConstructor
    ow = dict(cfg.optim_wrapper)
    ow.pop('constructor')
    constructor = MultiOptimWrapperConstructor(ow)
    for key in ('generator', 'discriminator'):
        assert constructor.constructors[key].optim_wrapper_cfg[
            'type'] == 'AmpOptimWrapper'

    # --amp on a single-optimizer config
    from mmengine.config import Config
    single = Config(dict(optim_wrapper=dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    single = train_tool.merge_args(
        single, train_tool.parse_args(['x.py', '--amp']))
    assert single.optim_wrapper.type == 'AmpOptimWrapper'
    assert 'model_wrapper_cfg' not in single
    # --amp refuses wrappers it does not know
    odd = Config(dict(optim_wrapper=dict(
        type='ApexOptimWrapper', optimizer=dict(type='SGD', lr=0.1))))
    with pytest.raises(ValueError, match='--amp'):
        train_tool.merge_args(odd, train_tool.parse_args(['x.py', '--amp']))

    # --no-validate drops the whole validation
    cfg, _ = _merged(train_tool, '--no-validate')
    assert cfg.val_cfg is None and cfg.val_dataloader is None
    assert cfg.val_evaluator is None
    # ... whatever --cfg-options say about it
    cfg, _ = _merged(train_tool, '--no-validate', '--cfg-options',
                     'val_dataloader.batch_size=3', 'val_cfg.type=ValLoop')
    assert cfg.val_cfg is None and cfg.val_dataloader is None

    # --resume: no value = the work dir's latest, a value = that file
    cfg, args = _merged(train_tool, '--resume')
    assert args.resume == 'auto' and cfg.resume is True
    assert cfg.load_from is None
    cfg, _ = _merged(train_tool, '--resume', 'a/iter_8.pth')
    assert cfg.resume is True and cfg.load_from == 'a/iter_8.pth'

    # --auto-scale-lr, --work-dir, --launcher
    cfg, _ = _merged(train_tool, '--auto-scale-lr', '--work-dir',
                     str(tmp_path), '--launcher', 'pytorch')
    assert cfg.auto_scale_lr.enable is True
    assert cfg.auto_scale_lr.base_batch_size == 4
    assert cfg.work_dir == str(tmp_path) and cfg.launcher == 'pytorch'

    # --cfg-options win over the config (and over the flags' defaults),
    # with list indices and python literals
    cfg, _ = _merged(
        train_tool, '--amp', '--cfg-options',
        'optim_wrapper.generator.optimizer.lr=0.5',
        'optim_wrapper.discriminator.loss_scale=512.0',
        'train_dataloader.dataset.pipeline.1.scale=48',
        'model.discriminator.num_layers=2',
        'model_wrapper_cfg.find_unused_parameters=True',
        'train_cfg.max_iters=7')
    assert cfg.optim_wrapper.generator.optimizer.lr == 0.5
    assert cfg.optim_wrapper.discriminator.loss_scale == 512.0
    assert cfg.optim_wrapper.discriminator.type == 'AmpOptimWrapper'
    assert cfg.train_dataloader.dataset.pipeline[1].scale == 48
    assert cfg.model.discriminator.num_layers == 2
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.train_cfg.max_iters == 7
    # checkpoints are saved unwrapped (see UnwrappedCheckpointHook); the
    # hook is added once
    hooks = [h['type'] for h in cfg.custom_hooks]
    assert hooks == ['mmlwgan.UnwrappedCheckpointHook']
    cfg.custom_hooks = [dict(type='UnwrappedCheckpointHook')]
    train_tool.merge_args(cfg, train_tool.parse_args(['x.py']))
    assert len(cfg.custom_hooks) == 1
    # an explicit model wrapper is kept
    cfg, _ = _merged(train_tool, '--cfg-options',
                     'model_wrapper_cfg.type=MMDistributedDataParallel')
    assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'


def test_setup_cpu_distributed_config():
    """The CPU/gloo preparation of ``--launcher pytorch`` (config part; the
    real run is in test_dist_train.py)."""
    from mmengine.config import Config

    from mmlwgan.engine.dist_utils import setup_cpu_distributed
    cfg = Config(dict(launcher='none', env_cfg=dict(
        dist_cfg=dict(backend='nccl'))))
    assert setup_cpu_distributed(cfg) is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    if torch.cuda.is_available():
        cfg.launcher = 'pytorch'
        assert setup_cpu_distributed(cfg) is False
        return
    # the process group is initialised already: only the config changes
    import torch.distributed as dist
    port = H.free_port()
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=0, world_size=1)
    try:
        cfg = Config(dict(launcher='pytorch', env_cfg=dict(
            dist_cfg=dict(backend='nccl'))))
        with pytest.warns(UserWarning, match='gloo'):
            assert setup_cpu_distributed(cfg) is True
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg.type == 'MMDistributedDataParallel'
        assert cfg.model_wrapper_cfg.device_ids is None
        cfg = Config(dict(launcher='pytorch', model_wrapper_cfg=dict(
            type='MMSeparateDistributedDataParallel')))
        with pytest.warns(UserWarning, match='gloo'):
            assert setup_cpu_distributed(cfg) is True
        assert cfg.model_wrapper_cfg.device_ids is None
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    finally:
        dist.destroy_process_group()


# ---------------------------------------------------------------------------
# tools/test.py
# ---------------------------------------------------------------------------
def test_test_tool(trained, tiny_iper, tmp_path, test_tool):
    ckpt = osp.join(trained, f'iter_{TRAIN_ITERS}.pth')
    out = str(tmp_path / 'metrics.json')
    dump = str(tmp_path / 'preds.pkl')
    show_dir = str(tmp_path / 'show')
    options = H.tiny_options(tiny_iper)
    H.reset_history_buffer_statistics()
    metrics = test_tool.main(
        [H.TINY_CONFIG, ckpt, '--work-dir', str(tmp_path / 'work'), '--out',
         out, '--dump', dump, '--show-dir', show_dir] +
        H.cfg_options_argv(options))

    for key in ('SSIM', 'PSNR', 'MaskedL1', 'L1'):
        assert math.isfinite(metrics[key]), key
    assert -1 <= metrics['SSIM'] <= 1
    assert 5 < metrics['PSNR'] < 60
    assert 0 <= metrics['MaskedL1'] <= 2 and 0 <= metrics['L1'] <= 2
    with open(out) as f:
        written = json.load(f)
    assert written == pytest.approx({k: float(v) for k, v in metrics.items()})

    # the reported values are those of the dumped predictions: 5 targets
    # (frames 0, 2, 4, 6, 8 of the held-out actor's video)
    with open(dump, 'rb') as f:
        samples = pickle.load(f)
    assert len(samples) == 5
    assert sorted(s['tgt_frame_id'] for s in samples) == [0, 2, 4, 6, 8]
    psnrs, masked = [], []
    for s in samples:
        pred = s['pred_img'].float().clamp(-1, 1)
        gt = s['gt_img']
        gt = gt.float() / 127.5 - 1 if gt.dtype == torch.uint8 else gt
        mse = ((pred - gt) ** 2).mean()
        psnrs.append(float(10 * torch.log10(4 / mse)))
        mask = s['body_mask'].float()
        err = ((pred - gt).abs() * mask).sum() / (3 * mask.sum())
        masked.append(float(err))
    assert metrics['PSNR'] == pytest.approx(np.mean(psnrs), rel=1e-4)
    assert metrics['MaskedL1'] == pytest.approx(np.mean(masked), rel=1e-4)

    # the checkpoint was loaded: the dumped predictions are the trained
    # model's (recomputed here for the first test batch)
    from mmengine.dataset import pseudo_collate

    from mmlwgan.registry import DATASETS
    cfg = H.tiny_cfg(tiny_iper)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(dataset) == 5
    model = build_tiny_model(tiny_iper)
    model.load_state_dict(load_ckpt(ckpt)['state_dict'])
    model.eval()
    with torch.no_grad():
        preds = model.val_step(pseudo_collate([dataset[0], dataset[1]]))
    by_idx = {x['sample_idx']: x for x in samples}
    for i, p in enumerate(preds):
        torch.testing.assert_close(p.pred_img, by_idx[i]['pred_img'],
                                   atol=1e-5, rtol=1e-5)

    # one grid per test batch (batches of 2): source | target | warped |
    # prediction, 4 x 32 px wide
    pngs = sorted(os.listdir(show_dir))
    assert pngs == [f'test_batch{i:05d}.png' for i in range(3)]
    heights = []
    for name in pngs:
        img = cv2.imread(osp.join(show_dir, name))
        assert img.shape[1] == 4 * H.IMAGE_SIZE
        heights.append(img.shape[0])
    assert heights == [2 * H.IMAGE_SIZE, 2 * H.IMAGE_SIZE, H.IMAGE_SIZE]
    # the prediction tiles are the dumped predictions (2nd row of batch 0:
    # no caption drawn over it)
    grid = cv2.cvtColor(cv2.imread(osp.join(show_dir, pngs[0])),
                        cv2.COLOR_BGR2RGB)
    s = H.IMAGE_SIZE
    by_frame = {x['tgt_frame_id']: x for x in samples}
    second = by_frame[2]
    pred = ((second['pred_img'].float().clamp(-1, 1) + 1) * 127.5 + 0.5)
    pred = pred.to(torch.uint8).permute(1, 2, 0).numpy()
    tile = grid[s:2 * s, 3 * s:4 * s].astype(int)
    assert np.abs(tile - pred.astype(int)).max() <= 1


def test_safe_loader_keeps_history_buffer_statistics(trained):
    """mmengine pickles HistoryBuffer's statistics methods into every message
    hub; the safe loader must restore them, or the LoggerHook breaks after
    --resume / load_from / init_model."""
    from mmengine.logging import HistoryBuffer
    H.reset_history_buffer_statistics()
    ckpt = load_ckpt(osp.join(trained, f'iter_{CKPT_INTERVAL}.pth'))
    # the message hub itself comes back
    assert ckpt['message_hub']['log_scalars']['train/loss_rec'].mean() > 0
    assert HistoryBuffer([1.0, 2.0, 3.0], [1, 1, 1]).statistics('mean') == 2.0


def test_test_tool_missing_checkpoint(test_tool, tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        test_tool.main([H.TINY_CONFIG, str(tmp_path / 'nope.pth')])

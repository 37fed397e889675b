# Copyright (c) mmlwgan contributors. All rights reserved.
"""Shared fixtures of the tool tests: a tiny synthetic iPER dataset and the
``--cfg-options`` that point the tiny LWB config at it and shrink it.

The tiny config (``configs/lwgan/lwgan_lwb-tiny_1xb4-300i_synthetic-64.py``)
is shrunk to a 32 px model of width 4 with 2 downsamplings and 1 residual
block, batches of 2, no DataLoader workers, logging every iteration, so a
training iteration takes a few tens of milliseconds on one CPU thread.

``conftest`` is not an importable name (each test folder may have one): test
modules load the helpers below with :func:`importlib` under the name
``mmlwgan_tools_helpers`` (see ``helpers()`` in the test modules).
"""
import importlib.util
import json
import os
import os.path as osp
import socket
import sys
import uuid
from typing import Dict, List, Optional

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TINY_CONFIG = osp.join(ROOT, 'configs', 'lwgan',
                       'lwgan_lwb-tiny_1xb4-300i_synthetic-64.py')
#: the bundled demo model's config (its checkpoint is
#: demo/checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth)
BUNDLED_CONFIG = osp.join(ROOT, 'configs', 'lwgan',
                          'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py')
PYTHON = sys.executable
IMAGE_SIZE = 32
TINY_DATA = dict(num_actors=2, num_clothes=1, num_actions=1, num_frames=10,
                 image_size=IMAGE_SIZE, seed=0)


@pytest.fixture
def gbg_whole_config(tmp_path) -> str:
    """The bundled model's config with G_BG's whole picture as background
    (``bg_fill_hole_only`` off), so that the background choices differ."""
    path = tmp_path / 'gbg_whole.py'
    path.write_text(f'_base_ = [{BUNDLED_CONFIG!r}]\n'
                    'model = dict(bg_fill_hole_only=False)\n')
    return str(path)


def reset_history_buffer_statistics() -> None:
    """Put mmengine's ``HistoryBuffer`` statistics methods back.

    They live in a class-level dict that unpickling a message hub updates;
    ``mmlwgan.utils.checkpoint``'s allow-list unpickler puts inert
    placeholders there (see ``test_safe_loader_keeps_history_buffer_
    statistics``), which breaks every later log of the process. In-process
    runs call this first so that one test's checkpoint loads do not break
    another's logging.
    """
    from mmengine.logging import HistoryBuffer
    for name in ('min', 'max', 'current', 'mean'):
        HistoryBuffer._statistics_methods[name] = getattr(HistoryBuffer, name)


@pytest.fixture(autouse=True)
def _clean_history_buffer_statistics():
    """Leave mmengine's HistoryBuffer as found (see above)."""
    yield
    reset_history_buffer_statistics()


def load_tool(name: str):
    """Import ``tools/<name>.py`` as a module (the tools are no package)."""
    path = osp.join(ROOT, 'tools', f'{name}.py')
    spec = importlib.util.spec_from_file_location(f'mmlwgan_tool_{name}',
                                                  path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def tiny_iper(tmp_path_factory) -> str:
    """A synthetic iPER of 2 actors x 1 cloth x 1 action x 10 frames at
    32 px (train: actor 001, val: actor 002), made once per session.

    The folder is fixed under the session's base temp dir, so modules that
    re-export this fixture (``tests/test_engine``) share it: the generator
    skips the videos already written.
    """
    from mmlwgan.synthetic.iper import make_synthetic_iper
    out = str(tmp_path_factory.getbasetemp() / 'tiny_iper' / 'data')
    make_synthetic_iper(out, **TINY_DATA)
    return out


def tiny_options(data_root: str,
                 max_iters: int = 4,
                 ckpt_interval: Optional[int] = None,
                 val_interval: Optional[int] = None,
                 vis_interval: int = 0,
                 lr: float = 1e-3,
                 seed: int = 0,
                 extra: Optional[Dict[str, object]] = None
                 ) -> Dict[str, object]:
    """Config overrides (key -> value) that point the tiny config at
    ``data_root`` and shrink model, data and schedule (for the command line:
    :func:`cfg_options_argv`; in-process: :func:`tiny_cfg`).

    Args:
        data_root (str): a synthetic iPER folder (``tiny_iper``).
        max_iters (int): training iterations.
        ckpt_interval (int, optional): checkpoint interval (default
            ``max_iters``); all checkpoints are kept.
        val_interval (int, optional): validation interval (default
            ``max_iters``).
        vis_interval (int): training-grid interval of the visualisation hook
            (0: none).
        lr (float): learning rate of both optimizers (constant: the decay of
            the config starts after ``max_iters``).
        seed (int): ``randomness.seed``.
        extra (dict, optional): more overrides (they win).
    """
    opts = {}
    for split in ('train', 'val', 'test'):
        pre = f'{split}_dataloader'
        opts[f'{pre}.dataset.data_root'] = data_root
        opts[f'{pre}.dataset.pipeline.1.scale'] = IMAGE_SIZE
        opts[f'{pre}.batch_size'] = 2
        opts[f'{pre}.num_workers'] = 0
        opts[f'{pre}.persistent_workers'] = False
    # 100 training pairs (the same ones each epoch: mmengine's infinite
    # iterator sleeps 2 s at every epoch end); 2 val / 5 test targets
    opts['train_dataloader.dataset.pairs_per_video'] = 100
    opts['train_dataloader.dataset.seed'] = seed
    opts['val_dataloader.dataset.test_interval'] = 5
    opts['test_dataloader.dataset.test_interval'] = 2
    opts['model.body_model.model_path'] = osp.join(data_root,
                                                   'smpl_model.npz')
    opts['model.rasterizer.image_size'] = IMAGE_SIZE
    for net in ('bg_net', 'src_net', 'tsf_net'):
        opts[f'model.generator.{net}.base_channels'] = 4
        opts[f'model.generator.{net}.num_downs'] = 2
        opts[f'model.generator.{net}.num_blocks'] = 1
    opts['model.discriminator.base_channels'] = 4
    opts['model.discriminator.num_layers'] = 2
    for key in ('generator', 'discriminator'):
        opts[f'optim_wrapper.{key}.optimizer.lr'] = lr
    opts['train_cfg.max_iters'] = max_iters
    opts['train_cfg.val_interval'] = val_interval or max_iters
    opts['default_hooks.logger.interval'] = 1
    opts['default_hooks.checkpoint.interval'] = ckpt_interval or max_iters
    opts['default_hooks.checkpoint.max_keep_ckpts'] = -1
    opts['default_hooks.visualization.interval'] = vis_interval
    opts['log_processor.window_size'] = 1
    opts['randomness.seed'] = seed
    opts['env_cfg.dist_cfg.backend'] = 'gloo'
    # runners built in one process must not share a message hub / visualizer
    # (mmengine names them after the config and the second of the start)
    opts['experiment_name'] = f'tiny_{uuid.uuid4().hex[:12]}'
    if extra:
        opts.update(extra)
    return opts


def cfg_options_argv(options: Dict[str, object]) -> List[str]:
    """``['--cfg-options', 'k=v', ...]`` for ``tools/train.py`` /
    ``tools/test.py``."""
    return ['--cfg-options'] + [f'{k}={v}' for k, v in options.items()]


def tiny_cfg(data_root: str, **kwargs):
    """The tiny config with :func:`tiny_options` merged (an mmengine
    ``Config``)."""
    from mmengine.config import Config
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.merge_from_dict(tiny_options(data_root, **kwargs))
    return cfg


def build_tiny_model(data_root: str):
    """The (shrunk) LiquidWarpingGAN of the tiny config, on CPU."""
    from mmlwgan.registry import MODELS
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    return MODELS.build(tiny_cfg(data_root).model)


def run_dirs(work_dir: str) -> List[str]:
    """The timestamp folders of the runs in ``work_dir``, oldest first."""
    return sorted(
        osp.join(work_dir, d) for d in os.listdir(work_dir)
        if osp.isdir(osp.join(work_dir, d, 'vis_data')))


def read_scalars(work_dir: str, last_only: bool = False) -> List[dict]:
    """The records of the ``vis_data/scalars.json`` files of ``work_dir``:
    of every run (in time order), or of the last one."""
    records = []
    runs = run_dirs(work_dir)
    if last_only:
        runs = runs[-1:]
    for run in runs:
        if not osp.isfile(osp.join(run, 'vis_data', 'scalars.json')):
            continue
        with open(osp.join(run, 'vis_data', 'scalars.json')) as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return records


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def subprocess_env(**extra) -> dict:
    """The environment of a tool subprocess: one thread per process, the
    repository importable, this interpreter first on ``PATH`` (the shell
    launchers call ``python``), no CUDA."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1',
               CUDA_VISIBLE_DEVICES='',
               PATH=os.pathsep.join([osp.dirname(PYTHON),
                                     env.get('PATH', '')]),
               PYTHONPATH=os.pathsep.join(
                   [ROOT] + ([env['PYTHONPATH']] if env.get('PYTHONPATH')
                             else [])))
    env.update({k: str(v) for k, v in extra.items()})
    return env

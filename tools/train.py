# Copyright (c) mmlwgan contributors. All rights reserved.
"""Train a Liquid Warping GAN model (mmpose's flags).

Examples:
    # the tiny model on the synthetic data, on CPU in minutes (make the
    # data first: python tools/dataset_converters/make_synthetic_iper.py
    # --out data/synthetic_iper)
    python tools/train.py \\
        configs/lwgan/lwgan_lwb-tiny_1xb4-300i_synthetic-64.py \\
        --work-dir work_dirs/lwgan_tiny
    python tools/train.py configs/lwgan_iper.py --work-dir work_dirs/lwgan
    python tools/train.py CONFIG --resume            # latest checkpoint of the work dir
    python tools/train.py CONFIG --resume work_dirs/lwgan/iter_8000.pth
    python tools/train.py CONFIG --amp --cfg-options train_dataloader.batch_size=2

On an error (a missing file or dataset, a typo in the config, an unreadable
checkpoint) prints one ``error:`` line on stderr and exits with status 1;
what the failed run created in the work dir is removed unless training had
started (``--debug``: the full traceback).
"""
import argparse
import os
import os.path as osp
import sys
import zipfile

from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a model',
        epilog='examples:' + __doc__.split('Examples:')[1].split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from a checkpoint; without a value, from the latest '
        'checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='automatic mixed precision for every optimizer '
                        'wrapper (generator and discriminator)')
    parser.add_argument('--no-validate', action='store_true',
                        help='do not evaluate checkpoints during training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate with the batch size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value (xxx=yyy format)')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    from mmlwgan.utils.cli import add_debug_arg
    add_debug_arg(parser)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _amp(wrapper_cfg: dict) -> None:
    """Switch one optimizer-wrapper config to AmpOptimWrapper."""
    if wrapper_cfg.get('type', 'OptimWrapper') == 'AmpOptimWrapper':
        return
    if wrapper_cfg.get('type', 'OptimWrapper') != 'OptimWrapper':
        raise ValueError('--amp only switches OptimWrapper configs, got '
                         f"{wrapper_cfg.get('type')}")
    wrapper_cfg['type'] = 'AmpOptimWrapper'
    wrapper_cfg.setdefault('loss_scale', 'dynamic')


def merge_args(cfg: Config, args) -> Config:
    """Merge command-line arguments into the config."""
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.launcher = args.launcher
    if (cfg.get('model_wrapper_cfg', None) is None and isinstance(
            cfg.get('optim_wrapper', None), dict)
            and 'constructor' in cfg.optim_wrapper):
        # One optimizer per sub-module (G and D): the default
        # MMDistributedDataParallel would bypass the model's own train_step
        # (its optim_context fails on an OptimWrapperDict) and sync G and D
        # as one module; wrap each sub-module separately instead.
        cfg.model_wrapper_cfg = dict(
            type='MMSeparateDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    if args.amp:
        optim_wrapper = cfg.optim_wrapper
        if 'constructor' in optim_wrapper:  # one wrapper per sub-module
            for key, sub in optim_wrapper.items():
                if isinstance(sub, dict) and ('optimizer' in sub
                                              or 'type' in sub):
                    _amp(sub)
        else:
            _amp(optim_wrapper)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=4))
        cfg.auto_scale_lr.enable = True
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # checkpoints keyed as the unwrapped model's, whatever the DDP wrapping
    from mmlwgan.engine.hooks import add_unwrapped_checkpoint_hook
    add_unwrapped_checkpoint_hook(cfg)
    if args.no_validate:
        # after --cfg-options: overrides of val_dataloader.* (shared option
        # lists for train and test runs) must not resurrect a half config
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    return cfg


def check_resume_file(path: str) -> None:
    """Fail early, in one line, on a ``--resume`` checkpoint that is
    missing, empty or cut short (torch checkpoints are zip files whose
    directory is at the end)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'--resume checkpoint {path!r} does not '
                                'exist')
    if osp.getsize(path) == 0:
        raise ValueError(f'--resume checkpoint {path!r} is empty (0 bytes)')
    with open(path, 'rb') as f:
        is_zip_start = f.read(4) == b'PK\x03\x04'
    if is_zip_start and not zipfile.is_zipfile(path):
        raise ValueError(
            f'--resume checkpoint {path!r} is truncated or corrupt (its zip '
            'directory is missing: was it cut short by a full disk or a '
            'killed copy?); resume from an earlier checkpoint')


def load_config(path: str) -> Config:
    """``Config.fromfile`` with a one-line error for a missing file."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} does not exist')
    return Config.fromfile(path)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config)
    cfg = merge_args(cfg, args)
    if args.resume not in (None, 'auto'):
        check_resume_file(args.resume)
    elif args.resume == 'auto':  # mmengine resumes from `last_checkpoint`
        last = osp.join(cfg.work_dir, 'last_checkpoint')
        if osp.isfile(last):
            with open(last) as f:
                path = f.read().strip()
            if path and osp.isfile(path):
                check_resume_file(path)
    from mmlwgan.engine.dist_utils import setup_cpu_distributed
    from mmlwgan.utils import register_all_modules
    from mmlwgan.utils.cli import nothing_left_on_failure
    register_all_modules(init_default_scope=False)
    # --launcher pytorch without CUDA: gloo process group, CPU DDP wrappers
    setup_cpu_distributed(cfg)
    # a run that fails before training starts leaves nothing in the work
    # dir (one process: ranks of a distributed run would race)
    with nothing_left_on_failure(cfg.work_dir if args.launcher == 'none'
                                 else None):
        runner = Runner.from_cfg(cfg)
        runner.train()
    from mmlwgan.engine.dist_utils import shutdown_distributed
    shutdown_distributed()


def cli(argv=None) -> int:
    """The command line: :func:`main`, with one ``error:`` line on stderr
    and exit status 1 on a failure (``--debug``: the traceback)."""
    from mmlwgan.utils.cli import run_main
    argv = sys.argv[1:] if argv is None else list(argv)
    rc = run_main(lambda: main(argv), debug='--debug' in argv)
    return rc if isinstance(rc, int) else 0


if __name__ == '__main__':
    sys.exit(cli())

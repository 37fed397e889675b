# Copyright (c) mmlwgan contributors. All rights reserved.
"""Evaluate a checkpoint (e.g. the iPER self-imitation protocol).

Example:
    python tools/test.py configs/lwgan_iper.py work_dirs/lwgan/epoch_30.pth
    python tools/test.py CONFIG CKPT --out results.json --show-dir vis
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument('--out', help='write the metrics to this json file')
    parser.add_argument('--dump', help='dump predictions to a pickle file')
    parser.add_argument('--show-dir', help='save source | target | warped | '
                        'prediction grids to this dir')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of the config, key=value (xxx=yyy format)')
    parser.add_argument('--launcher',
                        choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg.load_from = args.checkpoint
    cfg.launcher = args.launcher
    if args.show_dir:
        cfg.default_hooks.setdefault('visualization', dict(
            type='LWGANVisualizationHook'))
        cfg.default_hooks.visualization.update(
            enable_test=True, out_dir=args.show_dir)
    if args.dump:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError('--dump should be a .pkl file')
        cfg.test_evaluator = list(cfg.test_evaluator) if isinstance(
            cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
        cfg.test_evaluator.append(dict(type='DumpResults',
                                       out_file_path=args.dump))
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    # checkpoints keyed as the unwrapped model's, whatever the DDP wrapping
    from mmlwgan.engine.hooks import add_unwrapped_checkpoint_hook
    add_unwrapped_checkpoint_hook(cfg)
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    from mmlwgan.engine.dist_utils import setup_cpu_distributed
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    # --launcher pytorch without CUDA: gloo process group, CPU DDP wrappers
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    from mmengine.dist import is_main_process
    if args.out and is_main_process():  # every rank has the metrics
        from mmlwgan.utils import atomic_path
        with atomic_path(args.out) as tmp, open(tmp, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    from mmlwgan.engine.dist_utils import shutdown_distributed
    shutdown_distributed()
    return metrics


if __name__ == '__main__':
    main()

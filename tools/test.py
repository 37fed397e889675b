# Copyright (c) mmlwgan contributors. All rights reserved.
"""Evaluate a checkpoint (e.g. the iPER self-imitation protocol).

Examples:
    python tools/test.py configs/lwgan_iper.py work_dirs/lwgan/epoch_30.pth
    python tools/test.py CONFIG CKPT --out results.json --show-dir vis
    # a model trained with tools/train.py on the synthetic data
    python tools/test.py \\
        configs/lwgan/lwgan_lwb-tiny_1xb4-300i_synthetic-64.py \\
        work_dirs/lwgan_tiny/iter_300.pth --out work_dirs/lwgan_tiny/test.json

The checkpoint must fit the config's model exactly (the first mismatching
keys are named otherwise). On an error prints one ``error:`` line on stderr
and exits with status 1, leaving no partial output (``--debug``: the full
traceback).
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.runner import Runner


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Evaluate a model',
        epilog='examples:' + __doc__.split('Examples:')[1].split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
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
    from mmlwgan.utils.cli import add_debug_arg
    add_debug_arg(parser)
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
    # loaded strictly by main() (load_strict): mmengine's load_from only
    # logs missing / unexpected keys and tests a partly random model
    cfg.load_from = None
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


def load_strict(runner: Runner, checkpoint: str, config: str) -> None:
    """Load ``checkpoint`` into the runner's model; every tensor of the
    model must be in it with its shape (the body model, HMR, the loss
    networks and the discriminator, which checkpoints may leave out and
    testing does not need, excepted).

    Raises:
        CheckpointMismatchError: the first missing / unexpected keys and
            shape mismatches are named.
    """
    from mmengine.model import is_model_wrapper

    from mmlwgan.apis.inference import load_model_weights
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    load_model_weights(model, checkpoint, where=f'config {config!r}')


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file {args.config!r} does not exist')
    cfg = merge_args(Config.fromfile(args.config), args)
    if args.out:
        from mmlwgan.utils import check_output_dir
        check_output_dir(osp.dirname(osp.abspath(args.out)),
                         'folder of --out')
    from mmlwgan.engine.dist_utils import setup_cpu_distributed
    from mmlwgan.utils import register_all_modules
    from mmlwgan.utils.cli import nothing_left_on_failure
    register_all_modules(init_default_scope=False)
    # --launcher pytorch without CUDA: gloo process group, CPU DDP wrappers
    setup_cpu_distributed(cfg)
    single = args.launcher == 'none'
    # a failed run leaves no log folder, grids or dump behind
    with nothing_left_on_failure(*((cfg.work_dir, args.show_dir, args.dump)
                                   if single else ())):
        runner = Runner.from_cfg(cfg)
        load_strict(runner, args.checkpoint, args.config)
        metrics = runner.test()
    from mmengine.dist import is_main_process
    if args.out and is_main_process():  # every rank has the metrics
        from mmlwgan.utils import atomic_path
        with atomic_path(args.out) as tmp, open(tmp, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
    from mmlwgan.engine.dist_utils import shutdown_distributed
    shutdown_distributed()
    return metrics


def cli(argv=None) -> int:
    """The command line: :func:`main`, with one ``error:`` line on stderr
    and exit status 1 on a failure (``--debug``: the traceback)."""
    from mmlwgan.utils.cli import run_main
    argv = sys.argv[1:] if argv is None else list(argv)
    rc = run_main(lambda: main(argv), debug='--debug' in argv)
    return rc if isinstance(rc, int) else 0


if __name__ == '__main__':
    sys.exit(cli())

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Training benchmark: training iterations/s, personalisation time and peak
memory, and the lite generator's fidelity.

* ``--train``: iterations/s of training configs (a generator and a
  discriminator step with the config's losses and optimisers; on CUDA under
  ``AmpOptimWrapper`` at the first ``--amp`` precision) on synthetic
  batches, with the peak memory;
* ``--personalize``: personalisation (test-time fine-tuning of the
  generator, gradient checkpointing, :func:`mmlwgan.apis.personalize`)
  seconds per step and peak memory (CPU: the process's peak RSS, reset
  before the run; CUDA: ``torch.cuda.max_memory_allocated``);
* ``--fidelity``: trains the tiny LWB and tiny lite configs with the recipe
  of ``benchmark_ablations.py`` (same data, budget and seed) and compares
  their SSIM / PSNR / L1 on held-out self-imitation pairs (tens of minutes
  on a CPU; what the lite generator's speed costs in quality).

Without any of the three it runs ``--train`` and ``--personalize``.
Networks are randomly initialised (speed does not depend on the weights);
the body is the synthetic SMPL-format one. Motion-imitation frames/s is
``benchmark_inference.py``'s; what both share is in ``benchmark_utils.py``.

Examples:
    # CPU: the tiny LWB and lite configs' it/s, personalisation at 64 px
    python tools/analysis_tools/benchmark_training.py
    # GPU: training it/s, personalisation of the full generator at 512 px
    python tools/analysis_tools/benchmark_training.py --device cuda \\
        --train --personalize
    # fidelity of the lite generator (trains two tiny models)
    python tools/analysis_tools/benchmark_training.py --fidelity --iters 300
"""
import contextlib
import gc
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Dict

# the sibling modules (benchmark_utils, benchmark_ablations), also when
# this file is loaded by path (tests); benchmark_utils first: it sets
# OMP_WAIT_POLICY before torch is loaded
HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from benchmark_utils import (  # noqa: E402
    GENERATORS, ROOT, PeakMemory, add_common_args, build_inferencer,
    cuda_missing, finish_args, make_inputs, make_parser, print_end,
    print_goals, setup, sync)

import torch  # noqa: E402


# ----------------------------------------------------------------------
# training and personalisation
# ----------------------------------------------------------------------
def bench_train(args, device: torch.device, smpl_path: str) -> None:
    """Training iterations/s of configs (G and D step, the config's
    losses and optimisers) on synthetic batches."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    from mmlwgan.registry import MODELS
    from mmlwgan.synthetic.batch import make_synthetic_batch
    from mmlwgan.visualization import BodyRenderer
    print(f'\ntraining ({device.type}): iterations/s, batch '
          f'{args.train_batch}, synthetic data, best of {args.train_iters} '
          f'iterations after 1 warm-up')
    for cfg_path in args.train_configs:
        cfg = Config.fromfile(osp.join(ROOT, cfg_path) if not osp.isabs(
            cfg_path) else cfg_path)
        cfg.model.body_model.model_path = smpl_path
        size = args.train_size or cfg.model.rasterizer.image_size
        cfg.model.rasterizer.image_size = size
        enc = cfg.model.get('cond_encoder')
        if enc is not None and not osp.isfile(str(enc.get('uv_mapping'))):
            # the synthetic body has its own UV per face
            cfg.model.cond_encoder = None
        for key in ('perceptual_loss', 'face_loss'):
            loss = cfg.model.get(key)
            if loss is not None and loss.get('type') in (
                    'PerceptualLoss', 'FaceIdentityLoss'):
                # pretrained feature networks: random ones cost the same
                loss.setdefault('pretrained', None)
        torch.manual_seed(0)
        with contextlib.redirect_stdout(None):
            model = MODELS.build(cfg.model).to(device)
        optim_cfg = cfg.optim_wrapper.copy()
        if device.type == 'cuda' and args.amp_list(device) != ['none']:
            dt = args.amp_list(device)[0]
            for k in ('generator', 'discriminator'):
                if k in optim_cfg:
                    optim_cfg[k]['type'] = 'AmpOptimWrapper'
                    optim_cfg[k]['dtype'] = 'bfloat16' if dt == 'bf16' \
                        else 'float16'
        from mmengine.registry import DefaultScope
        with DefaultScope.overwrite_default_scope('mmlwgan'):
            optim = build_optim_wrapper(model, optim_cfg)
        renderer = BodyRenderer(dict(type='SMPL', model_path=smpl_path),
                                image_size=size)
        data = make_synthetic_batch(renderer, args.train_batch, 1)
        model.train()
        times = []
        with PeakMemory(device) as pm:
            for i in range(args.train_iters + 1):
                sync(device)
                t = time.perf_counter()
                model.train_step(data, optim)
                sync(device)
                if i:
                    times.append(time.perf_counter() - t)
        print(f'{osp.basename(cfg_path):<52} {size:>4} px  '
              f'{1 / min(times):8.2f} it/s  ({min(times):.3f} s/it, peak '
              f'{pm.mib:.0f} MiB)')
        del model, optim
        gc.collect()


def bench_personalize(args, device: torch.device, smpl_path: str,
                      tmp: str) -> Dict[int, float]:
    """Personalisation (test-time fine-tuning of the generator, gradient
    checkpointing) seconds per step and peak memory."""
    from mmlwgan.apis import personalize
    sizes = args.personalize_sizes or ([512] if device.type == 'cuda' else
                                       [64])
    out = {}
    print(f'\npersonalisation ({device.type}, {args.personalize_model} '
          f'generator, {args.personalize_steps} step(s), 1 pseudo-pair, '
          'grad_checkpoint=True; the time includes making the pair)')
    for size in sizes:
        ins = make_inputs(smpl_path, size, 1, tmp)
        inf = build_inferencer(args.personalize_model, size, smpl_path,
                               device)
        imgs = inf.to_tensor([ins['src_img']])
        theta = torch.from_numpy(ins['src_theta']).to(device)
        if device.type == 'cuda':  # cuDNN algorithm search
            personalize(inf.model, imgs, theta, steps=1, num_pairs=1,
                        grad_checkpoint=True)
        gc.collect()
        with PeakMemory(device) as pm:
            sync(device)
            t = time.perf_counter()
            personalize(inf.model, imgs, theta,
                        steps=args.personalize_steps, num_pairs=1,
                        grad_checkpoint=True)
            sync(device)
            dt = time.perf_counter() - t
        out[size] = pm.mib
        print(f'{size:>5} px  {dt / args.personalize_steps:8.2f} s/step  '
              f'peak {pm.mib:8.0f} MiB'
              + ('' if pm.resettable else ' (process lifetime peak)'))
        del inf
        gc.collect()
        if device.type == 'cuda':
            torch.cuda.empty_cache()
    return out


# ----------------------------------------------------------------------
# fidelity of the lite generator (synthetic benchmark)
# ----------------------------------------------------------------------
def bench_fidelity(args) -> Dict[str, Dict[str, float]]:
    """Train the tiny LWB and tiny lite configs with the recipe of
    ``benchmark_ablations.py`` (same data, budget and seed) and evaluate
    both on the held-out self-imitation pairs."""
    import argparse as _ap

    import benchmark_ablations as ba
    from mmengine.config import Config

    from mmlwgan.registry import MODELS
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    ba.METHODS.setdefault('lite', 'LWB-lite')
    if args.nice:
        os.nice(args.nice)
    data_root = osp.abspath(args.data_root)
    ba.ensure_data(data_root, _ap.Namespace(actors=4, frames=60))
    results: Dict[str, Dict[str, float]] = {}
    info = {}
    # the lite one first: a --lwb-ckpt being trained elsewhere may be
    # ready by then
    for method in ('lite', 'lwb'):
        ckpt = args.lwb_ckpt if method == 'lwb' else None
        if not ckpt or not osp.isfile(ckpt):
            ckpt = ba.train(method, osp.join(args.fidelity_dir, method),
                            data_root, args.iters)
        results.update(ba.evaluate(method, ckpt, data_root,
                                   args.test_interval, baselines=False))
        cfg = Config.fromfile(ba.config_of(method))
        with torch.device('meta'):
            gen = MODELS.build(cfg.model.generator)
        info[ba.METHODS[method]] = (
            sum(p.numel() for p in gen.tsf_net.parameters()),
            sum(p.numel() for p in gen.parameters()), ckpt)
    print(f'\nfidelity on the synthetic benchmark: self-imitation on '
          f'held-out synthetic videos, {args.iters} training iterations '
          f'each, 64 px, data {data_root}')
    print('| generator | G_TSF params | all params | SSIM (up) | PSNR (up) '
          '| masked L1 (down) | L1 (down) |')
    print('|---|---|---|---|---|---|---|')
    for name in ('LWB', 'LWB-lite'):
        tsf, total, ckpt = info[name]
        r = results[name]
        print(f"| {name} | {tsf:,} | {total:,} | {r['SSIM']:.3f} | "
              f"{r['PSNR']:.2f} | {r['MaskedL1']:.4f} | {r['L1']:.4f} |")
    for name, (_, _, ckpt) in info.items():
        print(f'{name}: {ckpt}')
    return results


# ----------------------------------------------------------------------
# goals
# ----------------------------------------------------------------------
def goal_lines(personalization: Dict[str, Dict[int, float]]) -> list:
    """The training goals this run measured."""
    lines = []
    p = personalization.get('cuda', {}).get(512)
    if p is not None:
        lines.append(f'GPU personalisation 512 px: peak {p / 1024:.2f} GiB '
                     f"(goal <= 8: {'met' if p <= 8192 else 'NOT met'})")
    return lines


# ----------------------------------------------------------------------
def parse_args(argv=None):
    parser = make_parser(__doc__)
    add_common_args(parser, '--train on CUDA: the AmpOptimWrapper '
                    'precision (the first given; default bf16; none: '
                    'fp32); ignored on the CPU')
    parser.add_argument('--train', action='store_true',
                        help='measure training iterations/s')
    parser.add_argument('--train-configs', nargs='+', default=[
        'configs/lwgan/lwgan_lwb-tiny_1xb4-300i_synthetic-64.py',
        'configs/lwgan/lwgan_lite-tiny_1xb4-300i_synthetic-64.py'
    ], help='--train: configs (relative to the repository or absolute)')
    parser.add_argument('--train-size', type=int, default=None,
                        help='image size of training (default: config)')
    parser.add_argument('--train-batch', type=int, default=4)
    parser.add_argument('--train-iters', type=int, default=3,
                        help='--train: timed iterations (best kept)')
    parser.add_argument('--personalize', action='store_true',
                        help='measure personalisation')
    parser.add_argument('--personalize-model', default='full',
                        choices=GENERATORS)
    parser.add_argument('--personalize-sizes', type=int, nargs='+',
                        default=None,
                        help='default: 512 on CUDA, 64 on CPU')
    parser.add_argument('--personalize-steps', type=int, default=2)
    parser.add_argument('--fidelity', action='store_true',
                        help='train the tiny LWB and lite configs with the '
                        'ablation recipe and compare their fidelity '
                        '(tens of minutes on a CPU)')
    parser.add_argument('--iters', type=int, default=300,
                        help='--fidelity: training iterations of each')
    parser.add_argument('--data-root', default=osp.join(
        ROOT, 'data', 'synthetic_iper'), help='--fidelity: dataset')
    parser.add_argument('--test-interval', type=int, default=8,
                        help='--fidelity: every k-th validation frame')
    parser.add_argument('--fidelity-dir', default=osp.join(
        ROOT, 'work_dirs', 'lite_fidelity'), help='--fidelity: work dir')
    parser.add_argument('--lwb-ckpt', default=None,
                        help='--fidelity: reuse a trained tiny LWB '
                        'checkpoint (e.g. work_dirs/ablation/lwb/'
                        'iter_1200.pth) instead of training one')
    parser.add_argument('--nice', type=int, default=0,
                        help='--fidelity: lower the priority of training')
    args = parser.parse_args(argv)
    if not (args.train or args.personalize or args.fidelity):
        args.train = args.personalize = True
    return finish_args(args)


def main(argv=None) -> Dict[str, object]:
    args = parse_args(argv)
    smpl_path, devices = setup(args)
    person: Dict[str, Dict[int, float]] = {}
    if args.train or args.personalize:
        with tempfile.TemporaryDirectory(prefix='mmlwgan-bench-') as tmp:
            for dev_name in devices:
                device = torch.device(dev_name)
                if cuda_missing(device):
                    continue
                if args.train:
                    bench_train(args, device, smpl_path)
                if args.personalize:
                    person[device.type] = bench_personalize(
                        args, device, smpl_path, tmp)
    fidelity = bench_fidelity(args) if args.fidelity else None
    print_goals(goal_lines(person))
    print_end()
    return dict(personalization=person, fidelity=fidelity)


if __name__ == '__main__':
    main()

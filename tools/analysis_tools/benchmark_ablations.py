# Copyright (c) mmlwgan contributors. All rights reserved.
"""The paper's ablation on synthetic data: W_C, W_T, W_F and LWB trained for
the same budget on the same data, plus two training-free baselines, evaluated
on held-out self-imitation.

Every method trains with ``tools/train.py`` from its tiny config
(``configs/lwgan/lwgan_{lwb,wc,wt,wf,attlwb}-tiny_1xb4-300i_synthetic-64.py``)
for ``--iters`` iterations with the same seed, then runs on the validation
videos' self-imitation protocol (source frame -> every k-th frame of the same
video). Baselines on the same pairs:

- ``copy-source``: the prediction is the source image itself;
- ``warp-only``: the source warped by the flow T on the target body, the
  source image elsewhere (the synthetic camera and background are static).

Prints a table of SSIM / PSNR / masked L1 (inside the target body) / L1.

Example:
    python tools/analysis_tools/benchmark_ablations.py --iters 300
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time

import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = dict(
    wc='W_C', wt='W_T', wf='W_F', lwb='LWB', attlwb='AttLWB')


def config_of(method: str) -> str:
    return osp.join(ROOT, 'configs', 'lwgan',
                    f'lwgan_{method}-tiny_1xb4-300i_synthetic-64.py')


def ensure_data(data_root: str, args) -> None:
    if osp.isfile(osp.join(data_root, 'train.txt')):
        return
    from mmlwgan.testing.synthetic_iper import make_synthetic_iper
    print(f'generating synthetic iPER data in {data_root}')
    make_synthetic_iper(data_root, num_actors=args.actors, num_clothes=2,
                        num_actions=3, num_frames=args.frames,
                        image_size=128, seed=0)


def data_options(data_root: str) -> dict:
    return {
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'model.body_model.model_path': f'{data_root}/smpl_model.npz',
    }


def train_options(data_root: str, iters: int) -> list:
    opts = dict(data_options(data_root))
    opts.update({
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters + 1,
        'randomness.seed': 0,
        'default_hooks.visualization.interval': 0,
        'default_hooks.checkpoint.interval': iters,
    })
    # the release's schedule shape over the whole budget: constant for the
    # first sixth, then linear decay to 1 %
    for opt in ('generator', 'discriminator'):
        opts.update({
            f'param_scheduler.{opt}.0.end': iters // 6,
            f'param_scheduler.{opt}.1.begin': iters // 6,
            f'param_scheduler.{opt}.1.end': iters,
        })
    return [f'{k}={v}' for k, v in opts.items()]


def train(method: str, work_dir: str, data_root: str, iters: int) -> str:
    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    if osp.isfile(ckpt):
        print(f'[{METHODS[method]}] reusing {ckpt}')
        return ckpt
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
           config_of(method), '--work-dir', work_dir, '--cfg-options',
           *train_options(data_root, iters)]
    t0 = time.perf_counter()
    os.makedirs(osp.dirname(work_dir), exist_ok=True)
    with open(work_dir + '.log', 'w') as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT)
    print(f'[{METHODS[method]}] trained {iters} iterations in '
          f'{time.perf_counter() - t0:.0f}s')
    return ckpt


def evaluator():
    ev = Evaluator([dict(type='SSIMMetric'), dict(type='PSNRMetric'),
                    dict(type='MaskedL1Metric')])
    return ev


@torch.no_grad()
def evaluate(method: str, ckpt: str, data_root: str, interval: int,
             baselines: bool):
    """Evaluate one trained method (and, once, the baselines) on the
    validation self-imitation pairs."""
    from mmlwgan.apis import init_model
    cfg = Config.fromfile(config_of(method))
    cfg.merge_from_dict(data_options(data_root))
    cfg.test_dataloader.dataset.test_interval = interval
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    model = init_model(cfg, ckpt, device='cpu')
    loader = Runner.build_dataloader(cfg.test_dataloader)
    evs = {METHODS[method]: evaluator()}
    if baselines:
        evs.update({'copy-source': evaluator(), 'warp-only': evaluator()})
    count = 0
    for data in loader:
        samples = model.test_step(data)
        # the protocol's range holds the source frame itself: skip it
        keep = [i for i, s in enumerate(samples)
                if s.metainfo['tgt_frame_id'] not in s.metainfo[
                    'src_frame_ids']]
        samples = [samples[i] for i in keep]
        data = dict(inputs={k: [v[i] for i in keep]
                            for k, v in data['inputs'].items()},
                    data_samples=[data['data_samples'][i] for i in keep])
        if not samples:
            continue
        count += len(samples)
        evs[METHODS[method]].process(samples, data)
        if not baselines:
            continue
        src = model.data_preprocessor(data, False)['inputs']['src_img'][:, 0]
        copy = [s.clone() for s in samples]
        warp = [s.clone() for s in samples]
        for i in range(len(samples)):
            copy[i].pred_img = src[i]
            body = samples[i].body_mask > 0
            warp[i].pred_img = torch.where(body, samples[i].warped_img,
                                           src[i])
        evs['copy-source'].process(copy, data)
        evs['warp-only'].process(warp, data)
    return {name: ev.evaluate(count) for name, ev in evs.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root',
                        default=osp.join(ROOT, 'data', 'synthetic_iper'))
    parser.add_argument('--work-dir',
                        default=osp.join(ROOT, 'work_dirs', 'ablation'))
    parser.add_argument('--iters', type=int, default=300)
    parser.add_argument('--methods', nargs='+', default=['wc', 'wt', 'wf',
                                                         'lwb'],
                        choices=sorted(METHODS))
    parser.add_argument('--test-interval', type=int, default=5,
                        help='every k-th frame of each validation video')
    parser.add_argument('--actors', type=int, default=4)
    parser.add_argument('--frames', type=int, default=60)
    args = parser.parse_args(argv)

    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    data_root = osp.abspath(args.data_root)
    ensure_data(data_root, args)
    results = {}
    for i, method in enumerate(args.methods):
        work_dir = osp.join(args.work_dir, method)
        ckpt = train(method, work_dir, data_root, args.iters)
        results.update(evaluate(method, ckpt, data_root, args.test_interval,
                                baselines=(i == 0)))

    order = ['copy-source', 'warp-only'] + [METHODS[m] for m in args.methods]
    print(f'\nself-imitation on held-out synthetic videos '
          f'({args.iters} training iterations each, 64 px; source frames '
          'themselves excluded)')
    print('| method | SSIM (up) | PSNR (up) | masked L1 (down) | L1 (down) |')
    print('|---|---|---|---|---|')
    for name in order:
        r = results[name]
        print(f"| {name} | {r['SSIM']:.3f} | {r['PSNR']:.2f} | "
              f"{r['MaskedL1']:.4f} | {r['L1']:.4f} |")
    return results


if __name__ == '__main__':
    main()

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

``--recipe v3`` trains and evaluates every method with the bundled model's
recipe instead of the tiny configs' (no adversarial loss, the source's known
background pixels kept, ``bg_kernel`` 7, residual colour for W_T, LWB and
AttLWB: :func:`recipe_options`); ``--jobs 2`` runs two trainings at a time.

With ``--noisy-data-root`` the whole benchmark runs a second time on a
variant of the data that carries real-world error (HMR-like annotation
noise, hair / skirts / loose sleeves off the SMPL surface, shading from a
fixed light: ``make_synthetic_iper.py --real-world``, generated there with
the same people and motions if missing); every method is trained and
evaluated on each set, and one table is printed per set.

Example:
    python tools/analysis_tools/benchmark_ablations.py --iters 300
    python tools/analysis_tools/benchmark_ablations.py --iters 300 \\
        --data-root data/synthetic_iper_bench \\
        --noisy-data-root data/synthetic_iper_bench_noisy
"""
import argparse
import os
import os.path as osp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = dict(
    wc='W_C', wt='W_T', wf='W_F', lwb='LWB', attlwb='AttLWB')
#: training recipes every method can run under: ``released`` (the tiny
#: configs as they are: the release's losses with the GAN, G_BG's whole
#: picture as background) and ``v3`` (the bundled model's recipe, see
#: ``lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py``: no adversarial loss,
#: the source's known background pixels kept, ``bg_kernel`` 7, and residual
#: colour for the methods whose target stream sees I_syn)
RECIPES = ('released', 'v3')
#: the methods whose target stream's input holds I_syn
I_SYN_METHODS = ('lwb', 'attlwb', 'wt')


def config_of(method: str) -> str:
    return osp.join(ROOT, 'configs', 'lwgan',
                    f'lwgan_{method}-tiny_1xb4-300i_synthetic-64.py')


#: the real-world-error options of a generated noisy set
#: (``make_synthetic_iper.py --real-world``)
REAL_WORLD = dict(noise='hmr', loose='all', shading='lambert')


def ensure_data(data_root: str, args, realism=None) -> None:
    """Generate the synthetic data (with ``realism``: the options of
    :func:`make_synthetic_iper`'s real-world error) unless it is there."""
    if osp.isfile(osp.join(data_root, 'train.txt')):
        return
    from mmlwgan.synthetic.iper import make_synthetic_iper
    print(f'generating synthetic iPER data in {data_root}'
          + (' (with real-world error)' if realism else ''))
    make_synthetic_iper(data_root, num_actors=args.actors, num_clothes=2,
                        num_actions=3, num_frames=args.frames,
                        image_size=128, seed=0, **(realism or {}))


def recipe_options(method: str, recipe: str) -> dict:
    """Config overrides of ``recipe`` (one of :data:`RECIPES`) for
    ``method``."""
    if recipe not in RECIPES:
        raise ValueError(f'recipe must be one of {RECIPES}, got {recipe!r}')
    if recipe == 'released':
        return {}
    opts = {'model.gan_loss': None, 'model.bg_fill_hole_only': True,
            'model.bg_kernel': 7}
    if method in I_SYN_METHODS:
        opts['model.generator.residual_color'] = True
    return opts


def data_options(data_root: str) -> dict:
    return {
        'train_dataloader.dataset.data_root': data_root,
        'val_dataloader.dataset.data_root': data_root,
        'test_dataloader.dataset.data_root': data_root,
        'model.body_model.model_path': f'{data_root}/smpl_model.npz',
    }


def train_options(data_root: str, iters: int,
                  recipe_opts: Optional[dict] = None) -> list:
    opts = dict(data_options(data_root))
    opts.update(recipe_opts or {})
    opts.update({
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters + 1,
        'randomness.seed': 0,
        'default_hooks.visualization.interval': 0,
        'default_hooks.checkpoint.interval': iters,
    })
    # the release's schedule shape over the whole budget: constant for the
    # first sixth, then linear decay to 1 % (a smoke run of a few
    # iterations keeps one constant iteration: schedulers need end > begin)
    first = max(1, iters // 6)
    for opt in ('generator', 'discriminator'):
        opts.update({
            f'param_scheduler.{opt}.0.end': first,
            f'param_scheduler.{opt}.1.begin': first,
            f'param_scheduler.{opt}.1.end': iters,
        })
    return [f'{k}={v}' for k, v in opts.items()]


def train(method: str, work_dir: str, data_root: str, iters: int,
          recipe: str = 'released', threads: Optional[int] = None) -> str:
    """Train ``method`` with ``tools/train.py`` (log in ``<work_dir>.log``;
    ``threads``: the run's ``OMP_NUM_THREADS``) unless its last checkpoint
    is there; returns the checkpoint."""
    ckpt = osp.join(work_dir, f'iter_{iters}.pth')
    if osp.isfile(ckpt):
        # one write per line: runs report from several threads
        sys.stdout.write(f'[{METHODS[method]}] reusing {ckpt}\n')
        return ckpt
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'train.py'),
           config_of(method), '--work-dir', work_dir, '--cfg-options',
           *train_options(data_root, iters, recipe_options(method, recipe))]
    t0 = time.perf_counter()
    os.makedirs(osp.dirname(work_dir), exist_ok=True)
    env = dict(os.environ)
    if threads:
        env['OMP_NUM_THREADS'] = str(threads)
    with open(work_dir + '.log', 'w') as log:
        subprocess.run(cmd, check=True, stdout=log, stderr=subprocess.STDOUT,
                       env=env)
    sys.stdout.write(f'[{METHODS[method]}] trained {iters} iterations in '
                     f'{time.perf_counter() - t0:.0f}s\n')
    return ckpt


def evaluator():
    ev = Evaluator([dict(type='SSIMMetric'), dict(type='PSNRMetric'),
                    dict(type='MaskedL1Metric')])
    return ev


def held_out_model_and_loader(config: str, checkpoint: str,
                              data_root: str, interval: int,
                              options: Optional[dict] = None):
    """The model of ``config`` (plus the overrides ``options``, e.g.
    :func:`recipe_options`) with ``checkpoint`` (CPU) and a loader of the
    dataset's test split at ``data_root`` (held-out actors, every
    ``interval``-th frame of each video; no worker processes)."""
    from mmlwgan.apis import init_model
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(data_options(data_root))
    cfg.merge_from_dict(options or {})
    cfg.test_dataloader.dataset.test_interval = interval
    cfg.test_dataloader.num_workers = 0
    cfg.test_dataloader.persistent_workers = False
    model = init_model(cfg, checkpoint, device='cpu')
    return model, Runner.build_dataloader(cfg.test_dataloader)


@torch.no_grad()
def inference_path_predictions(model, inputs: dict, i: int,
                               backgrounds) -> dict:
    """Pair ``i`` of preprocessed ``inputs`` (``src_img`` (B, S, 3, H, W),
    ``src_smpl`` (B, S, 85), ``tgt_smpl`` (B, 85)) through the inference
    path (``encode_sources`` / ``decode_targets``, as the inferencers run
    it), once per background: background -> (3, H, W) in [-1, 1]."""
    tgt_ndc, _ = model.project(inputs['tgt_smpl'][i:i + 1])
    preds = {}
    for bg in backgrounds:
        enc = model.encode_sources(inputs['src_img'][i], inputs['src_smpl'][i],
                                   bg)
        preds[bg] = model.decode_targets(enc, tgt_ndc)['img'][0]
    return preds


@torch.no_grad()
def evaluate(method: str, ckpt: str, data_root: str, interval: int,
             baselines: bool, recipe: str = 'released'):
    """Evaluate one trained method (and, once, the baselines) on the
    validation self-imitation pairs."""
    model, loader = held_out_model_and_loader(
        config_of(method), ckpt, data_root, interval,
        recipe_options(method, recipe))
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
    parser.add_argument(
        '--noisy-data-root', default=None,
        help='also run everything on this variant with real-world error '
        '(generated with make_synthetic_iper.py --real-world if missing; '
        'models trained under <work-dir>/<recipe>/noisy/)')
    parser.add_argument('--work-dir',
                        default=osp.join(ROOT, 'work_dirs', 'ablation'))
    parser.add_argument('--iters', type=int, default=300)
    parser.add_argument('--recipe', choices=RECIPES, default='released',
                        help="'released': the tiny configs as they are; "
                        "'v3': the bundled model's recipe (no GAN, known "
                        'background pixels kept, residual colour where the '
                        'input holds I_syn)')
    parser.add_argument('--methods', nargs='+', default=['wc', 'wt', 'wf',
                                                         'lwb'],
                        choices=sorted(METHODS))
    parser.add_argument('--jobs', type=int, default=1,
                        help='training runs at a time (the cores are shared '
                        'out between them)')
    parser.add_argument('--test-interval', type=int, default=5,
                        help='every k-th frame of each validation video')
    parser.add_argument('--actors', type=int, default=4)
    parser.add_argument('--frames', type=int, default=60)
    args = parser.parse_args(argv)
    if args.iters < 2:
        parser.error('--iters must be >= 2')

    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    # models of each recipe under their own folder (checkpoints there are
    # reused by a later run)
    work_root = osp.join(args.work_dir, args.recipe)
    sets = [('clean', osp.abspath(args.data_root), None, work_root)]
    if args.noisy_data_root:
        sets.append(('noisy', osp.abspath(args.noisy_data_root), REAL_WORLD,
                     osp.join(work_root, 'noisy')))
    for _, data_root, realism, _ in sets:
        ensure_data(data_root, args, realism)
    jobs = max(1, args.jobs)
    threads = max(1, (os.cpu_count() or 1) // jobs) if jobs > 1 else None
    with ThreadPoolExecutor(jobs) as pool:
        ckpts = {(name, method): pool.submit(
            train, method, osp.join(set_root, method), data_root,
            args.iters, args.recipe, threads)
            for name, data_root, _, set_root in sets
            for method in args.methods}
        ckpts = {k: f.result() for k, f in ckpts.items()}
    all_results = {}
    for name, data_root, _, _ in sets:
        results = {}
        for i, method in enumerate(args.methods):
            results.update(evaluate(method, ckpts[name, method], data_root,
                                    args.test_interval, baselines=(i == 0),
                                    recipe=args.recipe))
        all_results[name] = results

    order = ['copy-source', 'warp-only'] + [METHODS[m] for m in args.methods]
    for name, data_root, _, _ in sets:
        results = all_results[name]
        what = describe_data(data_root) if len(sets) > 1 else ''
        print(f'\nself-imitation on held-out synthetic videos '
              f'({args.iters} training iterations each, recipe '
              f'{args.recipe!r}, 64 px; source frames themselves '
              f'excluded){what}')
        print('| method | SSIM (up) | PSNR (up) | masked L1 (down) | '
              'L1 (down) |')
        print('|---|---|---|---|---|')
        for method in order:
            r = results[method]
            print(f"| {method} | {r['SSIM']:.3f} | {r['PSNR']:.2f} | "
                  f"{r['MaskedL1']:.4f} | {r['L1']:.4f} |")
    return all_results if len(sets) > 1 else all_results['clean']


def describe_data(data_root: str) -> str:
    """' -- <root>: clean' or the real-world error its metadata records."""
    import json
    from mmlwgan.synthetic.iper import META_FILENAME
    what = 'clean'
    try:
        with open(osp.join(data_root, META_FILENAME)) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return f' -- {data_root}'
    params = meta.get('params', {})
    parts = []
    if params.get('noise'):
        err = meta.get('annotation_error', {}).get('mean', {})
        parts.append(f"{params['noise']['preset']} annotation noise"
                     + (f" (PA-MPJPE {err['pa_mpjpe_mm']:.0f} mm)"
                        if 'pa_mpjpe_mm' in err else ''))
    if params.get('loose'):
        parts.append('loose ' + '/'.join(params['loose']))
    if params.get('shading'):
        parts.append(f"{params['shading']['model']} shading")
    if parts:
        what = ', '.join(parts)
    return f' -- {data_root}: {what}'


if __name__ == '__main__':
    main()

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Held-out fidelity of trained models, with per-stream diagnostics.

Runs each model on the validation videos' self-imitation protocol (the same
pairs and the same SSIM / PSNR / masked L1 / L1 evaluators as
``benchmark_ablations.py``: source frame -> every k-th frame of the same
video, the source frame itself left out) and prints one table of full-image
predictions:

- ``<name>``: the model as it runs (``test_step``: its own background);
- ``<name>: mask+colour over source bg``: its mask and colour composited
  over the source image instead of its background;
- ``<name>: hole by cv2.inpaint``: its mask and colour composited over
  the source with the hole (G_BG's) filled by OpenCV's Telea inpainting
  (``background='inpainted'`` of ``encode_sources``);
- ``<name>: colour in body, source elsewhere``: G_TSF's colour inside the
  rendered target body, the source image elsewhere (G_TSF alone against
  warp-only);
- ``warp-only``: I_syn (the source warped by T) inside the target body, the
  source elsewhere; ``copy-source``: the source image.

and one table of per-stream diagnostics (mean absolute error in [-1, 1]
units, averaged over images):

- ``G_BG hole``: G_BG's raw output against the true background, in the hole
  (where its input is masked out) on pixels the target frame shows as
  background (the synthetic camera and background are static);
  ``cv2.inpaint hole``: the same pixels from OpenCV's Telea inpainting of
  the source (a training-free reference);
- ``G_BG known``: G_BG's raw output where its input shows the background
  (what ``bg_fill_hole_only`` replaces by the source pixels);
- ``G_SID rec (body)``: the source reconstruction against the source,
  inside the source body;
- ``G_TSF colour (body)`` / ``I_syn (body)``: G_TSF's colour / the warped
  source against the target, inside the target body.

Example:
    python tools/analysis_tools/eval_fidelity.py --data-root data/x \\
        --model bundled \\
            configs/lwgan/lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py \\
            demo/checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth \\
        --model v2 \\
            configs/lwgan/lwgan_lwb-tiny-v2_1xb4-3000i_synthetic-64.py \\
            work_dirs/v2/iter_3000.pth
"""
import argparse
import json
import os.path as osp
import sys
import time
from collections import defaultdict

import torch

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from benchmark_ablations import (evaluator,  # noqa: E402
                                 held_out_model_and_loader)


def masked_mean_abs(a, b, mask):
    """Per-image mean |a - b| over the mask (B,), NaN where it is empty."""
    err = (a - b).abs().mean(1, keepdim=True) * mask
    n = mask.flatten(1).sum(1)
    return err.flatten(1).sum(1) / n.clamp(min=1) + torch.where(
        n > 0, 0.0, float('nan'))


@torch.no_grad()
def evaluate(name, config, ckpt, data_root, interval, baselines,
             max_batches=None):
    from mmlwgan.models.editors.background import inpaint_hole
    model, loader = held_out_model_and_loader(config, ckpt, data_root,
                                              interval)
    model.eval()
    rows = [name, f'{name}: mask+colour over source bg',
            f'{name}: hole by cv2.inpaint',
            f'{name}: colour in body, source elsewhere']
    if baselines:
        rows += ['warp-only', 'copy-source']
    evs = {r: evaluator() for r in rows}
    diag = defaultdict(list)
    count = 0
    from mmlwgan.models.generators import compose
    for b, data in enumerate(loader):
        if max_batches is not None and b >= max_batches:
            break
        pre = model.data_preprocessor(data, False)
        inputs = pre['inputs']
        keep = [i for i, s in enumerate(pre['data_samples'])
                if s.metainfo['tgt_frame_id'] not in s.metainfo[
                    'src_frame_ids']]
        if not keep:
            continue
        inputs = {k: v[keep] for k, v in inputs.items()}
        samples_in = [pre['data_samples'][i] for i in keep]
        raw = dict(inputs={k: [v[i] for i in keep]
                           for k, v in data['inputs'].items()},
                   data_samples=[data['data_samples'][i] for i in keep])
        src_img = inputs['src_img']
        out, geo = model.run_generator(src_img, inputs['src_smpl'],
                                       inputs['tgt_smpl'])
        samples = model.pack_predictions(out, geo, samples_in)
        count += len(samples)
        src0 = src_img[:, 0]
        tgt = inputs['tgt_img']
        body = geo['tgt_body']
        variants = {
            name: out['tsf_img'],
            rows[1]: compose(out['tsf_color'], out['tsf_mask'], src0),
            rows[2]: compose(out['tsf_color'], out['tsf_mask'],
                             inpaint_hole(src0, geo['bg_input_mask'][:, 0])),
            rows[3]: torch.where(body > 0, out['tsf_color'], src0),
        }
        if baselines:
            variants['warp-only'] = torch.where(body > 0, geo['warped'],
                                                src0)
            variants['copy-source'] = src0
        for row, img in variants.items():
            ss = [s.clone() for s in samples]
            for i, s in enumerate(ss):
                s.pred_img = img[i]
            evs[row].process(ss, raw)
        # per-stream diagnostics
        known = geo['bg_input_mask'][:, 0]
        g_bg = model.generator.bg_net(geo['bg_inputs'])
        tgt_bg = 1 - body
        hole = (1 - known) * tgt_bg
        diag['G_BG hole'] += masked_mean_abs(g_bg, tgt, hole).tolist()
        diag['cv2.inpaint hole'] += masked_mean_abs(
            inpaint_hole(src0, known), tgt, hole).tolist()
        diag['G_BG known'] += masked_mean_abs(g_bg, src0, known).tolist()
        if 'src_img' in out:
            sbody = geo['src_body'][:, 0]
            diag['G_SID rec (body)'] += masked_mean_abs(
                out['src_img'][:, 0], src0, sbody).tolist()
        diag['G_TSF colour (body)'] += masked_mean_abs(
            out['tsf_color'], tgt, body).tolist()
        diag['I_syn (body)'] += masked_mean_abs(geo['warped'], tgt,
                                                body).tolist()
    results = {r: ev.evaluate(count) for r, ev in evs.items()}
    d = {}
    for k, v in diag.items():
        t = torch.tensor(v)
        t = t[~t.isnan()]
        d[k] = float(t.mean()) if len(t) else float('nan')
    return results, d, count


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--model', nargs=3, action='append', required=True,
                        metavar=('NAME', 'CONFIG', 'CHECKPOINT'))
    parser.add_argument('--test-interval', type=int, default=8,
                        help='every k-th frame of each validation video')
    parser.add_argument('--max-batches', type=int, default=None)
    parser.add_argument('--json', default=None, help='also write results')
    args = parser.parse_args(argv)
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    table, diags = {}, {}
    for i, (name, config, ckpt) in enumerate(args.model):
        t0 = time.perf_counter()
        res, d, n = evaluate(name, config, ckpt, args.data_root,
                             args.test_interval, baselines=(i == 0),
                             max_batches=args.max_batches)
        print(f'[{name}] {n} pairs in {time.perf_counter() - t0:.0f}s')
        table.update(res)
        diags[name] = d
    print(f'\nheld-out self-imitation, {args.data_root} (val actors, every '
          f'{args.test_interval}th frame, source frames excluded)')
    print('| prediction | SSIM (up) | PSNR (up) | masked L1 (down) | '
          'L1 (down) |')
    print('|---|---|---|---|---|')
    for row, r in table.items():
        print(f"| {row} | {r['SSIM']:.3f} | {r['PSNR']:.2f} | "
              f"{r['MaskedL1']:.4f} | {r['L1']:.4f} |")
    keys = list(next(iter(diags.values())).keys())
    print('\nper-stream diagnostics (mean |error|, [-1, 1] units, down)')
    print('| model | ' + ' | '.join(keys) + ' |')
    print('|---|' + '---|' * len(keys))
    for name, d in diags.items():
        print(f'| {name} | ' + ' | '.join(
            f"{d.get(k, float('nan')):.4f}" for k in keys) + ' |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(table=table, diagnostics=diags), f, indent=1)
    return table, diags


if __name__ == '__main__':
    main()

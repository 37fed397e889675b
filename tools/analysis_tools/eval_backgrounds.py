# Copyright (c) mmlwgan contributors. All rights reserved.
"""How much the background choice costs: a model's held-out self-imitation
through the inference path (``encode_sources`` / ``decode_targets``, as the
inferencers run it) with each background, beside the training-free
baselines.

Rows: ``copy-source``, ``warp-only`` (as in ``benchmark_ablations.py``) and
the model with ``background='generated'`` (G_BG's whole picture),
``'original'`` (the source's pixels, G_BG in the body's region) and
``'inpainted'`` (the source's pixels, that region filled by
``cv2.inpaint``). Pairs: the dataset's test split (held-out actors), every
``--test-interval``-th frame, the source frames themselves excluded.

Example (the bundled model on a fresh set of unseen actors)::

    python tools/dataset_converters/make_synthetic_iper.py \\
        --out data/synthetic_iper_show --actors 4 --val-actors 3 \\
        --clothes 1 --actions 2 --frames 40 --size 128 --seed 101
    python tools/analysis_tools/eval_backgrounds.py \\
        configs/lwgan/lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py \\
        demo/checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth \\
        --data-root data/synthetic_iper_show
"""
import argparse
import os.path as osp
import sys
from typing import Dict, Optional, Sequence

import torch

HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from benchmark_ablations import (evaluator,  # noqa: E402
                                 held_out_model_and_loader,
                                 inference_path_predictions)

BACKGROUNDS = ('generated', 'original', 'inpainted')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='example:' + __doc__.split('Example (')[1].split('::', 1)[1])
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='model checkpoint')
    parser.add_argument('--data-root', required=True,
                        help='iPER-format dataset (val.txt, protocol file)')
    parser.add_argument('--test-interval', type=int, default=8,
                        help='every k-th frame of each validation video')
    return parser.parse_args(argv)


@torch.no_grad()
def evaluate(config: str, checkpoint: str, data_root: str,
             interval: int) -> Dict[str, Dict[str, float]]:
    """The table's rows: metric name -> value, per row name."""
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    model, loader = held_out_model_and_loader(config, checkpoint, data_root,
                                              interval)
    rows = ('copy-source', 'warp-only') + BACKGROUNDS
    evs = {row: evaluator() for row in rows}
    count = 0
    for data in loader:
        samples = model.test_step(data)  # body mask, warped image
        inputs = model.data_preprocessor(data, False)['inputs']
        for i, sample in enumerate(samples):
            meta = sample.metainfo
            if meta['tgt_frame_id'] in meta['src_frame_ids']:
                continue  # the source frame itself
            one = dict(inputs={k: [v[i]] for k, v in data['inputs'].items()},
                       data_samples=[data['data_samples'][i]])
            src = inputs['src_img'][i]
            preds = {'copy-source': src[0],
                     'warp-only': torch.where(sample.body_mask > 0,
                                              sample.warped_img, src[0])}
            preds.update(inference_path_predictions(model, inputs, i,
                                                    BACKGROUNDS))
            for row, pred in preds.items():
                s = sample.clone()
                s.pred_img = pred
                evs[row].process([s], one)
            count += 1
    return {row: ev.evaluate(count) for row, ev in evs.items()}


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    results = evaluate(args.config, args.checkpoint,
                       osp.abspath(args.data_root), args.test_interval)
    print(f'held-out self-imitation, {osp.basename(args.checkpoint)} on '
          f'{args.data_root} (every {args.test_interval}th frame, source '
          'frames excluded)')
    print('| prediction | SSIM (up) | PSNR (up) | masked L1 (down) | '
          'L1 (down) |')
    print('|---|---|---|---|---|')
    for row, r in results.items():
        name = row if row in ('copy-source', 'warp-only') else \
            f"model, background='{row}'"
        print(f"| {name} | {r['SSIM']:.3f} | {r['PSNR']:.2f} | "
              f"{r['MaskedL1']:.4f} | {r['L1']:.4f} |")
    return 0


if __name__ == '__main__':
    sys.exit(main())

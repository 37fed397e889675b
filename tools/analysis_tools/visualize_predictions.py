# Copyright (c) mmlwgan contributors. All rights reserved.
"""A picture of a model's predictions on held-out frames.

Writes a PNG grid, one row per held-out pair and the columns

    source | reference pose | warp-only | ours | ground truth

- ``source``: the protocol's source frame;
- ``reference pose``: the target's SMPL as annotated (what the model is
  given; on a noisy dataset it is not exactly the person in the ground
  truth), rendered with the config's body model;
- ``warp-only``: the source warped by the flow T inside the target body,
  the source image elsewhere (the training-free baseline of
  ``benchmark_ablations.py``);
- ``ours``: the model's prediction through the inference path
  (``encode_sources`` / ``decode_targets``) with ``--background`` (default
  ``'inpainted'``, the inferencers' and the demo's), or as ``test_step``
  runs it (``--background test``: the background the model was trained
  with);
- ``ground truth``: the target frame.

Pairs come from the dataset's test split (``val.txt``, held-out actors, and
the protocol file: self-imitation by default), spread over the videos and
their frames; the source frames themselves are skipped. PSNR against the
ground truth is printed under the warp-only and ours cells.

Example (the bundled model on a fresh synthetic set of unseen actors)::

    python tools/dataset_converters/make_synthetic_iper.py \\
        --out data/synthetic_iper_show --actors 4 --val-actors 3 \\
        --clothes 1 --actions 2 --frames 40 --size 128 --seed 101
    python tools/analysis_tools/visualize_predictions.py \\
        configs/lwgan/lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py \\
        demo/checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth \\
        --data-root data/synthetic_iper_show --out docs/predictions_clean.png
"""
import argparse
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from benchmark_ablations import inference_path_predictions  # noqa: E402

COLUMNS = ('source', 'reference pose', 'warp-only', 'ours', 'ground truth')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='example:' + __doc__.split('Example (')[1].split('::', 1)[1])
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='model checkpoint')
    parser.add_argument('--data-root', required=True,
                        help='iPER-format dataset (val.txt, protocol file)')
    parser.add_argument(
        '--smpl', default=None,
        help='body model file (default: <data-root>/smpl_model.npz when it '
        "exists, else the config's)")
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--rows', type=int, default=6,
                        help='number of pairs (default: %(default)s)')
    parser.add_argument('--task', default='self_imitation',
                        choices=['self_imitation', 'cross_imitation'],
                        help='protocol task (default: %(default)s)')
    parser.add_argument('--scale', type=int, default=2,
                        help='pixel repetition of every cell '
                        '(default: %(default)s)')
    parser.add_argument(
        '--background', default='inpainted',
        choices=['inpainted', 'original', 'generated', 'test'],
        help="the model's background (encode_sources), or 'test' for the "
        'model as test_step runs it (default: %(default)s)')
    parser.add_argument('--title', default=None,
                        help='a line above the grid')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args(argv)
    if args.rows < 1 or args.scale < 1:
        parser.error('--rows and --scale must be >= 1')
    return args


def pick_pairs(infos: List[dict], rows: int) -> List[int]:
    """Indices of ``rows`` pairs spread over the videos (round robin) and
    over each video's target frames, source frames skipped.

    Args:
        infos: ``get_data_info`` of every item (``video_id``,
            ``tgt_frame_id``, ``src_frame_ids``).
    """
    by_video: Dict[str, List[int]] = OrderedDict()
    for i, info in enumerate(infos):
        if int(info['tgt_frame_id']) in {int(s) for s in
                                         info['src_frame_ids']}:
            continue
        by_video.setdefault(info['video_id'], []).append(i)
    if not by_video:
        return []
    per_video = -(-rows // len(by_video))  # ceil
    chosen = []
    for v, items in enumerate(by_video.values()):
        items = sorted(items, key=lambda i: int(infos[i]['tgt_frame_id']))
        k = min(per_video, len(items))
        # evenly spaced, each video at another phase (the source is near
        # the start of the video; the pictures should not all show one
        # frame index)
        phase = (v + 1) / (len(by_video) + 1)
        pos = (np.arange(k) + phase) / k * (len(items) - 1) if k < len(
            items) else np.arange(k)  # spacing >= 1: no repeats
        chosen.append([items[int(round(p))] for p in pos])
    picks = []
    for j in range(per_video):  # interleave the videos
        for items in chosen:
            if j < len(items) and len(picks) < rows:
                picks.append(items[j])
    return picks


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64))**2)
    return float('inf') if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _text(img: np.ndarray, text: str, org, scale: float,
          color=(255, 255, 255)) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0),
                3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, 1,
                cv2.LINE_AA)


def compose_grid(rows: List[List[np.ndarray]], row_labels: List[str],
                 notes: List[List[Optional[str]]], scale: int,
                 title: Optional[str] = None,
                 columns: Sequence[str] = COLUMNS) -> np.ndarray:
    """(H, W, 3) uint8 RGB cells -> one labelled grid (RGB)."""
    cell_h, cell_w = rows[0][0].shape[:2]
    h, w = cell_h * scale, cell_w * scale
    gap = 2
    head = 22 + (20 if title else 0)
    grid = np.full((head + len(rows) * (h + gap), len(columns) * (w + gap) -
                    gap, 3), 255, np.uint8)
    if title:
        cv2.putText(grid, title, (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
    for c, name in enumerate(columns):
        size = cv2.getTextSize(name, cv2.FONT_HERSHEY_SIMPLEX, 0.42, 1)[0]
        x = c * (w + gap) + max((w - size[0]) // 2, 0)
        cv2.putText(grid, name, (x, head - 7), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                    (0, 0, 0), 1, cv2.LINE_AA)
    for r, cells in enumerate(rows):
        y = head + r * (h + gap)
        for c, cell in enumerate(cells):
            big = cv2.resize(cell, (w, h), interpolation=cv2.INTER_NEAREST)
            if c == 0 and row_labels[r]:
                _text(big, row_labels[r], (3, 12), 0.35)
            if notes[r][c]:
                _text(big, notes[r][c], (3, h - 5), 0.35)
            grid[y:y + h, c * (w + gap):c * (w + gap) + w] = big
    return grid


def body_renders(model, tgt_smpl: torch.Tensor, size: int) -> np.ndarray:
    """The annotated target SMPL, shaded in body-part colours on light grey:
    (B, H, W, 3) uint8."""
    from mmlwgan.visualization import BodyRenderer
    renderer = BodyRenderer(model.body_model, image_size=size).to(
        tgt_smpl.device)
    theta = tgt_smpl.float()
    with torch.no_grad():
        img, _, _ = renderer.render(theta[:, 3:75], theta[:, 75:],
                                    theta[:, :3], background=0.85)
    return (img.permute(0, 2, 3, 1).clamp(0, 1).cpu().numpy() * 255 +
            0.5).astype(np.uint8)


@torch.no_grad()
def predict_rows(model, dataset, picks: List[int],
                 background: str = 'inpainted'):
    """Cells, row labels and PSNR notes of the picked pairs (``background``:
    see ``--background``)."""
    from mmengine.dataset import pseudo_collate
    from mmlwgan.visualization.image_utils import to_uint8
    data = pseudo_collate([dataset[i] for i in picks])
    samples = model.test_step(data)
    inputs = model.data_preprocessor(data, False)['inputs']
    src = inputs['src_img'][:, 0]
    tgt = inputs['tgt_img']
    size = src.shape[-1]
    poses = body_renders(model, inputs['tgt_smpl'], size)
    rows, labels, notes = [], [], []
    for i, s in enumerate(samples):
        warp = torch.where(s.body_mask > 0, s.warped_img, src[i])
        pred = s.pred_img
        if background != 'test':
            pred = inference_path_predictions(model, inputs, i,
                                              [background])[background]
        cells = [to_uint8(src[i], (-1, 1)), poses[i],
                 to_uint8(warp, (-1, 1)), to_uint8(pred, (-1, 1)),
                 to_uint8(tgt[i], (-1, 1))]
        gt = cells[-1]
        rows.append(cells)
        meta = s.metainfo
        labels.append(f"{meta['video_id']} "
                      f"{meta['src_frame_ids'][0]}>{meta['tgt_frame_id']}")
        notes.append([None, None, f'{psnr(cells[2], gt):.1f} dB',
                      f'{psnr(cells[3], gt):.1f} dB', None])
    return rows, labels, notes


def build(args):
    from mmengine.config import Config
    from mmlwgan.apis import init_model
    from mmlwgan.registry import DATASETS
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    data_root = osp.abspath(args.data_root)
    if not osp.isfile(osp.join(data_root, 'val.txt')):
        raise FileNotFoundError(f'{data_root} has no val.txt: not an '
                                'iPER-format dataset')
    cfg = Config.fromfile(args.config)
    smpl = args.smpl
    if smpl is None and osp.isfile(osp.join(data_root, 'smpl_model.npz')):
        smpl = osp.join(data_root, 'smpl_model.npz')
    options = {}
    if smpl is not None:
        options['model.body_model.model_path'] = smpl
    model = init_model(cfg, args.checkpoint, device=args.device,
                       cfg_options=options)
    ds_cfg = cfg.test_dataloader.dataset
    ds_cfg.data_root = data_root
    ds_cfg.test_interval = 1
    ds_cfg.test_task = args.task
    dataset = DATASETS.build(ds_cfg)
    return model, dataset


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    model, dataset = build(args)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    picks = pick_pairs(infos, args.rows)
    if not picks:
        raise ValueError(f'no held-out pair in {args.data_root}')
    rows, labels, notes = predict_rows(model, dataset, picks,
                                       args.background)
    grid = compose_grid(rows, labels, notes, args.scale, args.title)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f'could not write {args.out}')
    mean = np.mean([[float(n.split()[0]) for n in row[2:4]] for row in notes],
                   axis=0)
    print(f'{args.out}: {len(rows)} held-out pairs of '
          f'{len({i["video_id"] for i in infos})} videos; mean PSNR '
          f'warp-only {mean[0]:.2f} dB, ours {mean[1]:.2f} dB')
    return args.out


if __name__ == '__main__':
    main()

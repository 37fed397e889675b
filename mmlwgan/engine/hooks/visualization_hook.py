# Copyright (c) mmlwgan contributors. All rights reserved.
"""Save source | target | warped | prediction grids while training/testing."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
import torch
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmlwgan.registry import HOOKS
from mmlwgan.utils import write_image
from mmlwgan.visualization import hstack_labelled, to_uint8

LABELS = ['source', 'target', 'warped', 'prediction']


def make_grid(src_img, samples, max_rows: int = 4) -> np.ndarray:
    """Rows of ``source | target | warped | prediction`` (H, 4W, 3) uint8.

    Args:
        src_img: (B, S, 3, H, W) or list of (S, 3, H, W) uint8 source images
            (only the first source is shown).
        samples: data samples with ``gt_img``, ``warped_img``, ``pred_img``
            in [-1, 1].
    """
    rows = []
    for i, sample in enumerate(samples[:max_rows]):
        src = src_img[i][0].float() / 127.5 - 1
        tiles = [to_uint8(src.cpu(), (-1, 1))]
        for key in ('gt_img', 'warped_img', 'pred_img'):
            img = sample.get(key)
            tiles.append(to_uint8(img.cpu(), (-1, 1)) if img is not None
                         else np.zeros_like(tiles[0]))
        rows.append(hstack_labelled(tiles, LABELS if i == 0 else None))
    return np.concatenate(rows, axis=0)


@HOOKS.register_module()
class LWGANVisualizationHook(Hook):
    """Write image grids to ``<work_dir>/vis`` (or ``out_dir``) and to the
    runner's visualizer backends (TensorBoard when configured).

    Args:
        interval (int): every ``interval`` training iterations the model
            predicts the current batch and a grid is saved. 0 disables the
            training grids. Defaults to 500.
        enable_val (bool): save a grid of the first batch of each
            validation. Defaults to True.
        enable_test (bool): save a grid for every test batch. Defaults to
            False (``tools/test.py --show-dir`` switches it on).
        out_dir (str, optional): folder of the PNGs; default
            ``<work_dir>/vis``.
        max_rows (int): samples per grid. Defaults to 4.

    In distributed runs the training and validation grids are made by rank 0
    only (each rank sees other samples; they would overwrite one another's
    files); test grids are made by every rank, for its own batches, named
    ``test_batch<idx>_rank<r>.png``.
    """
    priority = 'NORMAL'

    def __init__(self, interval: int = 500, enable_val: bool = True,
                 enable_test: bool = False, out_dir: Optional[str] = None,
                 max_rows: int = 4) -> None:
        self.interval = interval
        self.enable_val = enable_val
        self.enable_test = enable_test
        self.out_dir = out_dir
        self.max_rows = max_rows

    def _save(self, runner, name: str, grid: np.ndarray, step: int) -> None:
        out_dir = self.out_dir or osp.join(runner.work_dir, 'vis')
        write_image(osp.join(out_dir, f'{name}.png'), grid)
        runner.visualizer.add_image(name.split('_')[0], grid, step=step)

    def after_train_iter(self, runner, batch_idx: int,
                         data_batch=None, outputs=None) -> None:
        if not self.interval or not self.every_n_train_iters(
                runner, self.interval) or get_dist_info()[0] != 0:
            return
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        was_training = model.training
        model.eval()
        with torch.no_grad():
            samples = model.val_step(data_batch)
        model.train(was_training)
        grid = make_grid(data_batch['inputs']['src_img'], samples,
                         self.max_rows)
        self._save(runner, f'train_iter{runner.iter + 1:07d}', grid,
                   runner.iter + 1)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Optional[Sequence] = None) -> None:
        if self.enable_val and batch_idx == 0 and get_dist_info()[0] == 0:
            grid = make_grid(data_batch['inputs']['src_img'], outputs,
                             self.max_rows)
            self._save(runner, f'val_iter{runner.iter:07d}', grid, runner.iter)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        if self.enable_test:
            grid = make_grid(data_batch['inputs']['src_img'], outputs,
                             self.max_rows)
            rank, world_size = get_dist_info()
            name = f'test_batch{batch_idx:05d}'
            if world_size > 1:  # batch indices restart on every rank
                name += f'_rank{rank}'
            self._save(runner, name, grid, batch_idx)

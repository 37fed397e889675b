# Copyright (c) mmlwgan contributors. All rights reserved.
"""``LWGANVisualizationHook``: source | target | warped | prediction grids
during training (every ``interval`` iterations), validation and testing."""
import glob
import importlib.util
import os
import os.path as osp
import sys
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from mmlwgan.engine.hooks import LWGANVisualizationHook, make_grid
from mmlwgan.engine.hooks import visualization_hook as vis_module
from mmlwgan.structures import LWGANDataSample


def helpers():
    """``tests/test_tools/conftest.py`` as a module (its fixtures and
    helpers are shared with the tool tests)."""
    name = 'mmlwgan_tools_helpers'
    if name not in sys.modules:
        path = osp.join(osp.dirname(osp.abspath(__file__)), '..',
                        'test_tools', 'conftest.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


H = helpers()
tiny_iper = H.tiny_iper  # the session's tiny synthetic iPER (fixture)
S = H.IMAGE_SIZE


def read_rgb(path: str) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    assert img is not None, path
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def tile(grid: np.ndarray, row: int, col: int, size: int = S) -> np.ndarray:
    return grid[row * size:(row + 1) * size,
                col * size:(col + 1) * size].astype(int)


def to_hwc(img: torch.Tensor) -> np.ndarray:
    """(3, H, W) uint8 tensor -> (H, W, 3) int array."""
    return img.permute(1, 2, 0).numpy().astype(int)


# ---------------------------------------------------------------------------
# make_grid
# ---------------------------------------------------------------------------
def test_make_grid_values():
    h, w = 8, 6
    src = torch.zeros(3, 2, 3, h, w, dtype=torch.uint8)
    src[:, 0] = 200  # first source shown, second ignored
    src[:, 1] = 10
    samples = []
    for i in range(3):
        s = LWGANDataSample()
        s.gt_img = torch.full((3, h, w), -1.0)  # -> 0
        s.pred_img = torch.full((3, h, w), 1.0)  # -> 255
        if i != 1:
            s.warped_img = torch.zeros(3, h, w)  # -> 128
        samples.append(s)
    grid = make_grid(src, samples, max_rows=2)
    assert grid.dtype == np.uint8 and grid.shape == (2 * h, 4 * w, 3)
    # row 0 carries the captions; row 1 is exact
    row = grid[h:]
    assert (row[:, :w] == 200).all()
    assert (row[:, w:2 * w] == 0).all()
    assert (row[:, 2 * w:3 * w] == 0).all()  # no warped image: black
    assert (row[:, 3 * w:] == 255).all()
    # row 0: the tiles' values except where the caption is drawn
    assert np.median(grid[:h, 2 * w:3 * w]) == 128
    assert np.median(grid[:h, 3 * w:]) == 255
    # a list of (S, 3, H, W) sources works the same
    grid2 = make_grid(list(src), samples, max_rows=2)
    np.testing.assert_array_equal(grid, grid2)
    # max_rows
    assert make_grid(src, samples, max_rows=4).shape[0] == 3 * h


# ---------------------------------------------------------------------------
# a training run
# ---------------------------------------------------------------------------
@pytest.fixture(scope='module')
def vis_run(tiny_iper, tmp_path_factory):
    """4 iterations, a training grid every 2, validation at the end."""
    work_dir = str(tmp_path_factory.mktemp('vis') / 'work')
    options = H.tiny_options(tiny_iper, max_iters=4, vis_interval=2)
    # (a checkpoint loaded earlier in the process may have broken
    # mmengine's log statistics: see tests/test_tools/test_train_test.py)
    H.reset_history_buffer_statistics()
    H.load_tool('train').main([H.TINY_CONFIG, '--work-dir', work_dir] +
                              H.cfg_options_argv(options))
    return work_dir


def test_grids_written_during_training(vis_run):
    vis_dir = osp.join(vis_run, 'vis')
    assert sorted(os.listdir(vis_dir)) == [
        'train_iter0000002.png', 'train_iter0000004.png',
        'val_iter0000004.png'
    ]
    for name in os.listdir(vis_dir):
        grid = read_rgb(osp.join(vis_dir, name))
        # 2 samples per batch; source | target | warped | prediction
        assert grid.shape == (2 * S, 4 * S, 3), name
    # the same grids went to the visualizer's backend (vis_data/vis_image)
    backend = sorted(
        osp.basename(p) for p in glob.glob(
            osp.join(vis_run, '*', 'vis_data', 'vis_image', '*.png')))
    assert backend == ['train_2.png', 'train_4.png', 'val_4.png']
    np.testing.assert_array_equal(
        read_rgb(osp.join(vis_dir, 'val_iter0000004.png')),
        read_rgb(
            glob.glob(
                osp.join(vis_run, '*', 'vis_data', 'vis_image',
                         'val_4.png'))[0]))


def test_training_grid_shows_training_frames(vis_run, tiny_iper):
    """The source and target tiles of a training grid are frames of the
    training video (actor 001), the prediction is the model's."""
    frames = [
        read_rgb(p).astype(int) for p in sorted(
            glob.glob(osp.join(tiny_iper, 'images', '001', '1', '1', '*')))
    ]
    assert len(frames) == 10 and frames[0].shape == (S, S, 3)
    grid = read_rgb(osp.join(vis_run, 'vis', 'train_iter0000004.png'))
    for col in (0, 1):  # row 1: no caption
        err = min(np.abs(tile(grid, 1, col) - f).max() for f in frames)
        assert err <= 1, col
    pred = tile(grid, 1, 3)
    assert pred.std() > 1  # not a constant image
    assert min(np.abs(pred - f).mean() for f in frames) > 2


def test_validation_grid_values(vis_run, tiny_iper):
    """The validation grid shows the first validation batch: the held-out
    actor's source and target frames, the source warped onto the target
    body (background left empty, i.e. grey) and the prediction of the model
    saved at the same iteration."""
    from mmengine.dataset import pseudo_collate

    from mmlwgan.registry import DATASETS
    from mmlwgan.utils import register_all_modules
    from mmlwgan.utils.checkpoint import load_checkpoint_tensors
    from mmlwgan.visualization import to_uint8
    register_all_modules(init_default_scope=False)
    cfg = H.tiny_cfg(tiny_iper)
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    batch = pseudo_collate([dataset[0], dataset[1]])
    grid = read_rgb(osp.join(vis_run, 'vis', 'val_iter0000004.png'))
    # row 1 (row 0 carries the captions)
    src = batch['inputs']['src_img'][1][0]
    tgt = batch['inputs']['tgt_img'][1]
    assert np.abs(tile(grid, 1, 0) - to_hwc(src)).max() <= 1
    assert np.abs(tile(grid, 1, 1) - to_hwc(tgt)).max() <= 1

    # the model of the last checkpoint (iteration 4, validated right after)
    model = H.build_tiny_model(tiny_iper)
    ckpt = load_checkpoint_tensors(osp.join(vis_run, 'iter_4.pth'))
    model.load_state_dict(ckpt['state_dict'])
    model.eval()
    with torch.no_grad():
        inputs = model.data_preprocessor(batch, False)['inputs']
        geo = model.compute_geometry(inputs['src_smpl'], inputs['tgt_smpl'])
        warped = model.generator_inputs(inputs['src_img'], geo)['warped']
        preds = model.val_step(batch)
    warped = to_uint8(warped[1], (-1, 1)).astype(int)
    assert np.abs(tile(grid, 1, 2) - warped).max() <= 1
    grey = (np.abs(warped - 128) <= 1).all(axis=-1)
    assert 0.3 < grey.mean() < 0.99  # the body is small in a 32 px frame
    body = geo['tgt_body'][1, 0].numpy() > 0.5
    assert grey[~body].all()  # nothing is warped outside the target body
    pred = to_uint8(preds[1].pred_img, (-1, 1)).astype(int)
    assert np.abs(tile(grid, 1, 3) - pred).max() <= 1
    assert np.abs(pred - to_hwc(tgt)).mean() > 1


# ---------------------------------------------------------------------------
# the hook alone (a stand-in runner)
# ---------------------------------------------------------------------------
class _Visualizer:

    def __init__(self):
        self.images = []

    def add_image(self, name, image, step=0):
        self.images.append((name, image.shape, step))


def _fake_batch(b=2, h=8, w=8):
    src = [torch.full((1, 3, h, w), 50, dtype=torch.uint8)] * b
    samples = []
    for _ in range(b):
        s = LWGANDataSample()
        s.gt_img = torch.zeros(3, h, w)
        s.warped_img = torch.zeros(3, h, w)
        s.pred_img = torch.zeros(3, h, w)
        samples.append(s)
    return dict(inputs=dict(src_img=src)), samples


def test_hook_ranks_and_names(tmp_path, monkeypatch):
    runner = SimpleNamespace(work_dir=str(tmp_path / 'work'), iter=9,
                             visualizer=_Visualizer())
    out_dir = str(tmp_path / 'show')
    hook = LWGANVisualizationHook(interval=5, enable_test=True,
                                  out_dir=out_dir)
    data_batch, samples = _fake_batch()

    # single process: test grids per batch, val grid of the first batch
    hook.after_test_iter(runner, 3, data_batch, samples)
    hook.after_val_iter(runner, 0, data_batch, samples)
    hook.after_val_iter(runner, 1, data_batch, samples)
    assert sorted(os.listdir(out_dir)) == ['test_batch00003.png',
                                           'val_iter0000009.png']
    assert [i[0] for i in runner.visualizer.images] == ['test', 'val']
    assert runner.visualizer.images[0][1] == (16, 32, 3)

    # rank 1 of 2: no training / validation grids, rank-named test grids
    monkeypatch.setattr(vis_module, 'get_dist_info', lambda: (1, 2))
    runner.iter = 14  # iteration 15: a training grid is due
    hook.after_train_iter(runner, 0, data_batch, None)
    hook.after_val_iter(runner, 0, data_batch, samples)
    hook.after_test_iter(runner, 3, data_batch, samples)
    assert sorted(os.listdir(out_dir)) == [
        'test_batch00003.png', 'test_batch00003_rank1.png',
        'val_iter0000009.png'
    ]

    # interval 0: no training grids at all, even on rank 0
    monkeypatch.setattr(vis_module, 'get_dist_info', lambda: (0, 1))
    hook = LWGANVisualizationHook(interval=0, enable_val=False)
    hook.after_train_iter(runner, 0, data_batch, None)
    hook.after_val_iter(runner, 0, data_batch, samples)
    hook.after_test_iter(runner, 0, data_batch, samples)
    assert not osp.exists(osp.join(runner.work_dir, 'vis'))

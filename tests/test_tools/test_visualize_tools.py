# Copyright (c) mmlwgan contributors. All rights reserved.
"""Picture tools: visualize_predictions.py (held-out prediction grids),
frame_strip.py (video -> PNG strip) and the benchmark's noisy-set label."""
import importlib.util
import json
import os.path as osp

import cv2
import numpy as np
import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(ROOT, 'tools')
CONFIG = osp.join(ROOT, 'configs', 'lwgan',
                  'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py')
CHECKPOINT = osp.join(ROOT, 'demo', 'checkpoints',
                      'lwgan_lwb-tiny-v3_synthetic-64_fp16.pth')


def _load(rel, name):
    spec = importlib.util.spec_from_file_location(name, osp.join(TOOLS, rel))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def vis():
    return _load('analysis_tools/visualize_predictions.py',
                 'visualize_predictions')


@pytest.fixture(scope='module')
def strip():
    return _load('misc/frame_strip.py', 'frame_strip')


def test_pick_pairs_spreads_over_videos_and_frames(vis):
    infos = [dict(video_id=v, tgt_frame_id=t, src_frame_ids=[0])
             for v in ('a', 'b', 'c') for t in range(0, 20)]
    picks = vis.pick_pairs(infos, 5)
    assert len(picks) == 5
    chosen = [infos[i] for i in picks]
    # round robin over the videos, never the source frame itself
    assert [c['video_id'] for c in chosen] == ['a', 'b', 'c', 'a', 'b']
    assert all(c['tgt_frame_id'] != 0 for c in chosen)
    # the videos are shown at different frames
    assert len({c['tgt_frame_id'] for c in chosen[:3]}) == 3
    assert vis.pick_pairs(infos[:1], 3) == []  # only the source frame
    assert len(vis.pick_pairs(infos[:3], 10)) == 2


def test_compose_grid_layout(vis):
    cell = np.full((16, 16, 3), 100, np.uint8)
    rows = [[cell] * 5, [cell] * 5]
    grid = vis.compose_grid(rows, ['x 0>3', ''], [[None] * 5] * 2, scale=3,
                            title='t')
    # header (title + column names) + 2 rows of 48 px with a 2 px gap
    assert grid.shape == (42 + 2 * 50, 5 * 50 - 2, 3)
    assert grid.dtype == np.uint8


def test_visualize_predictions_end_to_end(vis, tmp_path):
    from mmlwgan.synthetic.iper import make_synthetic_iper
    data = str(tmp_path / 'data')
    make_synthetic_iper(data, num_actors=2, num_clothes=1, num_actions=1,
                        num_frames=10, image_size=64, seed=7)
    out = str(tmp_path / 'grid.png')
    assert vis.main([CONFIG, CHECKPOINT, '--data-root', data, '--out', out,
                     '--rows', '2', '--scale', '1']) == out
    img = cv2.imread(out)
    assert img.shape == (22 + 2 * 66, 5 * 66 - 2, 3)
    with pytest.raises(FileNotFoundError, match='val.txt'):
        vis.main([CONFIG, CHECKPOINT, '--data-root', str(tmp_path), '--out',
                  out])


def test_frame_strip(strip, tmp_path):
    from mmlwgan.utils.io import AtomicVideoWriter
    video = str(tmp_path / 'v.mp4')
    with AtomicVideoWriter(video, fps=10) as writer:
        for i in range(12):
            frame = np.zeros((32, 48, 3), np.uint8)
            frame[:, :4 * (i + 1)] = 200
            writer.write(frame)
    frames = strip.read_frames(video)
    assert len(frames) == 12
    out = strip.frame_strip(frames, 4, cols=2, scale=2, labels=False)
    assert out.shape == (2 * 64 + 2, 2 * 96 + 2, 3)
    # first and last frames are included, in order: the bright band grows
    first, last = out[:64, :96], out[66:, 98:]
    assert (first[..., 0] > 100).mean() < (last[..., 0] > 100).mean()
    png = str(tmp_path / 's.png')
    assert strip.main([video, '--frames', '3', '--out', png]) == png
    assert cv2.imread(png).shape == (32, 3 * 48 + 4, 3)
    with pytest.raises(FileNotFoundError):
        strip.main([str(tmp_path / 'missing.mp4'), '--out', png])


def test_benchmark_describes_the_noisy_set(tmp_path):
    ba = _load('analysis_tools/benchmark_ablations.py', 'benchmark_ablations')
    assert ba.describe_data(str(tmp_path)).endswith(str(tmp_path))
    meta = dict(params=dict(
        noise=dict(preset='hmr'), loose=dict(hair=1.0, skirt=0.5),
        shading=dict(model='lambert')),
        annotation_error=dict(mean=dict(pa_mpjpe_mm=57.4)))
    with open(tmp_path / 'synthetic_iper.json', 'w') as f:
        json.dump(meta, f)
    text = ba.describe_data(str(tmp_path))
    assert 'hmr annotation noise (PA-MPJPE 57 mm)' in text
    assert 'loose hair/skirt' in text and 'lambert shading' in text
    assert ba.REAL_WORLD == dict(noise='hmr', loose='all', shading='lambert')
    with pytest.raises(SystemExit):
        ba.main(['--iters', '1'])


def test_pick_pairs_never_repeats(vis):
    for n in range(2, 9):
        infos = [dict(video_id=v, tgt_frame_id=t, src_frame_ids=[0])
                 for v in ('a', 'b', 'c', 'd') for t in range(n)]
        for rows in range(1, 4 * n + 2):
            picks = vis.pick_pairs(infos, rows)
            assert len(picks) == len(set(picks)) == min(rows, 4 * (n - 1))


def test_eval_backgrounds_rows(tmp_path, capsys, gbg_whole_config):
    """eval_backgrounds.py: every row on the same held-out pairs; the
    training-free rows are what they say, 'inpainted' keeps the source's
    pixels so it is far closer to the truth than G_BG's whole picture."""
    from mmlwgan.synthetic.iper import make_synthetic_iper
    ev = _load('analysis_tools/eval_backgrounds.py', 'eval_backgrounds')
    data = str(tmp_path / 'data')
    make_synthetic_iper(data, num_actors=2, num_clothes=1, num_actions=1,
                        num_frames=10, image_size=64, seed=7)
    # the bundled config keeps the known pixels: 'generated' is 'original'
    kept = ev.evaluate(CONFIG, CHECKPOINT, data, 3)
    assert kept['generated'] == kept['original']
    res = ev.evaluate(gbg_whole_config, CHECKPOINT, data, 3)
    assert list(res) == ['copy-source', 'warp-only', 'generated',
                         'original', 'inpainted']
    assert res['original'] == kept['original']
    assert res['inpainted'] == kept['inpainted']
    # the background choice leaves the body alone: same masked L1 for
    # 'generated' and 'original' (both paint G_TSF over a background that
    # only differs away from the body, up to the soft mask's edge)
    assert abs(res['generated']['MaskedL1'] -
               res['original']['MaskedL1']) < 0.01
    assert res['inpainted']['L1'] < 0.5 * res['generated']['L1']
    assert res['inpainted']['SSIM'] > res['original']['SSIM'] > \
        res['generated']['SSIM']
    assert ev.main([CONFIG, CHECKPOINT, '--data-root', data,
                    '--test-interval', '3']) == 0
    out = capsys.readouterr().out
    assert "| model, background='inpainted' |" in out
    assert sum(line.startswith('|') for line in out.splitlines()) == 7


def test_visualize_predictions_background(vis, tmp_path, gbg_whole_config):
    """'ours' goes through the inference path with the chosen background:
    'inpainted' keeps the source's own pixels away from both bodies (G_BG's
    whole picture, what 'test' shows without bg_fill_hole_only, does
    not)."""
    import torch
    from mmlwgan.synthetic.iper import make_synthetic_iper
    from mmlwgan.visualization.image_utils import to_uint8
    data = str(tmp_path / 'data')
    make_synthetic_iper(data, num_actors=2, num_clothes=1, num_actions=1,
                        num_frames=10, image_size=64, seed=7)
    model, dataset = vis.build(vis.parse_args(
        [gbg_whole_config, CHECKPOINT, '--data-root', data,
         '--out', 'x.png']))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    picks = vis.pick_pairs(infos, 2)
    cells = {bg: vis.predict_rows(model, dataset, picks, bg)[0]
             for bg in ('inpainted', 'test')}
    from mmengine.dataset import pseudo_collate
    data_in = pseudo_collate([dataset[i] for i in picks])
    inputs = model.data_preprocessor(data_in, False)['inputs']
    geo = model.compute_geometry(inputs['src_smpl'], inputs['tgt_smpl'])
    far = torch.nn.functional.max_pool2d(
        geo['src_body'][:, 0] + geo['tgt_body'], 9, 1, 4)[:, 0] == 0
    for i in range(len(picks)):
        src = to_uint8(inputs['src_img'][i, 0], (-1, 1))
        away = far[i].numpy()
        assert away.mean() > 0.5
        diff = {bg: np.abs(c[i][3].astype(int) - src.astype(int))[away]
                for bg, c in cells.items()}
        assert diff['inpainted'].max() <= 1
        assert diff['test'].mean() > 5
        # the other columns do not depend on the background
        for k in (0, 1, 2, 4):
            assert np.array_equal(cells['inpainted'][i][k],
                                  cells['test'][i][k])

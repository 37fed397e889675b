# Copyright (c) mmlwgan contributors. All rights reserved.
"""tools/analysis_tools/benchmark.py at a tiny size: it runs in seconds and
prints our throughput, the baseline's, their ratio, our time over the G_TSF
floor and the per-stage breakdown."""
import importlib.util
import os.path as osp
import re

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark.py')


def load_benchmark():
    spec = importlib.util.spec_from_file_location('mmlwgan_benchmark',
                                                  SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def bench():
    return load_benchmark()


def test_benchmark_tiny_prints_the_expected_rows(bench, capsys, tmp_path,
                                                  synthetic_smpl_dir):
    out = bench.main([
        '--device', 'cpu', '--models', 'tiny', '--sizes', '32', '--batch',
        '1', '2', '--frames', '4', '--repeats', '1', '--stage-reps', '1',
        '--cache-dir', synthetic_smpl_dir
    ])
    text = capsys.readouterr().out
    for row in ('baseline (release way, batch 1)', 'ours batch 1',
                'ours batch 2', 'G_TSF floor batch 1', 'G_TSF floor batch 2',
                'ours batch 2, no overlap'):
        assert row in text, row
    # the headline: ours, the baseline, their ratio, ours over the floor
    line = next(ln for ln in text.splitlines() if ln.startswith('ours ') and
                'ratio' in ln)
    assert re.search(r'ours [\d.]+ frames/s \(batch \d\)', line)
    assert re.search(r'baseline [\d.]+ frames/s', line)
    assert re.search(r'ratio [\d.]+x', line)
    assert re.search(r'ours / G_TSF floor [\d.]+', line)
    for stage in ('HMR', 'SMPL + projection', 'rasterize', 'flow',
                  'G_TSF', 'compose', 'video decode', 'video encode',
                  'rasterize, SMPL-sized mesh'):
        assert stage in text, stage
    res = out['results'][0]
    s = res['summary']
    assert s['ours_fps'] > 0 and s['baseline_fps'] > 0
    assert s['ratio'] == pytest.approx(s['ours_fps'] / s['baseline_fps'])
    # same frames as the baseline (uint8 rounding at most)
    assert s['maxdiff'] is not None and s['maxdiff'] <= 1
    for case in res['cases']:
        assert case.mem > 0 and len(case.times) == 1
    from mmlwgan.utils.allocator import glibc_malloc_tunable
    if glibc_malloc_tunable():
        # ours keeps freed memory: the baseline ran in a child process with
        # glibc's defaults (same weights: the frames above matched), and
        # again here with our setting
        assert 'freed memory retained (ours): yes' in text
        assert 'baseline + our malloc setting' in text
        assert s['ratio_same_malloc'] > 0
        assert 'with our malloc setting' in line
        # the child's per-stage times reached the breakdown
        assert 'inside the timed baseline run: smpl' in text


def test_benchmark_train_and_personalize_tiny(bench, capsys,
                                              synthetic_smpl_dir):
    bench.main([
        '--device', 'cpu', '--skip-e2e', '--train', '--train-configs',
        'configs/lwgan/lwgan_lite-tiny_1xb4-300i_synthetic-64.py',
        '--train-size', '32', '--train-batch', '1', '--train-iters', '1',
        '--personalize', '--personalize-model', 'tiny',
        '--personalize-sizes', '32', '--personalize-steps', '1',
        '--cache-dir', synthetic_smpl_dir
    ])
    text = capsys.readouterr().out
    assert re.search(r'lwgan_lite-tiny\S* +32 px +[\d.]+ it/s', text)
    assert re.search(r'32 px +[\d.]+ s/step +peak +\d+ MiB', text)

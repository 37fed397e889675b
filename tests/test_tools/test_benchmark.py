# Copyright (c) mmlwgan contributors. All rights reserved.
"""tools/analysis_tools/benchmark_inference.py and benchmark_training.py at a
tiny size: they run in seconds; the first prints our throughput, the
baseline's, their ratio, our time over the G_TSF floor and the per-stage
breakdown, the second training iterations/s and personalisation time and
memory."""
import importlib.util
import os.path as osp
import re

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
TOOLS = osp.join(ROOT, 'tools', 'analysis_tools')


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(
        f'mmlwgan_{name}', osp.join(TOOLS, f'{name}.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def bench():
    return load_script('benchmark_inference')


@pytest.fixture(scope='module')
def train_bench():
    return load_script('benchmark_training')


def test_every_option_has_a_home(bench, train_bench):
    """The options of the former single benchmark script, each in the
    script that runs what it configures."""
    a = bench.parse_args([
        '--device', 'cpu', '--models', 'tiny', '--sizes', '32', '--batch',
        '1', '2', '--frames', '4', '--repeats', '1', '--amp', 'none', 'bf16',
        '--compile', '--compile-mode', 'max-autotune', '--hmr', '--no-serial',
        '--no-breakdown', '--stage-reps', '1', '--threads', '1',
        '--cache-dir', 'c'
    ])
    assert a.amp_list(bench.torch.device('cpu')) == ['none', 'bf16']
    assert (a.compile, a.hmr, a.no_serial, a.no_breakdown) == (True, ) * 4
    t = train_bench.parse_args([
        '--device', 'cpu', '--amp', 'fp16', '--threads', '1', '--cache-dir',
        'c', '--train', '--train-configs', 'a.py', '--train-size', '32',
        '--train-batch', '1', '--train-iters', '1', '--personalize',
        '--personalize-model', 'tiny', '--personalize-sizes', '32',
        '--personalize-steps', '1', '--fidelity', '--iters', '3',
        '--data-root', 'd', '--test-interval', '2', '--fidelity-dir', 'f',
        '--lwb-ckpt', 'l.pth', '--nice', '1'
    ])
    assert (t.train, t.personalize, t.fidelity) == (True, True, True)
    assert t.amp_list(train_bench.torch.device('cuda')) == ['fp16']
    # by default: bf16 on CUDA, fp32 on the CPU; training and
    # personalisation, not the (long) fidelity run
    t = train_bench.parse_args([])
    assert (t.train, t.personalize, t.fidelity) == (True, True, False)
    assert t.amp_list(train_bench.torch.device('cuda')) == ['bf16']
    assert t.amp_list(train_bench.torch.device('cpu')) == ['none']


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


def test_benchmark_train_and_personalize_tiny(train_bench, capsys,
                                              synthetic_smpl_dir):
    out = train_bench.main([
        '--device', 'cpu', '--train', '--train-configs',
        'configs/lwgan/lwgan_lite-tiny_1xb4-300i_synthetic-64.py',
        '--train-size', '32', '--train-batch', '1', '--train-iters', '1',
        '--personalize', '--personalize-model', 'tiny',
        '--personalize-sizes', '32', '--personalize-steps', '1',
        '--cache-dir', synthetic_smpl_dir
    ])
    text = capsys.readouterr().out
    assert re.search(r'lwgan_lite-tiny\S* +32 px +[\d.]+ it/s', text)
    assert re.search(r'32 px +[\d.]+ s/step +peak +\d+ MiB', text)
    assert out['personalization']['cpu'][32] > 0
    assert out['fidelity'] is None

# Copyright (c) mmlwgan contributors. All rights reserved.
"""The web app's runner (no browser, no gradio): progress callbacks,
browser-playable videos, the CLI's error line, and what the core imports."""
import os.path as osp
import subprocess
import sys

import cv2
import pytest

from mmlwgan.apis.web import WebRunner, error_line
from mmlwgan.apis.web.examples import (DEMO_CHECKPOINT, DEMO_CONFIG,
                                       clothes_example, demo_inputs)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def runner(tmp_path_factory, synthetic_smpl_npz):
    return WebRunner(
        DEMO_CONFIG, DEMO_CHECKPOINT,
        cfg_options={'model.body_model.model_path': synthetic_smpl_npz},
        out_root=str(tmp_path_factory.mktemp('web-runs')))


def _video_info(path):
    cap = cv2.VideoCapture(path)
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, 'little')
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return fourcc.decode('ascii', 'replace').lower(), n


def test_imitation_progress_and_h264(runner):
    ex = demo_inputs()
    events = []
    res = runner.run('imitation', lambda *e: events.append(e),
                     src=ex['source'], src_smpl=ex['source_smpl'],
                     ref=ex['motion'], side_by_side=True,
                     background='original')
    assert res['num_frames'] == 60
    for key in ('video', 'side_by_side'):
        fourcc, n = _video_info(res[key])
        assert fourcc in ('avc1', 'h264'), fourcc
        assert n == 60
    steps = [e for e in events if e[0] == 'imitation']
    assert steps[0][1] == 0 and steps[-1][1] == steps[-1][2] > 0
    assert [e[1] for e in steps] == sorted(e[1] for e in steps)
    assert events[-1][0] == 'encoding the video'


def test_fast_path_reports_frames(runner):
    """The optimised path updates its bar by hand, frame by frame."""
    ex = demo_inputs()
    events = []
    res = runner.run('imitation', lambda *e: events.append(e),
                     src=ex['source'], src_smpl=ex['source_smpl'],
                     ref=ex['motion'], fast=True)
    steps = [e for e in events if e[0] == 'imitation']
    assert steps[0] == ('imitation', 0, 60)
    assert steps[-1] == ('imitation', 60, 60)
    assert res['num_frames'] == 60


def test_novel_view_personalize_progress(runner):
    ex = demo_inputs()
    events = []
    res = runner.run('view', lambda *e: events.append(e), src=ex['source'],
                     src_smpl=ex['source_smpl'], num_views=4,
                     personalize_steps=2, background='original')
    assert res['num_frames'] == 4
    assert ('personalize', 2, 2) in events
    assert ('views', 1, 1) in events


def test_transfer_with_clothes_example(runner, synthetic_smpl_dir):
    ex = demo_inputs()
    clothes = clothes_example(synthetic_smpl_dir)
    assert clothes == clothes_example(synthetic_smpl_dir)  # cached
    res = runner.run('transfer', None, src=ex['source'],
                     src_smpl=ex['source_smpl'], ref=clothes['image'],
                     ref_smpl=clothes['smpl'], keep_parts=('head', ))
    assert res['num_frames'] == 1 and osp.isfile(res['video'])
    assert 'head' in runner.part_names


def test_bad_input_is_one_cli_line(runner, tmp_path):
    missing = str(tmp_path / 'nobody.png')
    with pytest.raises(Exception) as info:
        runner.run('view', None, src=missing)
    line = error_line(info.value)
    assert line.startswith('error: ') and '\n' not in line
    assert 'nobody.png' in line
    assert error_line(ValueError('a\n  b')) == 'error: a b'
    assert error_line(RuntimeError('boom')) == 'error: RuntimeError: boom'


def test_core_imports_no_gradio_no_ops(synthetic_smpl_npz):
    """The demo's path imports neither gradio nor mmcv's compiled ops,
    mmdet or mmpose (so `make demo` needs none of them)."""
    code = (
        'import sys\n'
        'import mmlwgan.apis, mmlwgan.apis.web, mmlwgan.apis.web.examples\n'
        'from mmlwgan.apis import MotionImitationInferencer\n'
        'from mmlwgan.apis.web.examples import *\n'
        'inf = MotionImitationInferencer(DEMO_CONFIG, DEMO_CHECKPOINT, '
        'device="cpu", show_progress=False, cfg_options={'
        '"model.body_model.model_path": sys.argv[1]})\n'
        'bad = [m for m in sys.modules if m.split(".")[0] in '
        '("gradio", "mmdet", "mmpose") or m.startswith("mmcv.ops")]\n'
        'assert not bad, bad\n')
    subprocess.run([sys.executable, '-c', code, synthetic_smpl_npz],
                   cwd=ROOT, check=True, timeout=120)

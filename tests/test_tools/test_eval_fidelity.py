# Copyright (c) mmlwgan contributors. All rights reserved.
"""eval_fidelity.py: held-out rows and per-stream diagnostics of several
models on the same pairs."""
import importlib.util
import json
import os.path as osp

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'lwgan',
                  'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py')
CHECKPOINT = osp.join(ROOT, 'demo', 'checkpoints',
                      'lwgan_lwb-tiny-v3_synthetic-64_fp16.pth')


def _load():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'eval_fidelity.py')
    spec = importlib.util.spec_from_file_location('eval_fidelity', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eval_fidelity_rows_and_diagnostics(tmp_path, capsys,
                                            gbg_whole_config):
    from mmlwgan.synthetic.iper import make_synthetic_iper
    ev = _load()
    data = str(tmp_path / 'data')
    make_synthetic_iper(data, num_actors=2, num_clothes=1, num_actions=1,
                        num_frames=10, image_size=64, seed=7)
    # 'a': G_BG's whole picture as background; 'b': the bundled config
    # (bg_fill_hole_only: the source's known pixels kept)
    out_json = str(tmp_path / 'res.json')
    table, diags = ev.main([
        '--data-root', data, '--test-interval', '3', '--json', out_json,
        '--model', 'a', gbg_whole_config, CHECKPOINT,
        '--model', 'b', CONFIG, CHECKPOINT])
    assert list(table) == [
        'a', 'a: mask+colour over source bg', 'a: hole by cv2.inpaint',
        'a: colour in body, source elsewhere', 'warp-only', 'copy-source',
        'b', 'b: mask+colour over source bg', 'b: hole by cv2.inpaint',
        'b: colour in body, source elsewhere']
    # same weights: keeping the known pixels changes the background only
    assert abs(table['a']['MaskedL1'] - table['b']['MaskedL1']) < 0.01
    assert table['b']['SSIM'] > table['a']['SSIM']
    for row in ('mask+colour over source bg', 'hole by cv2.inpaint',
                'colour in body, source elsewhere'):
        assert table[f'a: {row}'] == table[f'b: {row}']
    assert diags['a'] == diags['b']
    assert set(diags['a']) == {
        'G_BG hole', 'cv2.inpaint hole', 'G_BG known', 'G_SID rec (body)',
        'G_TSF colour (body)', 'I_syn (body)'}
    # the G_TSF diagnostic is the 'colour in body' row's masked L1
    assert abs(diags['a']['G_TSF colour (body)'] - table[
        'a: colour in body, source elsewhere']['MaskedL1']) < 1e-4
    assert abs(diags['a']['I_syn (body)'] -
               table['warp-only']['MaskedL1']) < 1e-4
    with open(out_json) as f:
        assert set(json.load(f)) == {'table', 'diagnostics'}
    out = capsys.readouterr().out
    assert '| warp-only |' in out and '| model | G_BG hole |' in out

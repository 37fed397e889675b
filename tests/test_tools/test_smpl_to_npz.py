# Copyright (c) mmlwgan contributors. All rights reserved.
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmlwgan.models.body import load_smpl_model_data
from mmlwgan.synthetic import save_synthetic_smpl

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SCRIPT = osp.join(ROOT, 'tools', 'model_converters', 'smpl_to_npz.py')


def _load_cli():
    spec = importlib.util.spec_from_file_location('smpl_to_npz_cli', SCRIPT)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    return cli


@pytest.fixture(scope='module')
def release_pkl(tmp_path_factory):
    # a pickle laid out like the release: chumpy Ch shapedirs, sparse
    # J_regressor, HMR's cocoplus_regressor
    folder = tmp_path_factory.mktemp('release')
    return save_synthetic_smpl(str(folder / 'SMPL_NEUTRAL.pkl'))


def test_convert_round_trip(release_pkl, tmp_path):
    cli = _load_cli()
    out = cli.main([release_pkl, str(tmp_path / 'smpl.npz')])
    assert out == str(tmp_path / 'smpl.npz')
    src = load_smpl_model_data(release_pkl)
    dst = load_smpl_model_data(out)
    assert set(src) == set(dst)
    for key, value in src.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(dst[key], value, err_msg=key)
            assert dst[key].dtype == value.dtype, key
        else:
            assert dst[key] == value, key
    assert dst['joint_regressor_extra'].shape[0] == 19
    with np.load(out, allow_pickle=False) as npz:  # no pickle inside
        assert isinstance(npz['J_regressor'], np.ndarray)
    # a directory + gender works too
    out2 = cli.main([osp.dirname(release_pkl), str(tmp_path / 'dir.npz'),
                     '--no-compress'])
    np.testing.assert_array_equal(
        load_smpl_model_data(out2)['shapedirs'], src['shapedirs'])


def test_convert_missing_input(tmp_path):
    cli = _load_cli()
    with pytest.raises(FileNotFoundError, match='nope.pkl'):
        cli.main([str(tmp_path / 'nope.pkl'), str(tmp_path / 'x.npz')])


def test_script_runs_standalone(release_pkl, tmp_path):
    out = tmp_path / 'cli.npz'
    proc = subprocess.run(
        [sys.executable, SCRIPT, release_pkl, str(out)],
        capture_output=True, text=True, timeout=120,
        env=dict(os.environ, OMP_NUM_THREADS='1'))
    assert proc.returncode == 0, proc.stderr
    assert 'written' not in proc.stdout and str(out) in proc.stdout
    assert out.is_file()
    np.testing.assert_array_equal(
        load_smpl_model_data(out)['J_regressor'],
        load_smpl_model_data(release_pkl)['J_regressor'])


def test_convert_hmr_checkpoint_buffers(tmp_path):
    import torch
    from mmlwgan.synthetic import make_synthetic_smpl
    data = make_synthetic_smpl()
    nv = data['v_template'].shape[0]
    # the TF-HMR layout of the released hmr_tf2pt.pth (flattened 3 * v + c)
    state = {
        'regressor.mean_theta': torch.zeros(85),
        'smpl.v_template': torch.tensor(data['v_template']),
        'smpl.shapedirs': torch.tensor(
            data['shapedirs'].reshape(nv * 3, -1).T.copy()),
        'smpl.posedirs': torch.tensor(
            data['posedirs'].reshape(nv * 3, -1).T.copy()),
        'smpl.J_regressor': torch.tensor(data['J_regressor'].T.copy()),
        'smpl.weights': torch.tensor(data['weights']),
        'smpl.joint_regressor': torch.tensor(
            data['joint_regressor_extra'].T.copy()),
    }
    assert state['smpl.shapedirs'].shape == (10, 3 * nv)
    torch.save(state, tmp_path / 'hmr.pth')
    np.save(tmp_path / 'faces.npy', data['f'])
    cli = _load_cli()
    with pytest.raises(ValueError, match='--faces'):
        cli.main([str(tmp_path / 'hmr.pth'), str(tmp_path / 'x.npz')])
    out = cli.main([str(tmp_path / 'hmr.pth'), str(tmp_path / 'hmr.npz'),
                    '--faces', str(tmp_path / 'faces.npy')])
    res = load_smpl_model_data(out)
    for key in ('v_template', 'shapedirs', 'posedirs', 'J_regressor',
                'weights', 'kintree_table', 'f', 'joint_regressor_extra'):
        np.testing.assert_allclose(res[key], data[key], err_msg=key)
    del state['smpl.weights']
    torch.save(state, tmp_path / 'bad.pth')
    with pytest.raises(ValueError, match='smpl.weights'):
        cli.main([str(tmp_path / 'bad.pth'), str(tmp_path / 'y.npz'),
                  '--faces', str(tmp_path / 'faces.npy')])

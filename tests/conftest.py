# Copyright (c) mmlwgan contributors. All rights reserved.
import pytest


@pytest.fixture(scope='session')
def synthetic_smpl_dir(tmp_path_factory):
    """A folder holding the synthetic SMPL-format body as SMPL_NEUTRAL.npz and
    SMPL_NEUTRAL.pkl (generated once per test session)."""
    from mmlwgan.synthetic import get_synthetic_smpl_path
    folder = tmp_path_factory.mktemp('smpl')
    get_synthetic_smpl_path(str(folder), fmt='npz')
    get_synthetic_smpl_path(str(folder), fmt='pkl')
    return str(folder)


@pytest.fixture(scope='session')
def synthetic_smpl_npz(synthetic_smpl_dir):
    import os.path as osp
    return osp.join(synthetic_smpl_dir, 'SMPL_NEUTRAL.npz')

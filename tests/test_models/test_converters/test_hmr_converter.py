# Copyright (c) mmlwgan contributors. All rights reserved.
"""The released HMR file (keys and shapes of official_checkpoints/hmr.txt)
converts onto mmlwgan's HMR, and its SMPL buffers onto an SMPL npz."""
import ast
import os
import os.path as osp
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

from mmlwgan.models.body import SMPL, load_smpl_model_data, save_smpl_npz
from mmlwgan.models.body.hmr import HMR
from mmlwgan.models.converters.hmr import (convert_hmr, extract_smpl_from_hmr,
                                           load_raw_state_dict)

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
# Header of the listing: 326 tensors of the network (SMPL buffers apart);
# its value count gives () tensors (num_batches_tracked) no value.
NUM_TENSORS, NUM_VALUES, NUM_SCALARS = 326, 26886826, 49


def find_listing(name: str):
    """The reference listing, from $MMLWGAN_REFERENCE_DIR, tests/data or the
    shared reference folder of the project."""
    folders = [
        os.environ.get('MMLWGAN_REFERENCE_DIR', ''),
        osp.join(REPO, 'tests', 'data', 'official_checkpoints'),
        '/work/shared/reference/official_checkpoints',
    ]
    for folder in folders:
        path = osp.join(folder, name)
        if folder and osp.isfile(path):
            return path
    return None


def read_listing(path):
    """[(key, shape)] of every tensor line (comments skipped)."""
    entries = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            key, shape = line.split('\t')
            entries.append((key, tuple(ast.literal_eval(shape))))
    return entries


HMR_LISTING = find_listing('hmr.txt')
needs_listing = pytest.mark.skipif(
    HMR_LISTING is None, reason='official_checkpoints/hmr.txt not found')


@pytest.fixture(scope='module')
def release_state_dict():
    """Random values with the released keys and shapes; each key distinct."""
    gen = torch.Generator().manual_seed(0)
    out = OrderedDict()
    for idx, (key, shape) in enumerate(read_listing(HMR_LISTING)):
        if key.endswith('num_batches_tracked'):
            out[key] = torch.tensor(1000 + idx, dtype=torch.long)
        else:
            out[key] = torch.rand(shape, generator=gen) + idx
    return out


@needs_listing
def test_listing_header():
    entries = [e for e in read_listing(HMR_LISTING)
               if not e[0].startswith('smpl.')]
    assert len(entries) == NUM_TENSORS
    assert sum(int(np.prod(s)) for _, s in entries) == NUM_VALUES + \
        NUM_SCALARS


@needs_listing
def test_convert_hmr_strict_load(release_state_dict):
    converted = convert_hmr(release_state_dict)
    assert len(converted) == NUM_TENSORS
    assert not any(k.startswith('smpl.') for k in converted)
    hmr = HMR()
    own = hmr.state_dict()
    assert list(own) == list(converted)  # same order, same names
    hmr.load_state_dict(converted, strict=True)
    own = hmr.state_dict()
    for key, value in release_state_dict.items():
        if key.startswith('smpl.'):
            continue
        new = 'backbone.' + key[len('resnet.'):] if key.startswith(
            'resnet.') else key
        assert torch.equal(own[new], value), key
    # spot checks of the mapping
    assert torch.equal(hmr.backbone.layer1[0].shortcut[0].bias,
                       release_state_dict['resnet.layer1.0.shortcut.0.bias'])
    assert torch.equal(hmr.backbone.post_bn.running_var,
                       release_state_dict['resnet.post_bn.running_var'])
    assert torch.equal(hmr.regressor.mean_theta,
                       release_state_dict['regressor.mean_theta'])
    assert torch.equal(hmr.regressor.fc_blocks.fc1.weight,
                       release_state_dict['regressor.fc_blocks.fc1.weight'])
    assert int(hmr.backbone.layer4[2].bn3.num_batches_tracked) == int(
        release_state_dict['resnet.layer4.2.bn3.num_batches_tracked'])

    # wrapped, with a DataParallel prefix
    wrapped = dict(state_dict=OrderedDict(
        ('module.' + k, v) for k, v in release_state_dict.items()))
    again = convert_hmr(wrapped)
    assert list(again) == list(converted)
    with pytest.raises(KeyError,
                       match='unexpected keys in the HMR checkpoint'):
        convert_hmr({**release_state_dict, 'foo.bar': torch.zeros(1)})
    assert 'foo.bar' not in convert_hmr(
        {**release_state_dict, 'foo.bar': torch.zeros(1)}, strict=False)


@needs_listing
def test_extract_smpl_release_shapes(release_state_dict):
    sd = release_state_dict
    faces = np.array([[0, 1, 2], [2, 3, 0]])
    data = extract_smpl_from_hmr(sd, faces=faces)
    assert data['v_template'].shape == (6890, 3)
    assert data['shapedirs'].shape == (6890, 3, 10)
    assert data['posedirs'].shape == (6890, 3, 207)
    assert data['J_regressor'].shape == (24, 6890)
    assert data['weights'].shape == (6890, 24)
    assert data['joint_regressor_extra'].shape == (19, 6890)
    assert data['kintree_table'].shape == (2, 24)
    # flattened index 3 * v + c of TF-HMR's layout
    v, c, b = 1234, 2, 7
    assert data['shapedirs'][v, c, b] == pytest.approx(
        float(sd['smpl.shapedirs'][b, 3 * v + c]))
    assert data['posedirs'][v, c, 100] == pytest.approx(
        float(sd['smpl.posedirs'][100, 3 * v + c]))
    assert data['J_regressor'][5, v] == pytest.approx(
        float(sd['smpl.J_regressor'][v, 5]))
    assert data['joint_regressor_extra'][3, v] == pytest.approx(
        float(sd['smpl.joint_regressor'][v, 3]))
    np.testing.assert_array_equal(data['f'], faces)
    # no faces: an empty face list
    assert extract_smpl_from_hmr(sd)['f'].shape == (0, 3)


def _fake_release_smpl(data):
    """The synthetic body's arrays in the release's key names and layout."""
    num_verts = data['v_template'].shape[0]
    return OrderedDict([
        ('smpl.v_template', torch.tensor(data['v_template'])),
        ('smpl.shapedirs',
         torch.tensor(data['shapedirs'].reshape(num_verts * 3, -1).T)),
        ('smpl.J_regressor', torch.tensor(data['J_regressor'].T)),
        ('smpl.posedirs',
         torch.tensor(data['posedirs'].reshape(num_verts * 3, -1).T)),
        ('smpl.weights', torch.tensor(data['weights'])),
        ('smpl.joint_regressor',
         torch.tensor(data['joint_regressor_extra'].T)),
    ])


def test_extract_smpl_matches_synthetic_body(synthetic_smpl_npz, tmp_path):
    src = load_smpl_model_data(synthetic_smpl_npz)
    fake = _fake_release_smpl(src)
    fake['regressor.mean_theta'] = torch.zeros(85)
    data = extract_smpl_from_hmr(fake, faces=src['f'])
    # The checkpoint has no landmark vertex ids: smplx's defaults fit the
    # real 6890-vertex SMPL; the smaller synthetic body needs its own.
    data['vertex_ids'] = src['vertex_ids']
    path = save_smpl_npz(data, str(tmp_path / 'from_hmr.npz'))
    ours, ref = SMPL(path), SMPL(synthetic_smpl_npz)
    torch.manual_seed(0)
    pose = torch.randn(3, 72) * 0.3
    betas = torch.randn(3, 10)
    a, b = ours(pose, betas), ref(pose, betas)
    assert torch.allclose(a['vertices'], b['vertices'], atol=1e-5)
    assert torch.allclose(a['keypoints_extra'], b['keypoints_extra'],
                          atol=1e-5)
    assert torch.equal(ours.faces, ref.faces)


@needs_listing
def test_cli(release_state_dict, synthetic_smpl_npz, tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tools', 'model_converters'))
    try:
        import convert_hmr as cli
    finally:
        sys.path.pop(0)
    src = load_smpl_model_data(synthetic_smpl_npz)
    release = OrderedDict(
        (k, v) for k, v in release_state_dict.items()
        if not k.startswith('smpl.'))
    release.update(_fake_release_smpl(src))
    src_path = str(tmp_path / 'hmr_tf2pt.pth')
    torch.save({'module.' + k: v for k, v in release.items()}, src_path)
    faces_path = str(tmp_path / 'faces.npy')
    np.save(faces_path, src['f'])
    dst = str(tmp_path / 'out' / 'hmr.pth')
    smpl_out = str(tmp_path / 'out' / 'SMPL_NEUTRAL')
    cli.main([src_path, dst, '--smpl-out', smpl_out, '--faces', faces_path])
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'meta', 'state_dict'}
    assert ckpt['meta']['converted_from'] == 'hmr_tf2pt.pth'
    hmr = HMR(pretrained=dst)
    assert torch.equal(hmr.regressor.fc_blocks.fc3.bias,
                       release['regressor.fc_blocks.fc3.bias'])
    assert len(load_raw_state_dict(dst)) == NUM_TENSORS
    smpl_data = load_smpl_model_data(smpl_out + '.npz')
    np.testing.assert_allclose(smpl_data['v_template'], src['v_template'])
    np.testing.assert_array_equal(smpl_data['f'], src['f'])
    assert sorted(os.listdir(tmp_path / 'out')) == ['SMPL_NEUTRAL.npz',
                                                    'hmr.pth']

# Copyright (c) mmlwgan contributors. All rights reserved.
import importlib.util
import json
import math
import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from mmlwgan.models.body import (SMPL, SMPL_PARENTS, axis_angle_to_matrix,
                                 euler_to_matrix, load_smpl_model_data,
                                 matrix_to_axis_angle, save_smpl_npz,
                                 split_theta)
from mmlwgan.registry import BODY_MODELS, MODELS
from mmlwgan.synthetic import get_synthetic_smpl_path, make_synthetic_smpl
from mmlwgan.utils.safe_pickle import UnsafePickleError

CHUMPY_INSTALLED = importlib.util.find_spec('chumpy') is not None


@pytest.fixture(scope='module')
def smpl_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp('smpl')
    get_synthetic_smpl_path(folder, fmt='npz')
    get_synthetic_smpl_path(folder, fmt='pkl')
    return folder


@pytest.fixture(scope='module')
def smpl(smpl_dir):
    return SMPL(str(smpl_dir / 'SMPL_NEUTRAL.npz'))


# ---------------------------------------------------------------- loading
class _DummyCh:
    """Pickled under the name chumpy.ch.Ch; never importable at load."""


class _DummySelect:
    """Pickled under the name chumpy.reordering.Select."""


class _DummyAdd:
    """Pickled as chumpy.ch_ops.add: no value recoverable from its state."""


def _dump_with_fake_chumpy(obj) -> bytes:
    """Pickle ``obj`` while fake chumpy modules exist, then remove them."""
    fakes = {
        'chumpy': types.ModuleType('chumpy'),
        'chumpy.ch': types.ModuleType('chumpy.ch'),
        'chumpy.reordering': types.ModuleType('chumpy.reordering'),
        'chumpy.ch_ops': types.ModuleType('chumpy.ch_ops'),
    }
    classes = ((_DummyCh, 'chumpy.ch', 'Ch'),
               (_DummySelect, 'chumpy.reordering', 'Select'),
               (_DummyAdd, 'chumpy.ch_ops', 'add'))
    saved = {c: (c.__module__, c.__qualname__) for c, _, _ in classes}
    for cls, mod, name in classes:
        cls.__module__, cls.__qualname__ = mod, name
        setattr(fakes[mod], name, cls)
    old = {k: sys.modules.get(k) for k in fakes}
    sys.modules.update(fakes)
    try:
        return pickle.dumps(obj, protocol=2)
    finally:
        for cls, (mod, name) in saved.items():
            cls.__module__, cls.__qualname__ = mod, name
        for key, value in old.items():
            if value is None:
                sys.modules.pop(key, None)
            else:
                sys.modules[key] = value


def _ch(value, **extra):
    obj = _DummyCh()
    obj.__dict__.update(x=value, _dirty_vars=set(), **extra)
    return obj


def _raw_release_dict(data):
    """A dict laid out like the SMPL release pickle."""
    return dict(
        v_template=data['v_template'],
        shapedirs=_ch(data['shapedirs']),
        posedirs=data['posedirs'],
        J_regressor=sp.csc_matrix(data['J_regressor']),
        weights=_ch(data['weights']),
        kintree_table=data['kintree_table'],
        f=data['f'].astype(np.uint32),
        J=_ch(data['J']),
        bs_style='lbs',
        bs_type='lrotmin')


def test_load_chumpy_pickle_without_chumpy(tmp_path):
    data = make_synthetic_smpl()
    raw = _raw_release_dict(data)
    # a Select node (reordering of another Ch) and a nested Ch value
    select = _DummySelect()
    idxs = np.arange(data['v_template'].size)[::-1].copy()
    select.__dict__.update(
        a=_ch(data['v_template'].ravel()[::-1].copy()),
        idxs=idxs,
        preferred_shape=data['v_template'].shape)
    raw['v_template'] = select
    raw['J'] = _ch(_ch(data['J']))
    path = tmp_path / 'SMPL_NEUTRAL.pkl'
    path.write_bytes(_dump_with_fake_chumpy(raw))
    assert b'chumpy.ch' in path.read_bytes()
    assert 'chumpy.ch' not in sys.modules
    if not CHUMPY_INSTALLED:
        with pytest.raises(ModuleNotFoundError, match='chumpy'):
            pickle.loads(path.read_bytes(), encoding='latin1')

    out = load_smpl_model_data(path)
    np.testing.assert_array_equal(out['shapedirs'], data['shapedirs'])
    np.testing.assert_array_equal(out['weights'], data['weights'])
    np.testing.assert_array_equal(out['J'], data['J'])
    np.testing.assert_array_equal(out['v_template'], data['v_template'])
    # sparse J_regressor -> dense, equal to the original
    assert isinstance(out['J_regressor'], np.ndarray)
    np.testing.assert_array_equal(out['J_regressor'], data['J_regressor'])
    assert out['f'].dtype == np.int64
    np.testing.assert_array_equal(out['f'], data['f'])
    assert out['kintree_table'][0, 0] == 4294967295
    assert out['bs_style'] == 'lbs' and out['bs_type'] == 'lrotmin'
    # directory + gender finds the same file
    out_dir = load_smpl_model_data(tmp_path, gender='neutral')
    np.testing.assert_array_equal(out_dir['J_regressor'], out['J_regressor'])
    # npz round trip
    npz = save_smpl_npz(out, tmp_path / 'SMPL_NEUTRAL.npz')
    back = load_smpl_model_data(npz)
    for key in ('v_template', 'shapedirs', 'posedirs', 'J_regressor',
                'weights', 'kintree_table', 'f', 'J'):
        np.testing.assert_array_equal(back[key], out[key])


def test_load_unrecoverable_chumpy_names_key(tmp_path):
    raw = _raw_release_dict(make_synthetic_smpl())
    bad = _DummyCh()
    bad.__dict__.update(a=_ch(np.zeros(3)))  # a Ch without its value 'x'
    raw['posedirs'] = bad
    path = tmp_path / 'bad.pkl'
    path.write_bytes(_dump_with_fake_chumpy(raw))
    with pytest.raises(ValueError, match="'posedirs'.*chumpy.ch.Ch"):
        load_smpl_model_data(path)


def test_chumpy_class_outside_the_allow_list_is_refused(tmp_path):
    raw = _raw_release_dict(make_synthetic_smpl())
    bad = _DummyAdd()  # chumpy.ch_ops.add: no SMPL file holds one
    bad.__dict__.update(a=_ch(np.zeros(3)), b=_ch(np.ones(3)))
    raw['posedirs'] = bad
    path = tmp_path / 'bad.pkl'
    path.write_bytes(_dump_with_fake_chumpy(raw))
    with pytest.raises(UnsafePickleError,
                       match=r'bad\.pkl: refused .*chumpy\.ch_ops\.add'):
        load_smpl_model_data(path)


def test_load_errors(tmp_path):
    data = make_synthetic_smpl()
    with pytest.raises(FileNotFoundError, match='not found'):
        load_smpl_model_data(tmp_path / 'missing.pkl')
    with pytest.raises(FileNotFoundError, match='SMPL_FEMALE'):
        load_smpl_model_data(tmp_path, gender='female')
    with pytest.raises(ValueError, match='gender'):
        load_smpl_model_data(tmp_path, gender='robot')
    (tmp_path / 'x.txt').write_text('hi')
    with pytest.raises(ValueError, match='file type'):
        load_smpl_model_data(tmp_path / 'x.txt')
    partial = {k: v for k, v in data.items() if k != 'weights'}
    with open(tmp_path / 'nokey.pkl', 'wb') as f:
        pickle.dump(partial, f, protocol=2)
    with pytest.raises(ValueError, match="weights"):
        load_smpl_model_data(tmp_path / 'nokey.pkl')
    wrong = dict(data, weights=data['weights'][:, :23])
    save_smpl_npz(wrong, tmp_path / 'wrong.npz')
    with pytest.raises(ValueError, match="'weights' should be"):
        load_smpl_model_data(tmp_path / 'wrong.npz')
    bad_faces = dict(data, f=data['f'] + 10**6)
    save_smpl_npz(bad_faces, tmp_path / 'faces.npz')
    with pytest.raises(ValueError, match="'f'"):
        load_smpl_model_data(tmp_path / 'faces.npz')


def test_load_release_names_and_optional_keys(tmp_path, smpl_dir):
    data = make_synthetic_smpl()
    raw = dict(
        _raw_release_dict(data),
        cocoplus_regressor=sp.csc_matrix(data['joint_regressor_extra']))
    raw['shapedirs'] = data['shapedirs']  # plain arrays work too
    raw['weights'], raw['J'] = data['weights'], data['J']
    with open(tmp_path / 'basicmodel_neutral_lbs_10_207_0_v1.0.0.pkl',
              'wb') as f:
        pickle.dump(raw, f, protocol=2)
    out = load_smpl_model_data(tmp_path)
    np.testing.assert_array_equal(out['joint_regressor_extra'],
                                  data['joint_regressor_extra'])
    assert 'vertex_ids' not in out  # real files use smplx's defaults
    # the synthetic npz carries the optional keys through the loader
    npz = load_smpl_model_data(smpl_dir / 'SMPL_NEUTRAL.npz')
    assert npz['vertex_ids'] == data['vertex_ids']
    assert npz['part_names'] == data['part_names']
    np.testing.assert_array_equal(npz['face_part_labels'],
                                  data['face_part_labels'])
    np.testing.assert_allclose(npz['face_uv'], data['face_uv'])
    np.testing.assert_allclose(npz['vt'], data['vt'])
    # vertex_ids may also be stored as one JSON string
    arrays = {k: data[k] for k in ('v_template', 'shapedirs', 'posedirs',
                                   'J_regressor', 'weights', 'kintree_table',
                                   'f')}
    np.savez(tmp_path / 'json.npz', vertex_ids=json.dumps(
        data['vertex_ids']), **arrays)
    assert load_smpl_model_data(tmp_path / 'json.npz')['vertex_ids'] == (
        data['vertex_ids'])


# ---------------------------------------------------------------- forward
def test_registry_and_attributes(smpl_dir, smpl):
    path = str(smpl_dir / 'SMPL_NEUTRAL.npz')
    for registry in (BODY_MODELS, MODELS):
        model = registry.build(dict(type='SMPL', model_path=path))
        assert isinstance(model, SMPL)
    data = make_synthetic_smpl()
    assert smpl.faces.dtype == torch.long
    assert smpl.faces.shape == (data['f'].shape[0], 3)
    assert int(smpl.faces.min()) == 0
    assert int(smpl.faces.max()) == smpl.num_verts - 1
    assert smpl.num_verts == data['v_template'].shape[0]
    assert smpl.num_faces == data['f'].shape[0]
    assert smpl.parents.tolist() == list(SMPL_PARENTS)
    assert any(n.endswith('faces_tensor') for n, _ in smpl.named_buffers())


def test_zero_pose_is_shaped_template(smpl):
    data = make_synthetic_smpl()
    betas = torch.tensor([[1.0, -0.5, 0.3, 0, 0, 0.7, 0, 0, -1.0, 0.2],
                          [0.0] * 10])
    out = smpl(torch.zeros(2, 72), betas)
    expected = data['v_template'] + np.einsum('vck,bk->bvc',
                                              data['shapedirs'],
                                              betas.double().numpy())
    assert out['vertices'].dtype == torch.float32
    np.testing.assert_allclose(out['vertices'].numpy(), expected, atol=1e-5)
    joints = np.einsum('jv,bvc->bjc', data['J_regressor'], expected)
    np.testing.assert_allclose(out['joints'][:, :24].numpy(), joints,
                               atol=1e-5)
    np.testing.assert_allclose(out['keypoints'].numpy(), joints, atol=1e-5)
    # landmark joints are the selected vertices, in smplx's order
    ids = data['vertex_ids']
    assert out['joints'].shape[1] == 24 + 21
    np.testing.assert_allclose(out['joints'][0, 24].numpy(),
                               expected[0, ids['nose']], atol=1e-6)
    np.testing.assert_allclose(out['joints'][0, -1].numpy(),
                               expected[0, ids['rpinky']], atol=1e-6)
    extra = np.einsum('kv,bvc->bkc', data['joint_regressor_extra'], expected)
    np.testing.assert_allclose(out['keypoints_extra'].numpy(), extra,
                               atol=1e-5)


def test_elbow_rotation_moves_forearm_only(smpl):
    data = make_synthetic_smpl()
    labels, names, faces = (data['face_part_labels'], data['part_names'],
                            data['f'])

    def part_verts(*parts):
        ids = [names.index(p) for p in parts]
        return np.unique(faces[np.isin(labels, ids)])

    pose = torch.zeros(1, 72)
    pose[0, 18 * 3 + 1] = math.pi / 2  # left elbow, 90 deg about +y
    rest = smpl(torch.zeros(1, 72), torch.zeros(1, 10))['vertices'][0]
    posed = smpl(pose, torch.zeros(1, 10))['vertices'][0]
    moved = (posed - rest).norm(dim=-1).numpy()
    legs = part_verts('left_leg', 'right_leg', 'left_foot', 'right_foot')
    assert moved[legs].max() < 1e-6
    assert moved[part_verts('right_arm', 'right_hand', 'head')].max() < 1e-6
    hand = part_verts('left_hand')
    assert moved[hand].min() > 0.15  # the hand swings ~0.3 m
    j = data['J']
    elbow, wrist = j[18], j[20]
    # the wrist rotates rigidly about the elbow: +x -> -z for +90 deg about y
    joints = smpl(pose, torch.zeros(1, 10))['joints'][0].numpy()
    rot = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]], dtype=float)
    np.testing.assert_allclose(joints[20], rot @ (wrist - elbow) + elbow,
                               atol=1e-5)
    # upper arm near the shoulder barely moves
    v = data['v_template']
    upper = np.intersect1d(part_verts('left_arm'),
                           np.where(v[:, 0] < j[16, 0] + 0.08)[0])
    assert moved[upper].max() < 1e-3


def test_global_rotation_about_root(smpl):
    data = make_synthetic_smpl()
    betas = torch.zeros(1, 10)
    betas[0, 0] = 1.0
    angle = 0.7
    pose = torch.zeros(1, 72)
    pose[0, 1] = angle  # about +y
    out = smpl(pose, betas)['vertices'][0].double().numpy()
    shaped = data['v_template'] + data['shapedirs'][:, :, 0]
    root = data['J_regressor'][0] @ shaped
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    np.testing.assert_allclose(out, (shaped - root) @ rot.T + root, atol=1e-5)
    # the global_orient override and translation
    transl = torch.tensor([[0.1, -0.2, 3.0]])
    out2 = smpl(
        torch.zeros(1, 72), betas, transl=transl,
        global_orient=pose[:, :3])['vertices'][0].double().numpy()
    np.testing.assert_allclose(out2, out + transl.double().numpy(), atol=1e-5)
    # rotation-matrix input gives the same result
    rotmats = axis_angle_to_matrix(pose.reshape(1, 24, 3))
    out3 = smpl(rotmats, betas)['vertices'][0].double().numpy()
    np.testing.assert_allclose(out3, out, atol=1e-5)


def test_pkl_and_npz_give_identical_vertices(smpl_dir, smpl):
    smpl_pkl = SMPL(str(smpl_dir / 'SMPL_NEUTRAL.pkl'))
    smpl_dir_model = SMPL(str(smpl_dir))  # directory: the npz
    g = torch.Generator().manual_seed(0)
    pose = 0.3 * torch.randn(3, 72, generator=g)
    betas = torch.randn(3, 10, generator=g)
    a = smpl(pose, betas)
    b = smpl_pkl(pose, betas)
    c = smpl_dir_model(pose, betas)
    for key in ('vertices', 'joints', 'keypoints_extra'):
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
        torch.testing.assert_close(a[key], c[key], rtol=0, atol=0)


def test_theta_and_extra_keypoints(smpl_dir, smpl, tmp_path):
    theta = torch.zeros(2, 85)
    theta[:, 0] = 0.9
    theta[1, 75] = 1.0
    cam, pose, betas = split_theta(theta)
    assert cam.shape == (2, 3) and pose.shape == (2, 72)
    assert betas.shape == (2, 10)
    out = smpl.from_theta(theta)
    torch.testing.assert_close(out['cam'], theta[:, :3])
    torch.testing.assert_close(out['vertices'],
                               smpl(pose, betas)['vertices'])
    with pytest.raises(ValueError, match='85'):
        split_theta(torch.zeros(1, 84))
    # an external regressor file and keypoint_src='extra'
    reg = np.zeros((2, smpl.num_verts), dtype=np.float32)
    reg[0, 0] = 1.0
    reg[1, 1:3] = 0.5
    np.save(tmp_path / 'reg.npy', reg)
    model = SMPL(
        str(smpl_dir / 'SMPL_NEUTRAL.npz'),
        joint_regressor_extra=str(tmp_path / 'reg.npy'),
        keypoint_src='extra')
    res = model(torch.zeros(1, 72), torch.zeros(1, 10))
    v = res['vertices'][0]
    torch.testing.assert_close(res['keypoints'][0, 0], v[0])
    torch.testing.assert_close(res['keypoints'][0, 1], (v[1] + v[2]) / 2)
    with pytest.raises(ValueError, match='betas'):
        smpl(torch.zeros(1, 72), torch.zeros(1, 11))


def test_buffers_move_with_to(smpl):
    model = smpl.to(torch.float64).to(torch.float32)
    names = {n for n, _ in model.named_buffers()}
    assert any(n.endswith('joint_regressor_extra') for n in names)
    assert model.faces.dtype == torch.long
    if torch.cuda.is_available():
        cuda = model.cuda()
        out = cuda(torch.zeros(1, 72).cuda(), torch.zeros(1, 10).cuda())
        assert out['vertices'].is_cuda
        model.cpu()


# ---------------------------------------------------------------- geometry
def test_rotation_helpers():
    aa = torch.tensor([[0.0, 0.0, 0.0], [0.3, -0.2, 0.1], [0.0, 0.0, 1e-9],
                       [math.pi - 1e-3, 0.0, 0.0], [0.0, 3.0, 0.5]],
                      dtype=torch.float64)
    rot = axis_angle_to_matrix(aa)
    eye = torch.eye(3, dtype=torch.float64).expand_as(rot)
    torch.testing.assert_close(rot @ rot.transpose(-1, -2), eye)
    from smplx.lbs import batch_rodrigues
    torch.testing.assert_close(rot[1:2], batch_rodrigues(aa[1:2]))
    back = matrix_to_axis_angle(rot)
    torch.testing.assert_close(axis_angle_to_matrix(back), rot, atol=1e-6,
                               rtol=0)
    torch.testing.assert_close(back[:2], aa[:2])
    zero = torch.zeros(2, 3, requires_grad=True)
    axis_angle_to_matrix(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()
    # Euler angles: extrinsic x then y then z
    angles = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    rx = axis_angle_to_matrix(torch.tensor([0.1, 0, 0], dtype=torch.float64))
    ry = axis_angle_to_matrix(torch.tensor([0, 0.2, 0], dtype=torch.float64))
    rz = axis_angle_to_matrix(torch.tensor([0, 0, 0.3], dtype=torch.float64))
    torch.testing.assert_close(euler_to_matrix(angles), rz @ ry @ rx)
    torch.testing.assert_close(
        euler_to_matrix(torch.rad2deg(angles), degrees=True), rz @ ry @ rx)
    # 90 degrees about y sends +x to -z
    r = euler_to_matrix([0.0, math.pi / 2, 0.0])
    torch.testing.assert_close(r @ torch.tensor([1.0, 0.0, 0.0]),
                               torch.tensor([0.0, 0.0, -1.0]), atol=1e-6,
                               rtol=0)


def test_small_body_without_landmarks_gives_clear_error(tmp_path):
    from mmlwgan.models.body.smpl_io import save_smpl_npz
    from mmlwgan.synthetic import make_synthetic_smpl
    data = make_synthetic_smpl()
    data.pop('vertex_ids')
    path = save_smpl_npz(data, str(tmp_path / 'no_landmarks.npz'))
    with pytest.raises(ValueError, match='vertex_ids'):
        SMPL(path)

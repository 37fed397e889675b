# Copyright (c) mmlwgan contributors. All rights reserved.
import importlib.util
import os
import os.path as osp
import sys
import time

import numpy as np
import pytest

from mmlwgan.models.body import SMPL_JOINT_NAMES, SMPL_PARENTS
from mmlwgan.utils.safe_pickle import SMPL_MODEL, SparseStandIn, safe_load
from mmlwgan.synthetic import (SYNTHETIC_BETA_NAMES, SYNTHETIC_PART_NAMES,
                             get_synthetic_smpl_path, make_synthetic_smpl,
                             save_synthetic_smpl, synthetic_rest_joints)
from mmlwgan.synthetic.body import _make_cached

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
J = {n: i for i, n in enumerate(SMPL_JOINT_NAMES)}


@pytest.fixture(scope='module')
def body():
    return make_synthetic_smpl()


def _part_verts(body, *parts):
    ids = [body['part_names'].index(p) for p in parts]
    return np.unique(body['f'][np.isin(body['face_part_labels'], ids)])


def test_mesh_is_closed_and_outward(body):
    v, f = body['v_template'], body['f']
    assert 2000 <= len(v) <= 5000
    assert f.dtype == np.int64 and f.min() == 0 and f.max() == len(v) - 1
    directed = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    # consistently oriented: each directed edge once, its reverse once
    assert len(np.unique(directed, axis=0)) == len(directed)
    undirected, counts = np.unique(
        np.sort(directed, axis=1), axis=0, return_counts=True)
    assert np.all(counts == 2)  # watertight: every edge in two faces
    assert len(v) - len(undirected) + len(f) == 2  # a sphere's topology
    tri = v[f]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert np.linalg.norm(normals, axis=1).min() > 1e-6  # no degenerate face
    volume = np.einsum('ij,ij->i', tri[:, 0], np.cross(tri[:, 1],
                                                       tri[:, 2])).sum() / 6
    assert 0.04 < volume < 0.1  # m^3, a ~65 kg person
    # outward: the top-most face looks up, the front-most looks forward
    centroids = tri.mean(1)
    assert normals[np.argmax(centroids[:, 1]), 1] > 0
    assert normals[np.argmax(centroids[:, 2]), 2] > 0
    assert normals[np.argmin(centroids[:, 0]), 0] < 0


def test_proportions_and_rest_pose(body):
    v, j = body['v_template'], body['J']
    height = v[:, 1].max() - v[:, 1].min()
    assert 1.6 < height < 1.8
    assert j[J['head'], 1] > j[J['pelvis'], 1] > j[J['left_ankle'], 1]  # y up
    # T-pose: arms out along x, left is +x, wrists at shoulder height
    assert j[J['left_wrist'], 0] > 0.6 and j[J['right_wrist'], 0] < -0.6
    assert abs(j[J['left_wrist'], 1] - j[J['left_shoulder'], 1]) < 0.03
    # facing +z: toes and nose in front
    ids = body['vertex_ids']
    assert v[ids['LBigToe'], 2] > v[ids['LHeel'], 2] + 0.15
    assert v[ids['nose'], 2] > j[J['head'], 2] + 0.05
    # left/right symmetric design (up to the jitter of the proportions)
    mirrored = j[[J[n.replace('left', 'X').replace('right', 'left').replace(
        'X', 'right')] for n in SMPL_JOINT_NAMES]] * [-1, 1, 1]
    np.testing.assert_allclose(mirrored, j, atol=1e-6)


def test_kinematic_tree(body):
    kt = body['kintree_table']
    assert kt.shape == (2, 24)
    assert kt[0, 0] == 4294967295
    assert kt[0, 1:].tolist() == list(SMPL_PARENTS[1:])
    assert kt[1].tolist() == list(range(24))


def test_weights_and_regressors(body):
    w, reg, v = body['weights'], body['J_regressor'], body['v_template']
    assert w.shape == (len(v), 24) and reg.shape == (24, len(v))
    np.testing.assert_allclose(w.sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(reg.sum(1), 1.0, atol=1e-9)
    assert w.min() >= 0 and reg.min() >= 0
    # J regresses the designed kinematic joints and equals J_regressor @ v
    np.testing.assert_allclose(reg @ v, body['J'])
    np.testing.assert_allclose(body['J'], synthetic_rest_joints(), atol=5e-3)
    # each joint is regressed from vertices near it
    for k in range(24):
        support = v[reg[k] > 1e-6]
        assert np.linalg.norm(support - body['J'][k], axis=1).max() < 0.25
    # dominant weights follow the parts; blended near the elbow
    hand = v[:, 0] > body['J'][J['left_wrist'], 0] + 0.03
    assert np.isin(w[hand].argmax(1), [J['left_wrist'], J['left_hand']]).all()
    forearm = np.abs(v[:, 0] - 0.59) < 0.02
    assert (w[forearm].argmax(1) == J['left_elbow']).all()
    near = np.linalg.norm(v - body['J'][J['left_elbow']], axis=1) < 0.05
    blend = w[near][:, [J['left_shoulder'], J['left_elbow']]]
    assert (blend.min(1) > 0.2).any()
    legs = _part_verts(body, 'left_leg')
    assert w[legs][:, [J['left_elbow'], J['head']]].max() == 0
    # the 19 COCO-plus joints
    extra = body['joint_regressor_extra']
    assert extra.shape == (19, len(v))
    np.testing.assert_allclose(extra.sum(1), 1.0, atol=1e-9)
    coco = extra @ v
    np.testing.assert_allclose(coco[11], body['J'][J['left_wrist']], atol=5e-3)
    np.testing.assert_allclose(coco[14], v[body['vertex_ids']['nose']],
                               atol=5e-3)
    assert coco[13, 1] > v[:, 1].max() - 0.03  # head top


def test_shape_directions(body):
    v0, dirs, reg = body['v_template'], body['shapedirs'], body['J_regressor']
    assert dirs.shape == (len(v0), 3, 10)
    assert body['beta_names'] == list(SYNTHETIC_BETA_NAMES)
    head = _part_verts(body, 'head')
    upper_arm = _part_verts(body, 'left_arm')
    band = np.abs(v0[:, 1] + 0.06) < 0.03
    waist = np.abs(v0[:, 1]) < 0.03

    def measures(v):
        j = reg @ v
        return dict(
            height=np.ptp(v[:, 1]),
            girth=np.ptp(v[waist & (np.abs(v0[:, 0]) < 0.25), 0]),
            shoulder_width=np.linalg.norm(j[16] - j[17]),
            hip_width=np.linalg.norm(j[1] - j[2]),
            arm_length=np.linalg.norm(j[16] - j[20]),
            leg_length=np.linalg.norm(j[1] - j[7]),
            torso_length=j[12, 1] - j[0, 1],
            head_size=np.ptp(v[head, 1]),
            belly=v[band, 2].max(),
            limb_thickness=np.linalg.norm(v[upper_arm, 1:] - j[16, 1:],
                                          axis=1).mean())

    base = measures(v0)
    for k, name in enumerate(SYNTHETIC_BETA_NAMES):
        values = [
            measures(v0 + b * dirs[:, :, k])[name] for b in (-2, -1, 1, 2)
        ]
        series = [values[0], values[1], base[name], values[2], values[3]]
        assert np.all(np.diff(series) > 1e-3), (name, series)
        # other measures barely move (the direction is specific)
        others = measures(v0 + dirs[:, :, k])
        if name in ('arm_length', 'head_size', 'belly', 'shoulder_width'):
            assert abs(others['leg_length'] - base['leg_length']) < 1e-3
        if name in ('leg_length', 'head_size', 'limb_thickness'):
            assert abs(others['girth'] - base['girth']) < 2e-3
    assert np.all(body['posedirs'] == 0)
    assert body['posedirs'].shape == (len(v0), 3, 207)


def test_landmarks_uv_and_parts(body):
    v, f = body['v_template'], body['f']
    ids = body['vertex_ids']
    from smplx.vertex_ids import vertex_ids as smplx_ids
    assert set(ids) == set(smplx_ids['smplh'])  # what smplx selects for SMPL
    assert len(set(ids.values())) == len(ids)
    head = _part_verts(body, 'head')
    for name in ('nose', 'reye', 'leye', 'rear', 'lear'):
        assert ids[name] in head
    assert v[ids['leye'], 0] > 0 > v[ids['reye'], 0]
    lhand = _part_verts(body, 'left_hand')
    for tip in ('thumb', 'index', 'middle', 'ring', 'pinky'):
        assert ids['l' + tip] in lhand
    assert v[ids['lthumb'], 2] > v[ids['lpinky'], 2]  # palms down
    assert body['part_names'] == list(SYNTHETIC_PART_NAMES)
    labels = body['face_part_labels']
    assert labels.shape == (len(f), )
    assert set(labels.tolist()) == set(range(len(SYNTHETIC_PART_NAMES)))
    c = v[f].mean(1)

    def mean_y(part):
        return c[labels == SYNTHETIC_PART_NAMES.index(part), 1].mean()

    assert mean_y('head') > mean_y('upper_torso') > mean_y('lower_torso')
    assert mean_y('lower_torso') > mean_y('left_leg') > mean_y('left_foot')
    # UVs in [0, 1]; each part in its own atlas cell
    for key in ('vt', 'face_uv'):
        assert body[key].min() >= 0 and body[key].max() <= 1
    assert body['vt'].shape == (len(v), 2)
    cells = np.floor(body['face_uv'] * [4, 3]).astype(int)
    cell_id = cells[:, 1] * 4 + cells[:, 0]
    np.testing.assert_array_equal(cell_id, labels)


def test_determinism_and_speed():
    a = make_synthetic_smpl(seed=3)
    b = make_synthetic_smpl(seed=3)
    for key in ('v_template', 'shapedirs', 'J_regressor', 'weights'):
        np.testing.assert_array_equal(a[key], b[key])
    c = make_synthetic_smpl(seed=4)
    assert not np.allclose(a['v_template'], c['v_template'])
    np.testing.assert_array_equal(a['f'], c['f'])  # same topology
    d = make_synthetic_smpl(seed=4, jitter=0.0)
    np.testing.assert_allclose(d['J'], synthetic_rest_joints(jitter=0.0),
                               atol=5e-3)
    a['v_template'][:] = 0  # returned copies never alter the cache
    assert make_synthetic_smpl(seed=3)['v_template'].any()
    _make_cached.cache_clear()
    start = time.perf_counter()
    make_synthetic_smpl(seed=5, num_betas=12)
    assert time.perf_counter() - start < 4.0  # ~0.8 s on 2 busy cores


def test_save_pkl_mimics_release(tmp_path):
    path = save_synthetic_smpl(str(tmp_path / 'SMPL_NEUTRAL.pkl'))
    assert 'chumpy' not in sys.modules and 'chumpy.ch' not in sys.modules
    raw = safe_load(path, SMPL_MODEL, encoding='latin1')
    for key in ('v_template', 'shapedirs', 'posedirs', 'J_regressor',
                'weights', 'kintree_table', 'f', 'J', 'bs_style', 'bs_type'):
        assert key in raw
    assert isinstance(raw['J_regressor'], SparseStandIn)
    assert raw['J_regressor'].fmt == 'csc'
    np.testing.assert_array_equal(raw['J_regressor'].to_array(),
                                  make_synthetic_smpl()['J_regressor'])
    assert raw['f'].dtype == np.uint32
    assert type(raw['shapedirs']).chumpy_path == 'chumpy.ch.Ch'
    np.testing.assert_array_equal(raw['shapedirs'].to_array(),
                                  make_synthetic_smpl()['shapedirs'])
    # written once per directory
    p1 = get_synthetic_smpl_path(str(tmp_path / 'cache'))
    mtime = os.stat(p1).st_mtime_ns
    assert get_synthetic_smpl_path(str(tmp_path / 'cache')) == p1
    assert os.stat(p1).st_mtime_ns == mtime


def test_cli(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'make_synthetic_smpl_cli',
        osp.join(ROOT, 'tools', 'misc', 'make_synthetic_smpl.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    out = cli.main(['--out', str(tmp_path / 'body.pkl'), '--seed', '2'])
    from mmlwgan.models.body import load_smpl_model_data
    data = load_smpl_model_data(out)
    np.testing.assert_allclose(data['v_template'],
                               make_synthetic_smpl(seed=2)['v_template'])
    out = cli.main(['--out', str(tmp_path / 'body.bin'), '--format', 'npz'])
    with np.load(out) as npz:
        assert 'v_template' in npz.files

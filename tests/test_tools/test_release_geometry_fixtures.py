# Copyright (c) mmlwgan contributors. All rights reserved.
"""The fixture tool of the release regression
(``tools/misc/make_release_geometry_fixtures.py``): its CPU port of
neural_renderer's rasterization kernel on hand-made cases, and (when a copy
of the release is at hand, ``MMLWGAN_RELEASE_REPO``) that it reproduces the
committed fixtures."""
import glob
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch

from tools.misc.make_release_geometry_fixtures import (
    RELEASE_COMMIT, forward_face_index_map, save_npz)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
FAR = 100.0


def rasterize(faces, size=4, near=0.1, far=FAR):
    """Run the port as neural_renderer's rasterize.py does (buffers, then
    the kernel; no row flip: kernel rows, y up)."""
    faces = torch.tensor(faces, dtype=torch.float32)[None]
    fim = torch.full((1, size, size), -1, dtype=torch.int32)
    wim = torch.zeros(1, size, size, 3)
    depth = torch.full((1, size, size), far)
    fim, wim, depth, _ = forward_face_index_map(
        faces, fim, wim, depth, torch.zeros(1), torch.zeros_like(faces),
        size, near, far, False, False, False)
    return fim[0], wim[0], depth[0]


# pixel centres of a 4 px image: -0.75, -0.25, 0.25, 0.75 (kernel rows: y up)
FRONT = [[-1.0, -0.25, 1.0], [1.0, -0.25, 1.0], [0.0, 1.0, 1.0]]


def test_port_edge_inclusive_front_faces():
    fim, wim, _ = rasterize([FRONT])
    # the edge v0 v1 runs exactly through the centres of row 1: covered
    assert fim[1].tolist() == [0, 0, 0, 0]
    assert fim[0].tolist() == [-1, -1, -1, -1]
    assert torch.all(wim[1, :, 2] == 0)
    torch.testing.assert_close(wim[fim >= 0].sum(-1),
                               torch.ones(int((fim >= 0).sum())))
    # seen from behind (clockwise): culled
    back, _, _ = rasterize([FRONT[::-1]])
    assert torch.all(back == -1)


def test_port_nearest_face_by_inverse_depth():
    near_face = [[x, y, 1.0] for x, y, _ in FRONT]
    far_face = [[x, y, 2.0] for x, y, _ in FRONT]
    fim, _, depth = rasterize([far_face, near_face])
    assert torch.all(fim[fim >= 0] == 1)
    assert torch.all(depth[fim >= 0] == 1.0)
    # equal depth: the first face (the kernel's strict '<')
    fim, _, _ = rasterize([near_face, near_face])
    assert torch.all(fim[fim >= 0] == 0)
    # beyond far: not drawn
    fim, _, _ = rasterize([[[x, y, 2 * FAR] for x, y, _ in FRONT]])
    assert torch.all(fim == -1)
    # depth is 1 / sum(w / z), not sum(w z)
    slanted = [[-1.0, -0.25, 1.0], [1.0, -0.25, 1.0], [0.0, 1.0, 4.0]]
    fim, wim, depth = rasterize([slanted])
    hit = fim >= 0
    w = wim[hit]
    expected = 1 / (w[:, 0] / 1 + w[:, 1] / 1 + w[:, 2] / 4)
    torch.testing.assert_close(depth[hit], expected)
    assert not torch.allclose(depth[hit], w[:, 0] + w[:, 1] + 4 * w[:, 2])


def test_save_npz_is_byte_deterministic(tmp_path):
    arrays = dict(a=np.arange(6, dtype=np.int32).reshape(2, 3),
                  b=np.array('text'))
    paths = [str(tmp_path / f'{i}.npz') for i in range(2)]
    for path in paths:
        save_npz(path, arrays)
    with open(paths[0], 'rb') as f0, open(paths[1], 'rb') as f1:
        assert f0.read() == f1.read()
    with np.load(paths[0], allow_pickle=False) as data:
        assert np.array_equal(data['a'], arrays['a'])
        assert str(data['b']) == 'text'


@pytest.mark.skipif(
    not os.environ.get('MMLWGAN_RELEASE_REPO'),
    reason='set MMLWGAN_RELEASE_REPO to a git repository of '
    'svip-lab/impersonator to regenerate the fixtures')
def test_regenerates_the_committed_fixtures(tmp_path):
    repo = os.environ['MMLWGAN_RELEASE_REPO']
    out = tmp_path / 'out'
    # a fresh interpreter: the release's top-level modules ('utils',
    # 'models', ...) must not clash with anything imported
    subprocess.run([
        sys.executable,
        osp.join(ROOT, 'tools', 'misc', 'make_release_geometry_fixtures.py'),
        '--release', repo, '--commit', RELEASE_COMMIT, '--out',
        str(out)
    ], check=True, cwd=ROOT)
    committed = sorted(
        glob.glob(osp.join(ROOT, 'tests', 'data', 'release_geometry',
                           '*.npz')))
    assert committed
    for path in committed:
        new = out / osp.basename(path)
        with open(path, 'rb') as f0, open(new, 'rb') as f1:
            assert f0.read() == f1.read(), osp.basename(path)

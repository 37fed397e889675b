# Copyright (c) mmlwgan contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmlwgan.models.renderers import (CondMapEncoder, canonical_cond_map,
                                      face_values_map, load_uv_mapping,
                                      rasterize_meshes_torch, silhouette,
                                      uv_cond_map, uv_cond_map_interp)
from mmlwgan.registry import MODELS

SIZE = (20, 28)


def _two_faces():
    """Two faces of a planar quad that covers the middle of the image."""
    verts = torch.tensor([[[-0.6, -0.5, 0.3], [0.7, -0.5, 0.5],
                           [0.7, 0.6, 0.4], [-0.6, 0.6, 0.2]]])
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    return verts, faces, rasterize_meshes_torch(verts, faces, SIZE)


def _pixel_centres():
    h, w = SIZE
    ys, xs = torch.meshgrid(
        (2 * torch.arange(h) + 1) / h - 1, (2 * torch.arange(w) + 1) / w - 1,
        indexing='ij')
    return xs, ys


def test_silhouette():
    _, _, frags = _two_faces()
    sil = silhouette(frags)
    assert sil.shape == (1, 1) + SIZE and sil.dtype == torch.float32
    assert set(sil.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(sil[:, 0] > 0, frags.face_idx >= 0)


def test_uv_cond_map_per_face():
    _, _, frags = _two_faces()
    face_uv = torch.tensor([[0.25, 0.75], [0.5, 0.125]])
    cond = uv_cond_map(frags, face_uv)
    assert cond.shape == (1, 3) + SIZE
    for f in range(2):
        sel = frags.face_idx[0] == f
        assert sel.any()
        expected = torch.tensor([*face_uv[f].tolist(), 0.0])
        assert (cond[0].permute(1, 2, 0)[sel] == expected).all()
    bg = frags.face_idx[0] < 0
    assert (cond[0].permute(1, 2, 0)[bg] == torch.tensor([0., 0., 1.])).all()
    # batched (B, F, 2) tables work too
    cond_b = uv_cond_map(frags, face_uv[None])
    assert torch.equal(cond_b, cond)


def test_uv_cond_map_interp_is_exact_for_affine_uv():
    verts, faces, frags = _two_faces()
    # UV an affine function of the screen position: interpolation is exact
    vert_uv = (verts[0, :, :2] + 1) / 2
    cond = uv_cond_map_interp(frags, vert_uv, faces)
    xs, ys = _pixel_centres()
    fg = frags.face_idx[0] >= 0
    torch.testing.assert_close(cond[0, 0][fg], ((xs + 1) / 2)[fg])
    torch.testing.assert_close(cond[0, 1][fg], ((ys + 1) / 2)[fg])
    assert (cond[0, 2][fg] == 0).all()
    assert (cond[0, 2][~fg] == 1).all() and (cond[0, :2][:, ~fg] == 0).all()


def test_canonical_cond_map():
    verts, faces, frags = _two_faces()
    canon = verts[0] * torch.tensor([2.0, -1.0, 3.0])
    cmap = canonical_cond_map(frags, faces, canon)
    fg = frags.face_idx[0] >= 0
    body = cmap[0][:, fg]
    assert body.min() >= 0 and body.max() <= 1
    assert (cmap[0][:, ~fg] == -1).all()  # cannot be confused with the body
    xs, _ = _pixel_centres()
    # canonical x = 2 * screen x, normalised over the vertex range
    lo, hi = canon[:, 0].min(), canon[:, 0].max()
    torch.testing.assert_close(cmap[0, 0][fg], ((2 * xs - lo) / (hi - lo))[fg])
    fixed = canonical_cond_map(frags, faces, canon, bounds=([-4] * 3, [4] * 3))
    torch.testing.assert_close(fixed[0, 0][fg], ((2 * xs + 4) / 8)[fg])


def test_face_values_map_background():
    _, _, frags = _two_faces()
    out = face_values_map(frags, torch.tensor([[1.0], [2.0]]), background=7.)
    assert out.shape == (1, 1) + SIZE
    assert set(out.unique().tolist()) == {1.0, 2.0, 7.0}


def _write_obj(path):
    lines = [
        '# uv mapper', 'v 0 0 0', 'v 1 0 0', 'v 0 1 0', 'v 1 1 0',
        'vt 0.0 0.0', 'vt 1.0 0.0', 'vt 0.0 1.0', 'vt 1.0 1.0', 'vt 0.5 0.5',
        'vn 0 0 1', 'f 1/1/1 2/2/1 4/4/1', 'f 1/5/1 4/4/1 3/3/1'
    ]
    path.write_text('\n'.join(lines) + '\n')


def test_load_uv_mapping_formats(tmp_path):
    obj = tmp_path / 'mapper.txt'
    _write_obj(obj)
    table = load_uv_mapping(str(obj))
    # v flipped like the release; per-face point = midpoint of corners 0, 1
    np.testing.assert_allclose(table['vt'][1], [1.0, 1.0])
    np.testing.assert_allclose(table['face_uv'], [[0.5, 1.0], [0.75, 0.25]])
    np.testing.assert_array_equal(table['ft'], [[0, 1, 3], [4, 3, 2]])
    assert load_uv_mapping(str(obj), flip_v=False)['vt'][1, 1] == 0.0

    face_uv = np.random.rand(5, 2).astype(np.float32)
    np.save(tmp_path / 'uv.npy', face_uv)
    np.testing.assert_array_equal(
        load_uv_mapping(str(tmp_path / 'uv.npy'))['face_uv'], face_uv)
    np.savetxt(tmp_path / 'uv.txt', face_uv)
    np.testing.assert_allclose(
        load_uv_mapping(str(tmp_path / 'uv.txt'))['face_uv'],
        face_uv,
        atol=1e-6)
    np.savez(tmp_path / 'uv.npz', vt=table['vt'], ft=table['ft'])
    npz = load_uv_mapping(str(tmp_path / 'uv.npz'))
    np.testing.assert_allclose(npz['face_uv'], table['face_uv'])
    corners = np.random.rand(4, 3, 2)
    np.testing.assert_allclose(
        load_uv_mapping(corners)['face_uv'],
        0.5 * (corners[:, 0] + corners[:, 1]))
    with pytest.raises(ValueError, match='UV mapping arrays must be'):
        load_uv_mapping(np.zeros((4, 5)))


def test_cond_map_encoder(tmp_path):
    verts, faces, frags = _two_faces()
    obj = tmp_path / 'mapper.obj'
    _write_obj(obj)
    enc = MODELS.build(dict(type='CondMapEncoder', uv_mapping=str(obj)))
    assert isinstance(enc, CondMapEncoder) and enc.out_channels == 3
    table = load_uv_mapping(str(obj))
    expected = uv_cond_map(frags, torch.from_numpy(table['face_uv']))
    assert torch.equal(enc(frags), expected)
    assert len(enc.state_dict()) == 0  # tables never enter checkpoints

    interp = CondMapEncoder(uv_mapping=str(obj), interpolate=True)
    expected = uv_cond_map_interp(frags, torch.from_numpy(table['vt']),
                                  torch.from_numpy(table['ft']))
    torch.testing.assert_close(interp(frags), expected)
    with pytest.raises(ValueError,
                       match='interpolate=True needs per-vertex UVs'):
        CondMapEncoder(uv_mapping=np.random.rand(2, 2), interpolate=True)

    np.save(tmp_path / 'canon.npy', verts[0].numpy())
    canon = CondMapEncoder(
        mode='canonical',
        canonical_verts=str(tmp_path / 'canon.npy'),
        faces=faces.numpy())
    torch.testing.assert_close(
        canon(frags), canonical_cond_map(frags, faces, verts[0]))
    # overrides at call time
    other = verts[0] * 2
    torch.testing.assert_close(
        canon(frags, canonical_verts=other),
        canonical_cond_map(frags, faces, other))
    with pytest.raises(ValueError, match="mode='canonical' needs faces"):
        CondMapEncoder(mode='canonical')(frags)
    with pytest.raises(ValueError, match="mode must be 'uv' or 'canonical'"):
        CondMapEncoder(mode='depth')

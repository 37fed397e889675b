# Copyright (c) mmlwgan contributors. All rights reserved.
import math

import pytest
import torch

from mmlwgan.models.renderers import (Fragments, MeshRasterizer,
                                      rasterize_meshes_torch)
from mmlwgan.models.renderers.pytorch3d_backend import pytorch3d_available
from mmlwgan.registry import MODELS, RENDERERS
from mmlwgan.testing.brute_force_raster import (ambiguous_pixels,
                                                brute_force_rasterize)


def _check(verts, faces, size, max_ambiguous=0.35, **kwargs):
    """Compare with the brute-force reference away from fragile pixels."""
    ours = rasterize_meshes_torch(verts, faces, size, **kwargs)
    ref = brute_force_rasterize(verts, faces, size)
    ok = ~ambiguous_pixels(verts, faces, size)
    assert ok.float().mean() > 1 - max_ambiguous  # the test means something
    assert torch.equal(ours.face_idx[ok], ref.face_idx[ok])
    hit = ok & (ref.face_idx >= 0)
    torch.testing.assert_close(
        ours.bary[hit].double(), ref.bary[hit], atol=1e-4, rtol=0)
    torch.testing.assert_close(
        ours.depth[hit].double(), ref.depth[hit], atol=1e-5, rtol=0)
    _check_self_consistent(ours, verts, faces)
    return ours, ref, ok


def _check_self_consistent(frags, verts, faces):
    """Bary sums, background values, depth = interpolated z."""
    batch = verts.shape[0]
    fg = frags.face_idx >= 0
    sums = frags.bary.sum(-1)
    torch.testing.assert_close(sums[fg], torch.ones_like(sums[fg]))
    assert (frags.bary[~fg] == 0).all()
    assert torch.isinf(frags.depth[~fg]).all()
    faces_b = faces if faces.dim() == 3 else faces.expand(batch, -1, -1)
    for b in range(batch):
        idx = frags.face_idx[b][fg[b]]
        z = verts[b, :, 2][faces_b[b][idx]]  # (N, 3)
        interp = (frags.bary[b][fg[b]] * z).sum(-1)
        torch.testing.assert_close(frags.depth[b][fg[b]], interp)


def _soup(batch, num_faces, lo=-1.3, hi=1.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    verts = torch.rand(batch, num_faces * 3, 3, generator=g)
    verts[..., :2] = verts[..., :2] * (hi - lo) + lo
    verts[..., 2] = verts[..., 2] * 2.0
    faces = torch.arange(num_faces * 3).view(num_faces, 3)
    return verts, faces


def _grid_mesh(n, m, lo=-1.0, hi=1.0, z=0.5):
    """A regular (n x m)-vertex grid of triangles over [lo, hi]^2."""
    ys, xs = torch.meshgrid(
        torch.linspace(lo, hi, n), torch.linspace(lo, hi, m), indexing='ij')
    verts = torch.stack([xs, ys, torch.full_like(xs, z)], -1).view(1, -1, 3)
    faces = []
    for i in range(n - 1):
        for j in range(m - 1):
            a, b = i * m + j, i * m + j + 1
            c, d = a + m, b + m
            faces += [[a, b, d], [a, d, c]]
    return verts, torch.tensor(faces)


def test_random_soup_batch_non_square():
    verts, faces = _soup(2, 40)  # two different meshes, shared topology
    ours, ref, ok = _check(verts, faces, (37, 53))
    assert (ref.face_idx >= 0).float().mean() > 0.5
    assert not torch.equal(ours.face_idx[0], ours.face_idx[1])


def test_per_batch_faces_with_padding():
    verts, faces = _soup(2, 30, seed=1)
    faces_b = torch.stack([faces, faces.flip(0)])  # (B, F, 3), different
    faces_b[1, -5:] = -1  # padding rows never cover
    _check(verts, faces_b, (32, 24))
    # padded rows are ignored: same as the mesh without them
    cut = rasterize_meshes_torch(verts[1:], faces_b[1, :-5], (32, 24))
    full = rasterize_meshes_torch(verts, faces_b, (32, 24))
    assert torch.equal(cut.face_idx[0], full.face_idx[1])


def test_nearer_face_occludes_farther():
    verts = torch.tensor([[[-0.9, -0.9, 1.0], [0.9, -0.9,
                                               1.0], [0.0, 0.9, 1.0],
                           [-0.4, -0.5, 0.2], [0.4, -0.5, 0.2],
                           [0.0, 0.4, 0.2]]])
    # the near face has the larger index: depth, not order, must decide
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    ours, ref, ok = _check(verts, faces, 48)
    front = brute_force_rasterize(verts, faces[1:], 48).face_idx >= 0
    assert front.sum() > 100
    assert (ours.face_idx[front] == 1).all()
    torch.testing.assert_close(ours.depth[front],
                               torch.full_like(ours.depth[front], 0.2))
    # no near plane, and negative depths order correctly
    shifted = rasterize_meshes_torch(verts - torch.tensor([0., 0., 3.]), faces,
                                     48)
    assert torch.equal(shifted.face_idx, ours.face_idx)
    torch.testing.assert_close(shifted.depth, ours.depth - 3.0)
    # swapping depths swaps visibility
    verts2 = verts.clone()
    verts2[0, :3, 2], verts2[0, 3:, 2] = 0.1, 0.7
    assert (rasterize_meshes_torch(verts2, faces,
                                   48).face_idx[front] == 0).all()


def test_interpenetrating_faces():
    # two faces crossing along the line x = 0: each is in front on one side
    verts = torch.tensor([[[-0.9, -0.8, 0.0], [0.9, -0.8,
                                               1.0], [0.0, 0.9, 0.5],
                           [-0.9, -0.7, 1.0], [0.9, -0.7, 0.0],
                           [0.0, 0.8, 0.5]]])
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    ours, _, ok = _check(verts, faces, (40, 44))
    both = ok & (ours.face_idx >= 0)
    assert (ours.face_idx[both] == 0).any() and (ours.face_idx[both]
                                                 == 1).any()


def test_ties_go_to_smaller_face_index():
    verts, faces = _grid_mesh(3, 3)
    faces = torch.cat([faces, faces])  # exact duplicates, same depth
    frags = rasterize_meshes_torch(verts, faces, 16)
    assert (frags.face_idx >= 0).all()
    assert (frags.face_idx < len(faces) // 2).all()


def test_slivers_and_degenerate_faces():
    verts = torch.tensor([[
        [-0.95, -0.9, 0.3],
        [0.95, 0.9, 0.3],
        [-0.9, -0.95, 0.3],  # sliver
        [-0.9, 0.9, 0.2],
        [0.9, 0.9 + 1e-9, 0.2],
        [0.0, 0.9, 0.2],  # ~0 area
        [-1.0, -0.5, 0.1],
        [1.0, 0.5, 0.1],
        [0.0, 0.0, 0.1],  # collinear
        [0.2, 0.2, 0.4],
        [0.2, 0.2, 0.4],
        [0.8, -0.3, 0.4],  # repeated
    ]])
    faces = torch.arange(12).view(4, 3)
    ours, _, _ = _check(verts, faces, 64)
    assert (ours.face_idx == 0).sum() > 10  # the sliver is drawn
    assert not (ours.face_idx >= 1).any()  # degenerate faces never cover


def test_off_screen_and_larger_than_image():
    verts = torch.tensor([[
        [-30.0, -30.0, 2.0],
        [90.0, -30.0, 2.0],
        [-30.0, 90.0, 2.0],  # huge
        [0.5, -1.5, 1.0],
        [2.0, 0.5, 1.0],
        [0.2, 0.8, 1.0],  # partly off
        [1.5, 1.5, 0.0],
        [3.0, 1.5, 0.0],
        [1.5, 3.0, 0.0],  # fully off
        [-1e6, -1e6, 3.0],
        [1e6, -1e6, 3.0],
        [0.0, 1e6, 3.0],  # enormous
    ]])
    faces = torch.arange(12).view(4, 3)
    ours, _, _ = _check(verts, faces, (24, 40), max_ambiguous=0.2)
    assert (ours.face_idx >= 0).all()
    assert (ours.face_idx == 1).sum() > 20
    assert not (ours.face_idx == 2).any()


def test_both_windings():
    verts, faces = _soup(1, 25, seed=3)
    flipped = faces[:, [0, 2, 1]]
    a, _, ok = _check(verts, faces, 40)
    b, _, _ = _check(verts, flipped, 40)
    assert torch.equal(a.face_idx[ok], b.face_idx[ok])
    torch.testing.assert_close(a.bary[ok], b.bary[ok][:, [0, 2, 1]])


def test_pixel_centre_convention():
    height, width, row, col = 6, 10, 4, 7
    x = (2 * col + 1) / width - 1
    y = (2 * row + 1) / height - 1
    d = 0.05  # much smaller than a pixel
    verts = torch.tensor([[[x - d, y - d, 0.0], [x + d, y - d, 0.0],
                           [x, y + d, 0.0]]])
    frags = MeshRasterizer((height, width))(verts, torch.tensor([[0, 1, 2]]))
    expected = torch.full((1, height, width), -1)
    expected[0, row, col] = 0
    assert torch.equal(frags.face_idx, expected)
    # y grows downwards: the vertex with the largest y is the lowest one
    torch.testing.assert_close(frags.bary[0, row, col],
                               torch.tensor([0.25, 0.25, 0.5]))


def test_closed_mesh_has_no_cracks():
    # grid vertices on pixel centres: many centres lie on shared edges
    size = 16
    lo, hi = -1 + 1 / size, 1 - 1 / size
    verts, faces = _grid_mesh(9, 9, lo, hi)
    frags = rasterize_meshes_torch(verts, faces, size)
    assert (frags.face_idx >= 0).all()
    _check_self_consistent(frags, verts, faces)
    assert (frags.bary >= -1e-6).all()


@pytest.mark.parametrize('max_pairs', [1, 7, 100])
def test_chunking_does_not_change_result(max_pairs):
    verts, faces = _soup(2, 30, lo=-3.0, hi=3.0, seed=4)  # many large faces
    size = (21, 34)
    ref = rasterize_meshes_torch(verts, faces, size, max_pairs=1 << 30)
    out = rasterize_meshes_torch(verts, faces, size, max_pairs=max_pairs)
    for a, b in zip(out, ref):
        assert torch.equal(a, b)


def test_float64_and_gradients():
    verts, faces = _soup(1, 10, seed=5)
    verts = verts.double().requires_grad_(True)
    frags = rasterize_meshes_torch(verts, faces, 24)
    assert frags.bary.dtype == torch.float64
    fg = frags.face_idx >= 0
    (frags.bary[fg][:, 0].sum() + frags.depth[fg].sum()).backward()
    assert verts.grad is not None and torch.isfinite(verts.grad).all()
    assert verts.grad.abs().sum() > 0


def test_empty_inputs():
    frags = rasterize_meshes_torch(
        torch.zeros(2, 3, 3), torch.zeros(0, 3, dtype=torch.long), (5, 7))
    assert isinstance(frags, Fragments)
    assert frags.face_idx.shape == (2, 5, 7) and (frags.face_idx == -1).all()
    assert frags.bary.shape == (2, 5, 7, 3)
    nan = torch.full((1, 3, 3), float('nan'))
    assert (rasterize_meshes_torch(nan, torch.tensor([[0, 1, 2]]),
                                   4).face_idx == -1).all()


def test_registry_and_module():
    cfg = dict(type='MeshRasterizer', image_size=(20, 30), max_pairs=64)
    for registry in (RENDERERS, MODELS):
        rasterizer = registry.build(cfg)
        assert isinstance(rasterizer, MeshRasterizer)
    verts, faces = _soup(2, 10, seed=6)
    frags = rasterizer(verts, faces)
    ref = rasterize_meshes_torch(verts, faces, (20, 30))
    assert torch.equal(frags.face_idx, ref.face_idx)
    assert frags.image_size == (20, 30)
    with pytest.raises(ValueError, match='backend must be one of'):
        MeshRasterizer(8, backend='opengl')
    if not pytorch3d_available():
        assert MeshRasterizer(8, backend='auto').backend == 'torch'
        with pytest.raises(ImportError, match='pip install'):
            MeshRasterizer(8, backend='pytorch3d')


def test_uv_sphere_front_faces_visible():
    # a closed sphere: the visible surface is the near hemisphere
    rings, segs = 12, 16
    th = torch.arange(1, rings + 1) * math.pi / (rings + 1)
    ph = torch.arange(segs) * 2 * math.pi / segs
    t, p = torch.meshgrid(th, ph, indexing='ij')
    pts = torch.stack([t.sin() * p.cos(), t.cos(), t.sin() * p.sin()], -1)
    verts = torch.cat([
        torch.tensor([[0., 1, 0]]),
        pts.view(-1, 3),
        torch.tensor([[0., -1, 0]])
    ]) * 0.8
    idx = [[1 + r * segs + s % segs for s in range(segs + 1)]
           for r in range(rings)]
    faces = [[0, idx[0][s + 1], idx[0][s]] for s in range(segs)]
    faces += [[len(verts) - 1, idx[-1][s], idx[-1][s + 1]]
              for s in range(segs)]
    for r in range(rings - 1):
        for s in range(segs):
            a, b, c, d = idx[r][s], idx[r][s + 1], idx[r + 1][s], idx[r +
                                                                      1][s + 1]
            faces += [[a, b, d], [a, d, c]]
    faces = torch.tensor(faces)
    ours, _, _ = _check(verts[None], faces, 40, max_ambiguous=0.6)
    fg = ours.face_idx >= 0
    assert (ours.depth[fg] <= 1e-6).all()  # only the near half (z <= 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='requires CUDA')
def test_cuda_matches_cpu():
    verts, faces = _soup(2, 40, seed=7)
    cpu = rasterize_meshes_torch(verts, faces, (37, 53))
    gpu = rasterize_meshes_torch(
        verts.cuda(), faces.cuda(), (37, 53), max_pairs=50)
    ok = ~ambiguous_pixels(verts, faces, (37, 53))
    assert torch.equal(gpu.face_idx.cpu()[ok], cpu.face_idx[ok])
    torch.testing.assert_close(gpu.bary.cpu()[ok], cpu.bary[ok])


def test_pytorch3d_backend_matches_torch():
    pytest.importorskip('pytorch3d')
    verts, faces = _soup(2, 40, seed=8)
    for size in ((37, 53), (48, 32), 40):
        ours = rasterize_meshes_torch(verts, faces, size)
        p3d = MeshRasterizer(
            size, backend='pytorch3d', bin_size=0)(verts, faces)
        ok = ~ambiguous_pixels(verts, faces, size)
        assert torch.equal(p3d.face_idx[ok], ours.face_idx[ok])
        hit = ok & (ours.face_idx >= 0)
        torch.testing.assert_close(
            p3d.bary[hit], ours.bary[hit], atol=1e-4, rtol=0)
        torch.testing.assert_close(
            p3d.depth[hit], ours.depth[hit], atol=1e-4, rtol=0)


def test_back_face_culling_drops_clockwise_faces():
    """The release's renderer draws a face whose vertices run
    counter-clockwise as seen on the screen and drops the other winding;
    indices stay."""
    # top-left, top-right, bottom-left: clockwise on a y-down screen
    tri = torch.tensor([[-0.9, -0.9, 1.], [0.9, -0.9, 1.], [-0.9, 0.9, 1.]])
    verts = torch.cat([tri, tri + torch.tensor([0., 0., 1.])])[None]
    faces = torch.tensor([[0, 1, 2], [3, 5, 4]])  # near clockwise, far not
    plain = MeshRasterizer(8)(verts, faces)
    culled = MeshRasterizer(8, cull_backfaces=True)(verts, faces)
    assert (plain.face_idx == 0).any()  # the nearer face wins without culling
    covered = plain.face_idx >= 0
    assert torch.all(culled.face_idx[covered] == 1)
    assert torch.all(culled.face_idx[~covered] == -1)


def test_back_face_culling_leaves_a_closed_body_unchanged(tmp_path):
    """On a closed, outward-wound body only hidden faces are back faces:
    culling changes no visible face (and a wrong sign would change all)."""
    from mmlwgan.models.body import SMPL, weak_perspective_project
    from mmlwgan.synthetic import get_synthetic_smpl_path
    smpl = SMPL(model_path=get_synthetic_smpl_path(str(tmp_path)))
    pose = torch.zeros(2, 72)
    pose[1, 1], pose[1, 50] = 2.5, -1.0  # turned round, an arm bent
    verts = weak_perspective_project(
        smpl(pose, torch.zeros(2, 10))['vertices'],
        torch.tensor([[0.9, 0., 0.1]] * 2))
    plain = MeshRasterizer(48)(verts, smpl.faces)
    culled = MeshRasterizer(48, cull_backfaces=True)(verts, smpl.faces)
    assert (plain.face_idx >= 0).sum() > 300
    assert torch.equal(culled.face_idx, plain.face_idx)
    torch.testing.assert_close(culled.bary, plain.bary)

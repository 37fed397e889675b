# Copyright (c) mmlwgan contributors. All rights reserved.
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage

from mmlwgan.models.flows import (FlowComposer, compose_flow,
                                  convert_grid_align_corners, dilate, erode,
                                  face_visibility, lwgan_masks, warp_image)
from mmlwgan.models.renderers import MeshRasterizer

H = W = 48


def grid_mesh(n=12, x0=-0.7, x1=0.6, y0=-0.8, y1=0.5, z=0.5):
    """A flat (n+1)^2-vertex grid of 2 n^2 triangles in NDC."""
    xs = torch.linspace(x0, x1, n + 1)
    ys = torch.linspace(y0, y1, n + 1)
    yy, xx = torch.meshgrid(ys, xs, indexing='ij')
    verts = torch.stack([xx, yy, torch.full_like(xx, z)], -1).reshape(-1, 3)
    idx = torch.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b = idx[:-1, :-1].reshape(-1), idx[:-1, 1:].reshape(-1)
    c, d = idx[1:, :-1].reshape(-1), idx[1:, 1:].reshape(-1)
    faces = torch.cat([torch.stack([a, b, d], 1), torch.stack([a, d, c], 1)])
    return verts, faces


def pixel_centres(h, w):
    ys = (2 * torch.arange(h) + 1) / h - 1
    xs = (2 * torch.arange(w) + 1) / w - 1
    yy, xx = torch.meshgrid(ys, xs, indexing='ij')
    return torch.stack([xx, yy], -1)  # (H, W, 2)


def interpolate(frag, faces, values):
    """Per-pixel barycentric interpolation of per-vertex values (B, V, C)."""
    B, h, w = frag.face_idx.shape
    vid = faces[frag.face_idx.clamp(min=0)]  # (B, H, W, 3)
    vals = torch.stack([values[b][vid[b]] for b in range(B)])  # B,H,W,3,C
    out = (frag.bary.unsqueeze(-1) * vals).sum(-2)
    return out * (frag.face_idx >= 0).unsqueeze(-1)


@pytest.fixture
def raster():
    return MeshRasterizer(image_size=(H, W))


def warp_mesh(verts):
    """A smooth non-rigid deformation of NDC vertices."""
    x, y, z = verts.unbind(-1)
    return torch.stack([0.8 * x + 0.1 * torch.sin(2 * y) + 0.05,
                        0.9 * y + 0.1 * x ** 2 - 0.05, z], -1)


def test_identity_flow_is_pixel_centre(raster):
    verts, faces = grid_mesh()
    verts = warp_mesh(verts)[None]
    frag = raster(verts, faces)
    flow = compose_flow(frag.face_idx, frag.bary, faces, verts)
    covered = frag.face_idx[0] >= 0
    assert covered.sum() > 200
    centres = pixel_centres(H, W)
    err = (flow[0][covered] - centres[covered]).abs().max()
    assert err < 1e-3
    # background is out of range
    assert torch.all(flow[0][~covered] == -2)


def test_translation_gives_constant_flow(raster):
    verts, faces = grid_mesh()
    tgt = verts[None]
    shift = torch.tensor([0.13, -0.07, 0.0])
    src = tgt + shift
    frag = raster(tgt, faces)
    flow = compose_flow(frag.face_idx, frag.bary, faces, src)
    covered = frag.face_idx[0] >= 0
    disp = flow[0][covered] - pixel_centres(H, W)[covered]
    torch.testing.assert_close(
        disp, shift[:2].expand_as(disp), atol=1e-4, rtol=0)


def test_warping_texture_reproduces_target_render(raster):
    verts, faces = grid_mesh(n=16, x0=-0.95, x1=0.95, y0=-0.95, y1=0.95)
    src = verts[None]
    tgt = warp_mesh(verts)[None]
    # a smooth 'texture' attached to the surface: colour from canonical xy
    colours = torch.stack([
        0.5 + 0.4 * torch.sin(2.5 * verts[:, 0]),
        0.5 + 0.4 * torch.cos(2.0 * verts[:, 1]),
        0.5 + 0.3 * verts[:, 0] * verts[:, 1]
    ], -1)[None]
    src_frag, tgt_frag = raster(src, faces), raster(tgt, faces)
    src_img = interpolate(src_frag, faces, colours).permute(0, 3, 1, 2)
    tgt_img = interpolate(tgt_frag, faces, colours).permute(0, 3, 1, 2)
    flow = compose_flow(tgt_frag.face_idx, tgt_frag.bary, faces, src)
    warped = warp_image(src_img, flow)
    # interior target pixels: body in the eroded target silhouette, whose
    # flow lands inside the eroded source silhouette
    tgt_in = erode((tgt_frag.face_idx >= 0).float()[:, None], 5)[0, 0] > 0
    src_in = erode((src_frag.face_idx >= 0).float()[:, None], 5)
    lands = F.grid_sample(src_in, flow, mode='nearest',
                          align_corners=False)[0, 0] > 0
    interior = tgt_in & lands
    assert interior.sum() > 300
    diff = (warped - tgt_img)[0].permute(1, 2, 0)[interior].abs()
    assert diff.max() < 0.03
    # and it is not trivially so: the un-warped source differs
    assert (src_img - tgt_img)[0].permute(1, 2, 0)[interior].abs().mean() \
        > 10 * diff.mean()


def test_visibility_masks_hidden_faces(raster):
    verts, faces = grid_mesh(n=4)
    # two layers: a front copy covers the back copy entirely
    back = verts.clone()
    back[:, 2] = 0.9
    all_verts = torch.cat([verts, back])[None]
    all_faces = torch.cat([faces, faces + verts.shape[0]])
    src_frag = raster(all_verts, all_faces)
    vis = face_visibility(src_frag.face_idx, all_faces.shape[0])
    n = faces.shape[0]
    assert vis[0, :n].all() and not vis[0, n:].any()
    # target: only the back layer is shown (front layer moved off-screen)
    tgt = all_verts.clone()
    tgt[0, :verts.shape[0], 0] += 5.0
    tgt_frag = raster(tgt, all_faces)
    covered = tgt_frag.face_idx[0] >= 0
    assert covered.sum() > 0
    flow_all = compose_flow(tgt_frag.face_idx, tgt_frag.bary, all_faces,
                            all_verts)
    flow_vis = compose_flow(tgt_frag.face_idx, tgt_frag.bary, all_faces,
                            all_verts, src_visible_faces=vis)
    assert (flow_all[0][covered] > -1.5).all()
    assert (flow_vis[0][covered] == -2).all()


def test_flow_composer_several_sources(raster):
    verts, faces = grid_mesh()
    tgt = warp_mesh(verts)[None].repeat(2, 1, 1)
    tgt[1] += torch.tensor([0.05, 0.02, 0.0])
    srcs = torch.stack([verts + torch.tensor([0.1 * s, 0.0, 0.0])
                        for s in range(3)])[None].repeat(2, 1, 1, 1)
    composer = FlowComposer(rasterizer=dict(type='MeshRasterizer',
                                            image_size=(H, W)))
    out = composer(srcs, tgt, faces)
    assert out['flow'].shape == (2, 3, H, W, 2)
    assert out['src_body'].shape == (2, 3, 1, H, W)
    for b in range(2):
        for s in range(3):
            single = composer(srcs[b:b + 1, s], tgt[b:b + 1], faces)['flow']
            torch.testing.assert_close(out['flow'][b, s], single[0])
    # source s is source 0 shifted by 0.1 s in x
    covered = out['tgt_body'][:, 0] > 0
    d = out['flow'][:, 2] - out['flow'][:, 0]
    torch.testing.assert_close(d[covered][:, 0],
                               torch.full_like(d[covered][:, 0], 0.2))
    imgs = torch.rand(2, 3, 3, H, W)
    warped = composer.warp(imgs, out['flow'])
    assert warped.shape == imgs.shape
    torch.testing.assert_close(warped[1, 2], warp_image(imgs[1:2, 2],
                                                        out['flow'][1:2, 2])[0])


@pytest.mark.parametrize('ks', [1, 3, 5, 15])
def test_morphology_matches_scipy(ks):
    rng = np.random.default_rng(ks)
    mask = (rng.random((2, 1, 20, 23)) > 0.4).astype(np.float32)
    t = torch.from_numpy(mask)
    ref_e = ndimage.minimum_filter(mask, size=(1, 1, ks, ks), mode='nearest')
    ref_d = ndimage.maximum_filter(mask, size=(1, 1, ks, ks), mode='nearest')
    np.testing.assert_array_equal(erode(t, ks).numpy(), ref_e)
    np.testing.assert_array_equal(dilate(t, ks).numpy(), ref_d)
    with pytest.raises(ValueError, match='odd'):
        erode(t, 4)


def test_lwgan_masks():
    body = torch.zeros(1, 1, 32, 32)
    body[..., 8:24, 10:20] = 1
    m = lwgan_masks(body, body, ft_kernel=3, bg_kernel=15)
    # the front mask is the body dilated by one pixel
    assert m['src_fg_mask'][0, 0, 7:25, 9:21].all()
    assert m['src_fg_mask'].sum() == 18 * 12
    assert torch.equal(m['src_bg_mask'], 1 - m['src_fg_mask'])
    # the background input keeps pixels at least 8 px away from the body
    assert m['bg_input_mask'][0, 0, 16, 15 - 12] == 0
    assert m['bg_input_mask'][0, 0, 16, 1] == 1
    assert m['bg_input_mask'][0, 0, 0:1, :].all()  # row 0 is 8 px from body


def test_align_corners_conversion():
    img = torch.rand(1, 2, 9, 13)
    grid = torch.rand(1, 5, 7, 2) * 2 - 1
    # the conversion is defined for grids at the image's own size
    grid = F.interpolate(grid.permute(0, 3, 1, 2), size=(9, 13)).permute(
        0, 2, 3, 1)
    a = F.grid_sample(img, grid, align_corners=False)
    g2 = convert_grid_align_corners(grid, to_align_corners=True)
    b = F.grid_sample(img, g2, align_corners=True)
    # only the interior agrees exactly (the two conventions pad differently)
    inside = (grid.abs() < 1 - 2.0 / 9).all(-1)
    torch.testing.assert_close(a.permute(0, 2, 3, 1)[inside],
                               b.permute(0, 2, 3, 1)[inside])
    back = convert_grid_align_corners(g2, to_align_corners=False)
    torch.testing.assert_close(back, grid)

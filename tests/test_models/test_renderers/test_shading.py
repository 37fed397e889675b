# Copyright (c) mmlwgan contributors. All rights reserved.
import math

import torch

from mmlwgan.models.renderers import (face_normals, rasterize_meshes_torch,
                                      shade_vertex_colors, texture_lookup)

SIZE = (24, 32)


def _quad(z=(0.5, 0.5, 0.5, 0.5)):
    verts = torch.tensor([[[-0.7, -0.6, z[0]], [0.6, -0.6, z[1]],
                           [0.6, 0.7, z[2]], [-0.7, 0.7, z[3]]]])
    faces = torch.tensor([[0, 1, 2], [0, 3, 2]])  # mixed windings
    return verts, faces, rasterize_meshes_torch(verts, faces, SIZE)


def test_flat_face_facing_light_gets_ambient_plus_diffuse():
    verts, faces, frags = _quad()
    colors = torch.tensor([0.8, 0.5, 0.25]).expand(4, 3)
    image = shade_vertex_colors(
        frags,
        faces,
        verts,
        colors,
        light_dir=(0, 0, -1),
        ambient=0.3,
        diffuse=0.6)
    assert image.shape == (1, 3) + SIZE
    fg = frags.face_idx[0] >= 0
    expected = torch.tensor([0.8, 0.5, 0.25]) * 0.9
    torch.testing.assert_close(image[0].permute(1, 2, 0)[fg],
                               expected.expand(int(fg.sum()), 3))
    # grazing light: ambient only
    image = shade_vertex_colors(
        frags,
        faces,
        verts,
        colors,
        light_dir=(1, 0, 0),
        ambient=0.3,
        diffuse=0.6)
    torch.testing.assert_close(image[0].permute(1, 2, 0)[fg],
                               (torch.tensor([0.8, 0.5, 0.25]) * 0.3).expand(
                                   int(fg.sum()), 3))


def test_tilted_face_and_normals():
    verts, faces, frags = _quad(z=(0.0, 1.3, 1.3, 0.0))  # slope along x
    normals = face_normals(verts, faces)
    assert torch.allclose(normals.norm(dim=-1), torch.ones(1, 2))
    light = normals[0, 0].tolist()
    image = shade_vertex_colors(
        frags,
        faces,
        verts,
        torch.ones(1, 4, 3),
        light_dir=light,
        ambient=0.1,
        diffuse=0.5)
    fg = frags.face_idx[0] >= 0
    torch.testing.assert_close(image[0][:, fg],
                               torch.full((3, int(fg.sum())), 0.6))
    # cos of the angle with the camera direction
    cos = 1 / math.sqrt(1 + (1.3 / 1.3)**2)
    image = shade_vertex_colors(
        frags, faces, verts, torch.ones(4, 3), ambient=0.0, diffuse=1.0)
    torch.testing.assert_close(image[0][:, fg],
                               torch.full((3, int(fg.sum())), cos))


def test_background_and_range():
    verts, faces, frags = _quad()
    fg = frags.face_idx[0] >= 0
    bg_img = torch.rand(1, 3, *SIZE)
    colors = torch.rand(4, 3) * 2  # out-of-range colours get clamped
    image = shade_vertex_colors(frags, faces, verts, colors, background=bg_img)
    assert torch.equal(image[0][:, ~fg], bg_img[0][:, ~fg])
    assert image.min() >= 0 and image.max() <= 1
    image = shade_vertex_colors(
        frags, faces, verts, colors, background=(0.1, 0.2, 0.3))
    torch.testing.assert_close(
        image[0][:, ~fg],
        torch.tensor([0.1, 0.2, 0.3])[:, None].expand(3, int((~fg).sum())))


def test_texture_lookup():
    verts, faces, frags = _quad()
    fg = frags.face_idx[0] >= 0
    vert_uv = torch.tensor([[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]])
    texture = torch.tensor([0.2, 0.4, 0.6]).view(1, 3, 1,
                                                 1).expand(1, 3, 16, 16)
    out = texture_lookup(frags, faces, vert_uv, texture, background=-1.0)
    assert out.shape == (1, 3) + SIZE
    torch.testing.assert_close(
        out[0][:, fg],
        torch.tensor([0.2, 0.4, 0.6])[:, None].expand(3, int(fg.sum())))
    assert (out[0][:, ~fg] == -1).all()
    # a horizontal ramp texture returns u (bilinear is exact on a ramp)
    wt = 64
    ramp = ((torch.arange(wt) + 0.5) / wt).view(1, 1, 1,
                                                wt).expand(1, 1, 8, wt)
    out = texture_lookup(frags, faces, vert_uv, ramp)
    u_of_x = (verts[0, :, 0] + 0.7) / 1.3 * 0.8 + 0.1  # affine: exact
    xs = (2 * torch.arange(SIZE[1]) + 1) / SIZE[1] - 1
    u = ((xs + 0.7) / 1.3 * 0.8 + 0.1).expand(*SIZE)
    torch.testing.assert_close(u_of_x, vert_uv[:, 0])
    torch.testing.assert_close(out[0, 0][fg], u[fg], atol=1e-5, rtol=0)
    # separate uv_faces indexing a UV table
    uv_table = torch.cat([torch.zeros(2, 2), vert_uv])
    out2 = texture_lookup(frags, faces, uv_table, ramp, uv_faces=faces + 2)
    torch.testing.assert_close(out2, out)

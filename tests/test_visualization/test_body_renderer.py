# Copyright (c) mmlwgan contributors. All rights reserved.
import cv2
import numpy as np
import torch

from mmlwgan.models.body import weak_perspective_project
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.visualization import (BodyRenderer, fit_weak_perspective_camera,
                                   vertex_part_colors)


def test_fit_camera_fills_the_frame():
    verts = torch.randn(2, 100, 3) * torch.tensor([0.3, 0.9, 0.2]) + 3.0
    cam = fit_weak_perspective_camera(verts, margin=0.1)
    ndc = weak_perspective_project(verts, cam)
    lo, hi = ndc[..., :2].amin(1), ndc[..., :2].amax(1)
    torch.testing.assert_close(lo + hi, torch.zeros(2, 2), atol=1e-5,
                               rtol=0)
    torch.testing.assert_close((hi - lo).amax(-1), torch.full((2,), 1.8))


def test_vertex_part_colors():
    faces = torch.tensor([[0, 1, 2], [2, 3, 0]])
    colors = vertex_part_colors(faces, torch.tensor([1, 4]), 5,
                                palette=torch.eye(5, 3).repeat(1, 1))
    # vertices 0 and 2 are shared: they take the larger label (4 -> row 4)
    pal = torch.eye(5, 3)
    assert torch.equal(colors[1], pal[1]) and torch.equal(colors[3], pal[4])
    assert torch.equal(colors[0], pal[4]) and torch.equal(colors[4], pal[0])


def test_render_synthetic_body_upright_and_facing(synthetic_smpl_npz):
    renderer = BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                            image_size=64)
    pose = torch.from_numpy(make_motion('rest', 1))
    betas = torch.zeros(1, 10)
    img, ndc, frags = renderer.render(pose, betas)
    assert img.shape == (1, 3, 64, 64)
    body = frags.face_idx[0] >= 0
    assert 0.05 < body.float().mean() < 0.6
    # upright: the head (highest joint) is near the top of the image
    joints = renderer.body_model(pose, betas)['joints']
    cam = fit_weak_perspective_camera(
        renderer.posed_vertices(pose, betas))
    head = weak_perspective_project(joints[:, 15:16], cam)[0, 0]
    pelvis = weak_perspective_project(joints[:, 0:1], cam)[0, 0]
    assert head[1] < pelvis[1] - 0.3  # y grows downwards
    # background stays white, body pixels are shaded colours
    assert torch.all(img[0][:, ~body] == 1.0)
    assert img[0][:, body].mean() < 0.95


def test_render_body_cli(tmp_path, synthetic_smpl_npz):
    from tools.misc.render_body import main
    out = tmp_path / 'body.png'
    main(['--smpl', synthetic_smpl_npz, '--motion', 'squat', '--frame', '10',
          '--size', '64', '--out', str(out)])
    img = cv2.imread(str(out))
    assert img.shape == (64, 64, 3)
    assert (img.reshape(-1, 3) < 250).any(-1).mean() > 0.05
    assert np.isin(255, img)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Small synthetic training batches: a textured body in two poses.

Used by model tests and quick checks: no dataset on disk is needed. The
images are rendered from the body model with patterned per-vertex colours
over a patterned background, so that warping and reconstruction have
something to get right.
"""
from typing import Dict, Optional

import numpy as np
import torch
from torch import Tensor

from mmlwgan.models.renderers import shade_vertex_colors
from mmlwgan.structures import LWGANDataSample
from mmlwgan.visualization import BodyRenderer, fit_weak_perspective_camera
from .motions import make_motion


def patterned_colors(verts: Tensor, base: Tensor, seed: int = 0) -> Tensor:
    """(V, 3) rest vertices and (V, 3) base colours -> striped, printed
    per-vertex colours in [0, 1] (deterministic from ``seed``)."""
    g = torch.Generator().manual_seed(seed)
    freq = 20 + 30 * torch.rand(2, generator=g)
    tint = 0.6 + 0.4 * torch.rand(3, generator=g)
    y, x = verts[:, 1], verts[:, 0]
    stripes = 0.5 + 0.5 * torch.sign(torch.sin(freq[0] * y))
    prints = 0.5 + 0.5 * torch.sin(freq[1] * (x + y))
    pattern = (0.6 + 0.4 * stripes)[:, None] * (0.75 + 0.25 * prints)[:, None]
    return (base * tint * pattern).clamp(0, 1)


def patterned_background(size: int, seed: int = 0) -> Tensor:
    """(3, H, W) smooth colour gradients with a soft checker, in [0, 1]."""
    g = torch.Generator().manual_seed(seed + 1000)
    c0, c1 = torch.rand(3, generator=g), torch.rand(3, generator=g)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, size),
                            torch.linspace(0, 1, size), indexing='ij')
    grad = (c0[:, None, None] * (1 - ys) + c1[:, None, None] * ys)
    checker = ((torch.floor(xs * 8) + torch.floor(ys * 8)) % 2) * 0.15
    return (0.2 + 0.6 * grad + checker).clamp(0, 1)


def synthetic_theta(renderer: BodyRenderer, pose: Tensor, betas: Tensor,
                    cam: Optional[Tensor] = None,
                    margin: float = 0.2) -> Tensor:
    """(N, 72) pose and (N, 10) betas -> (N, 85) thetas with a camera fitted
    to the first mesh (or the given (N, 3) cameras)."""
    if cam is None:
        verts = renderer.posed_vertices(pose[:1], betas[:1])
        cam = fit_weak_perspective_camera(verts, margin).expand(
            pose.shape[0], -1)
    return torch.cat([cam, pose, betas], dim=1)


@torch.no_grad()
def render_patterned_person(renderer: BodyRenderer,
                            pose: 'np.ndarray | Tensor',
                            betas: 'np.ndarray | Tensor',
                            seed: int = 0,
                            cam: Optional[Tensor] = None,
                            margin: float = 0.25):
    """Render a body in patterned clothes over a patterned background.

    Args:
        renderer (BodyRenderer): body model + rasterizer (square images).
        pose: (N, 72) axis-angle poses.
        betas: (1 or N, num_betas) shapes.
        seed (int): clothes and background pattern.
        cam (Tensor, optional): (N, 3) weak-perspective cameras; default:
            fitted to the first mesh with ``margin``.
        margin (float): the fitted camera's margin.

    Returns:
        tuple[np.ndarray, np.ndarray]: uint8 (N, H, W, 3) RGB images and the
        (N, 85) thetas ``[cam, pose, betas]``.
    """
    pose = torch.as_tensor(pose, dtype=torch.float32)
    betas = torch.as_tensor(betas, dtype=torch.float32).expand(len(pose), -1)
    theta = synthetic_theta(renderer, pose, betas, cam=cam, margin=margin)
    ndc = renderer.project(renderer.posed_vertices(pose, betas), theta[:, :3])
    colors = patterned_colors(renderer.body_model.v_template,
                              renderer.default_colors(), seed=seed)
    size = renderer.rasterizer.image_size[0]
    bg = patterned_background(size, seed).expand(len(pose), -1, -1, -1)
    img = shade_vertex_colors(renderer.rasterize(ndc), renderer.faces, ndc,
                              colors, background=bg)
    img = (img.permute(0, 2, 3, 1) * 255).round().to(torch.uint8)
    return img.numpy(), theta.numpy()


@torch.no_grad()
def make_synthetic_batch(renderer: BodyRenderer,
                         batch_size: int = 2,
                         num_sources: int = 1,
                         motion: str = 'dance',
                         seed: int = 0) -> Dict:
    """A batch in the layout ``LWGANDataPreprocessor`` takes.

    Each item is one body (random shape, patterned clothes, its own
    background) seen in ``num_sources`` source poses and one target pose of
    ``motion``; all its frames share one camera.

    Returns:
        dict: ``inputs`` = dict(``src_img`` list of (S, 3, H, W) uint8,
        ``tgt_img`` list of (3, H, W) uint8) and ``data_samples`` (list of
        :class:`LWGANDataSample` with ``src_smpl`` (S, 85) and ``tgt_smpl``
        (85,)).
    """
    rng = np.random.default_rng(seed)
    size = renderer.rasterizer.image_size[0]
    num_betas = renderer.body_model.num_betas
    poses = torch.from_numpy(make_motion(motion, 40))
    v_rest = renderer.body_model.v_template
    base = renderer.default_colors()
    src_imgs, tgt_imgs, samples = [], [], []
    for b in range(batch_size):
        betas = torch.from_numpy(
            rng.normal(0, 0.8, (1, num_betas)).astype(np.float32))
        idx = rng.choice(len(poses), num_sources + 1, replace=False)
        pose = poses[torch.from_numpy(idx)]
        theta = synthetic_theta(renderer, pose,
                                betas.expand(len(idx), -1))
        colors = patterned_colors(v_rest, base, seed=seed * 100 + b)
        bg = patterned_background(size, seed=seed * 100 + b)
        verts = renderer.posed_vertices(pose, theta[:, -num_betas:])
        ndc = renderer.project(verts, theta[:, :3])
        frags = renderer.rasterize(ndc)
        imgs = shade_vertex_colors(frags, renderer.faces, ndc, colors,
                                   background=bg.expand(len(idx), -1, -1, -1))
        imgs = (imgs * 255).round().to(torch.uint8)
        src_imgs.append(imgs[:num_sources])
        tgt_imgs.append(imgs[num_sources])
        sample = LWGANDataSample(metainfo=dict(
            video_id=f'synthetic/{seed}/{b}',
            src_frame_ids=idx[:num_sources].tolist(),
            tgt_frame_id=int(idx[-1]), img_shape=(size, size)))
        sample.src_smpl = theta[:num_sources]
        sample.tgt_smpl = theta[num_sources]
        samples.append(sample)
    return dict(inputs=dict(src_img=src_imgs, tgt_img=tgt_imgs),
                data_samples=samples)

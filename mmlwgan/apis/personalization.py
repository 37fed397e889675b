# Copyright (c) mmlwgan contributors. All rights reserved.
"""Personalisation: test-time fine-tuning of the generator on the source.

As in the release (``post_personalize``), the generator is fine-tuned for a
few steps on pseudo-pairs made from the source image(s) before synthesis,
which sharpens the person's identity and clothes:

1. a pool of pseudo-pairs: each source against itself in a slightly
   perturbed pose and camera (small random joint rotations, a small turn
   of the body, scale / shift of the camera; optionally mirrored), with the
   un-tuned generator's prediction of each pair kept as a structure anchor
   (computed once, without gradients);
2. each step: source -> pseudo target (``fake``), then the fake warped back
   to the source pose (the cycle);
3. losses (the release's): ``10 * cycle`` (L1 of the source reconstruction
   and of the cycle output against the source), ``10 * structure`` (L1 of
   the fake against the anchor, plus twice the L1 of the fake warped back
   against the source on the body), ``5 * mask`` (BCE of the attention
   masks against the eroded rendered backgrounds) and the model's face
   identity loss when it has one;
4. Adam on the generator's parameters only (lr 2e-4 as in the ICCV
   release, betas (0.5, 0.999); iPERCore uses 1e-4).

Memory: geometry and the anchors are computed without gradients, the body
model and HMR are never in the graph, and ``grad_checkpoint=True``
recomputes each generator pass during the backward pass instead of keeping
its activations (the release's top out-of-memory complaint).

The tuned weights are returned (and saved with ``save_path``) and can be
loaded again with :func:`load_personalized`.
"""
import os
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor, nn

from mmlwgan.utils import atomic_path

__all__ = [
    'personalize', 'reconstruction_loss', 'save_personalized',
    'load_personalized', 'flip_theta', 'SMPL_FLIP_PERM'
]

#: SMPL joint permutation of a left-right mirror.
SMPL_FLIP_PERM = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17,
                  16, 19, 18, 21, 20, 23, 22)

LOSS_WEIGHTS = dict(cycle=10.0, struct=10.0, mask=5.0, face=1.0)


def flip_theta(theta: Tensor) -> Tensor:
    """Mirror (N, 85) thetas left-right (image x -> -x): joints swap sides,
    axis-angle y and z change sign, the camera's tx changes sign."""
    cam, pose, shape = theta[:, :3], theta[:, 3:75], theta[:, 75:]
    pose = pose.reshape(-1, 24, 3)[:, list(SMPL_FLIP_PERM)]
    pose = pose * pose.new_tensor([1.0, -1.0, -1.0])
    cam = cam * cam.new_tensor([1.0, -1.0, 1.0])
    return torch.cat([cam, pose.reshape(-1, 72), shape], dim=1)


def _image_size(model) -> tuple:
    return tuple(model.flow_composer.rasterizer.image_size)


def _device(model) -> torch.device:
    for p in model.generator.parameters():
        return p.device
    return torch.device('cpu')


def prepare_source_tensors(model, src_imgs, src_smpl):
    """Sources to (S, 3, H, W) in [-1, 1] and thetas to (S, 85) on the
    model's device. Images may be uint8 (H, W, 3) arrays (resized to the
    model's size) or float tensors already in [-1, 1]."""
    device = _device(model)
    if isinstance(src_imgs, Tensor):
        imgs = src_imgs.float()
        if imgs.dim() == 5:
            imgs = imgs[0]
        if imgs.dim() == 3:
            imgs = imgs[None]
    else:
        from .inferencers.inputs import resize_image
        if isinstance(src_imgs, np.ndarray) and src_imgs.ndim == 3:
            src_imgs = [src_imgs]
        size = _image_size(model)
        imgs = torch.stack([
            torch.from_numpy(resize_image(np.asarray(i), size)).permute(
                2, 0, 1).float() / 127.5 - 1.0 for i in src_imgs
        ])
    theta = torch.as_tensor(np.asarray(src_smpl) if not isinstance(
        src_smpl, Tensor) else src_smpl, dtype=torch.float32)
    if theta.dim() == 1:
        theta = theta[None]
    if theta.dim() == 3:
        theta = theta[0]
    if theta.shape[0] != imgs.shape[0]:
        raise ValueError(f'{imgs.shape[0]} source images but '
                         f'{theta.shape[0]} source thetas')
    if tuple(imgs.shape[-2:]) != _image_size(model):
        raise ValueError(f'source images are {tuple(imgs.shape[-2:])}, the '
                         f'model works at {_image_size(model)}')
    return imgs.to(device), theta.to(device)


def perturb_theta(theta: Tensor, gen: torch.Generator, pose_noise: float,
                  turn_noise: float, cam_noise: float) -> Tensor:
    """A pseudo target near ``theta`` (1, 85): small random joint
    rotations, a small turn of the body (composed with the root), a camera
    scale / shift."""
    from mmlwgan.models.body import (axis_angle_to_matrix,
                                     matrix_to_axis_angle)
    out = theta.clone()
    dev = theta.device

    def randn(*shape):
        return torch.randn(*shape, generator=gen).to(dev)

    out[:, 6:75] = out[:, 6:75] + pose_noise * randn(1, 69)
    turn = torch.zeros(1, 3, device=dev)
    turn[:, 1] = turn_noise * randn(1)
    root = axis_angle_to_matrix(out[:, 3:6])
    out[:, 3:6] = matrix_to_axis_angle(axis_angle_to_matrix(turn) @ root)
    out[:, 0] = out[:, 0] * torch.exp(cam_noise * randn(1))
    out[:, 1:3] = out[:, 1:3] + cam_noise * randn(1, 2)
    return out


def _run(fn, grad_checkpoint: bool, *args):
    if grad_checkpoint and torch.is_grad_enabled():
        from torch.utils.checkpoint import checkpoint
        return checkpoint(fn, *args, use_reentrant=False)
    return fn(*args)


def _bce(mask: Tensor, target: Tensor) -> Tensor:
    return F.binary_cross_entropy(mask.clamp(1e-6, 1 - 1e-6), target)


class _Pair:
    """One pseudo-pair with its (no-grad) geometry and anchor."""

    def __init__(self, model, img: Tensor, theta: Tensor, tgt: Tensor):
        gen = model.generator
        with torch.no_grad():
            self.img = img  # (1, 3, H, W)
            self.geo = model.compute_geometry(theta[:, None], tgt)
            self.inputs = model.generator_inputs(img[:, None], self.geo)
            # cycle geometry: from the pseudo target back to the source
            self.geo_c = model.compute_geometry(tgt[:, None], theta)
            out = gen(self.inputs['bg_inputs'], self.inputs['src_inputs'],
                      self.inputs['tsf_inputs'], self.geo['flow'])
            self.anchor = out['tsf_img'].detach()
            self.body = self.geo['src_body'][:, 0]


def _pair_losses(model, pair: _Pair, grad_checkpoint: bool
                 ) -> Dict[str, Tensor]:
    gen = model.generator
    inp, geo, geo_c = pair.inputs, pair.geo, pair.geo_c
    src = pair.img

    def first_pass(bg_inputs, src_inputs, tsf_inputs):
        out = gen(bg_inputs, src_inputs, tsf_inputs, geo['flow'])
        return out['tsf_img'], out['tsf_mask'], out['bg'], out.get(
            'src_img', tsf_inputs[:, :3]), out.get('src_mask', out['tsf_mask'])

    fake, fake_mask, bg, src_rec, src_mask = _run(
        first_pass, grad_checkpoint, inp['bg_inputs'], inp['src_inputs'],
        inp['tsf_inputs'])
    # the fake becomes the source of the cycle, back to the source pose
    cyc_src = torch.cat([fake * geo_c['src_fg_mask'][:, 0],
                         geo_c['src_cond'][:, 0]], dim=1)[:, None]
    back = model.warp(fake, geo_c['flow'][:, 0])
    cyc_tsf = torch.cat([back, geo_c['tgt_cond']], dim=1)

    def cycle_pass(cyc_src, cyc_tsf, bg):
        cache = gen.encode_sources(cyc_src, decode=False)
        return gen.decode_targets(cyc_tsf, geo_c['flow'], cache,
                                  bg)['tsf_img']

    cycle = _run(cycle_pass, grad_checkpoint, cyc_src, cyc_tsf, bg)
    losses = {}
    rec = F.l1_loss(cycle, src)
    if getattr(gen, 'has_source_stream', True):
        rec = rec + F.l1_loss(src_rec[:, 0] if src_rec.dim() == 5 else
                              src_rec, src)
    losses['cycle'] = rec
    body = pair.body
    losses['struct'] = F.l1_loss(fake, pair.anchor) + 2 * F.l1_loss(
        back * body, src * body)
    mask_loss = _bce(fake_mask, geo['tgt_bg_mask'])
    if getattr(gen, 'has_source_stream', True):
        m = src_mask[:, 0] if src_mask.dim() == 5 else src_mask
        mask_loss = mask_loss + _bce(m, geo['src_bg_mask'][:, 0])
    losses['mask'] = mask_loss
    if getattr(model, 'face_loss', None) is not None:
        losses['face'] = model.face_loss(
            cycle, src, keypoints=geo_c['tgt_kps']) + model.face_loss(
                fake, pair.anchor, keypoints=geo['tgt_kps'])
    return losses


@torch.no_grad()
def reconstruction_loss(model, src_imgs, src_smpl) -> float:
    """L1 between the sources and the model's self-imitation of them (each
    source's pose as target), the quantity personalisation improves.

    Args:
        src_imgs: (S, 3, H, W) in [-1, 1] or uint8 (H, W, 3) images.
        src_smpl: (S, 85) thetas.

    Returns:
        float: mean absolute error in [-1, 1] units.
    """
    imgs, theta = prepare_source_tensors(model, src_imgs, src_smpl)
    total = 0.0
    for i in range(imgs.shape[0]):
        out, _ = model.run_generator(imgs[i:i + 1, None], theta[i:i + 1, None],
                                     theta[i:i + 1])
        total += F.l1_loss(out['tsf_img'], imgs[i:i + 1]).item()
    return total / imgs.shape[0]


def personalize(model: nn.Module,
                src_imgs,
                src_smpl,
                steps: int = 100,
                lr: float = 2e-4,
                betas: Sequence[float] = (0.5, 0.999),
                num_pairs: int = 8,
                pose_noise: float = 0.1,
                turn_noise: float = 0.25,
                cam_noise: float = 0.03,
                flip: bool = False,
                loss_weights: Optional[Dict[str, float]] = None,
                grad_checkpoint: bool = False,
                save_path: Optional[str] = None,
                seed: int = 0,
                show_progress: bool = False,
                progress_callback: Optional[Callable] = None,
                history: Optional[List[float]] = None
                ) -> 'OrderedDict[str, Tensor]':
    """Fine-tune ``model.generator`` on pseudo-pairs of the source(s).

    Only the generator's parameters change (the body model, HMR and the
    discriminator are untouched); the model is left in eval mode.

    Args:
        model (nn.Module): a ``LiquidWarpingGAN``.
        src_imgs: source images: (S, 3, H, W) float tensor in [-1, 1] at the
            model's size, or uint8 RGB (H, W, 3) arrays (resized).
        src_smpl: (S, 85) (or (85,)) source thetas.
        steps (int): optimisation steps (one pseudo-pair each). The
            release: ~100 per source.
        lr (float): Adam learning rate; 2e-4 (ICCV release) or 1e-4
            (iPERCore).
        betas (Sequence[float]): Adam betas. Defaults to (0.5, 0.999).
        num_pairs (int): pseudo-pairs per source in the pool.
        pose_noise (float): std of the joint-rotation noise (radians).
        turn_noise (float): std of the body turn about the vertical (rad).
        cam_noise (float): std of the log-scale and shift noise.
        flip (bool): also use mirrored sources (half of the pairs); off by
            default (mirrors asymmetric clothes).
        loss_weights (dict, optional): overrides of ``cycle`` (10),
            ``struct`` (10), ``mask`` (5) and ``face`` (1).
        grad_checkpoint (bool): recompute activations in the backward pass
            (less memory, ~30% slower).
        save_path (str, optional): save the tuned generator weights there
            (atomically), for :func:`load_personalized`.
        seed (int): seed of the pseudo-pairs.
        show_progress (bool): tqdm progress bar.
        progress_callback (callable, optional): told
            ``('personalize', done, steps)`` after every step
            (:mod:`mmlwgan.apis.progress`).
        history (list, optional): receives the total loss of every step.

    Returns:
        OrderedDict[str, Tensor]: the tuned generator's state dict (CPU
        copies).
    """
    if steps < 0:
        raise ValueError(f'steps must be >= 0, got {steps}')
    weights = dict(LOSS_WEIGHTS)
    weights.update(loss_weights or {})
    imgs, theta = prepare_source_tensors(model, src_imgs, src_smpl)
    gen = model.generator
    rng = torch.Generator().manual_seed(seed)
    model.eval()

    pool: List[_Pair] = []
    S = imgs.shape[0]
    for i in range(S):
        for k in range(max(1, num_pairs)):
            img, th = imgs[i:i + 1], theta[i:i + 1]
            if flip and k % 2 == 1:
                img, th = torch.flip(img, dims=[-1]), flip_theta(th)
            tgt = perturb_theta(th, rng, pose_noise, turn_noise, cam_noise)
            pool.append(_Pair(model, img, th, tgt))

    params = [p for p in gen.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(params, lr=lr, betas=tuple(betas))
    order = np.random.default_rng(seed).permutation(len(pool))
    from .progress import progress_bar
    iterator = progress_bar(range(steps), steps, 'personalize',
                            show_progress, progress_callback)
    try:
        for step in iterator:
            pair = pool[order[step % len(pool)]]
            with torch.enable_grad():
                losses = _pair_losses(model, pair, grad_checkpoint)
                loss = sum(weights.get(k, 1.0) * v for k, v in losses.items())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if history is not None:
                history.append(float(loss.detach()))
            if step == len(pool) - 1 and step + 1 < steps:
                order = np.random.default_rng(seed + step).permutation(
                    len(pool))
    finally:
        optimizer.zero_grad(set_to_none=True)
        for p, f in zip(params, flags):
            p.requires_grad_(f)
        del optimizer, pool
        model.eval()
    state = OrderedDict(
        (k, v.detach().to('cpu', copy=True)) for k, v in
        gen.state_dict().items())
    if save_path is not None:
        save_personalized(state, save_path, meta=dict(
            steps=steps, lr=lr, num_sources=S,
            image_size=list(_image_size(model))))
    return state


def save_personalized(state: Union[nn.Module, Dict[str, Tensor]], path: str,
                      meta: Optional[dict] = None) -> str:
    """Save generator weights (a module or a state dict) atomically."""
    if isinstance(state, nn.Module):
        state = state.state_dict()
    state = OrderedDict((k, v.detach().cpu()) for k, v in state.items())
    with atomic_path(path) as tmp:
        torch.save(dict(state_dict=state, meta=dict(meta or {},
                                                    kind='generator')), tmp)
    print_log(f'personalised generator weights saved to {path}',
              logger='current')
    return path


def load_personalized(model: nn.Module, path: str) -> None:
    """Load generator weights saved by :func:`personalize` /
    :func:`save_personalized` into ``model.generator``.

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the weights do not fit the generator (the first
            mismatching keys are named).
    """
    from .inference import (CheckpointMismatchError, compare_state_dicts,
                            describe_mismatch, read_state_dict)
    path = os.fspath(path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'personalised weights file {path!r} does not exist (create it '
            'with personalize(..., save_path=...) or --personalize-steps N '
            '--save-personalized PATH)')
    state = read_state_dict(path)
    gen_sd = model.generator.state_dict()
    mismatch = describe_mismatch(*compare_state_dicts(gen_sd, state))
    if mismatch:
        raise CheckpointMismatchError(
            f'personalised weights {path!r} do not fit this generator: '
            + mismatch)
    model.generator.load_state_dict(state, strict=True)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""What a synthetic iPER video is made of (the spec of :mod:`.iper`).

Video ids (``'<actor>/<cloth>/<action>'``), the seed streams every random
choice is drawn from (so that a video is a deterministic function of the
dataset seed and its id), the actors (``betas``, skin, hair:
:func:`actor_params`), their clothes (patterned garments with distinct
fronts and backs: :func:`make_cloth_spec`, painted on the body surface by
:class:`_Dresser`) and the textured rooms behind them
(:func:`synthetic_background`, :func:`video_background`).
"""
from typing import Any, Dict, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

from .batch import patterned_background

__all__ = [
    'actor_params', 'make_cloth_spec', 'synthetic_background',
    'video_background'
]

_SKIN = np.array([[0.98, 0.84, 0.72], [0.92, 0.74, 0.60], [0.80, 0.60, 0.45],
                  [0.65, 0.45, 0.32], [0.45, 0.30, 0.20], [0.96, 0.78, 0.66]])
_HAIR = np.array([[0.08, 0.06, 0.05], [0.30, 0.18, 0.10], [0.80, 0.65, 0.35],
                  [0.55, 0.22, 0.10], [0.65, 0.65, 0.65], [0.15, 0.12, 0.20]])
_PATTERNS = ('stripes', 'checker', 'dots', 'blocks', 'print')
# seed streams
_ACTOR, _CLOTH, _BG, _CAM, _MOTION, _SPLIT = range(1, 7)


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([int(seed)] + [int(k) for k in keys])


def _parse_id(video_id: str) -> Tuple[int, int, int]:
    actor, cloth, action = video_id.split('/')
    return int(actor), int(cloth), int(action)


# ---------------------------------------------------------------------------
# Appearance: actors, clothes, backgrounds
# ---------------------------------------------------------------------------
def _color(rng: np.random.Generator, sat=(0.45, 0.95),
           val=(0.35, 0.95)) -> np.ndarray:
    h = rng.uniform(0, 1)
    s = rng.uniform(*sat)
    v = rng.uniform(*val)
    hsv = np.uint8([[[int(h * 179), int(s * 255), int(v * 255)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0].astype(np.float64) / 255


def _contrasting(rng: np.random.Generator, ref: np.ndarray) -> np.ndarray:
    best, best_d = None, -1.0
    for _ in range(8):
        c = _color(rng)
        d = float(np.abs(c - ref).sum())
        if d > best_d:
            best, best_d = c, d
    return best


def actor_params(seed: int, actor: int, num_betas: int = 10) -> Dict[str, Any]:
    """Body shape and look of an actor: ``betas`` (num_betas,), ``skin`` and
    ``hair`` RGB, ``hair_length`` in [0, 1]."""
    rng = _rng(seed, _ACTOR, actor)
    betas = np.clip(rng.normal(0.0, 0.9, num_betas), -2.0, 2.0)
    return dict(
        betas=betas.astype(np.float32).tolist(),
        skin=_SKIN[rng.integers(len(_SKIN))].tolist(),
        hair=_HAIR[rng.integers(len(_HAIR))].tolist(),
        hair_length=float(rng.uniform(0, 1)))


def _garment(rng: np.random.Generator) -> Dict[str, Any]:
    c0 = _color(rng)
    c1 = _contrasting(rng, c0)
    c2 = _contrasting(rng, (c0 + c1) / 2)
    return dict(
        pattern=str(_PATTERNS[rng.integers(len(_PATTERNS))]),
        colors=[c0.tolist(), c1.tolist(), c2.tolist()],
        freq=float(rng.uniform(6.0, 16.0)),  # periods per metre
        angle=float(rng.choice([0.0, 45.0, 90.0, 135.0])),
        band=float(rng.uniform(0.25, 0.75)),  # height of a colour band
        radius=float(rng.uniform(0.2, 0.38)))


def make_cloth_spec(seed: int, actor: int, cloth: int) -> Dict[str, Any]:
    """The outfit ``cloth`` of ``actor``: a top (``sleeves`` long / short /
    none), a bottom (``legs`` long / short), shoes and optionally a belt;
    each garment has a ``pattern`` (stripes, checker, dots, blocks, print)
    with its own palette, frequency and orientation. JSON-serialisable."""
    rng = _rng(seed, _CLOTH, actor, cloth)
    return dict(
        top=_garment(rng),
        bottom=_garment(rng),
        sleeves=str(rng.choice(['long', 'short', 'none'],
                               p=[0.5, 0.35, 0.15])),
        legs=str(rng.choice(['long', 'short'], p=[0.7, 0.3])),
        shoes=_color(rng, val=(0.1, 0.6)).tolist(),
        belt=_color(rng, val=(0.1, 0.5)).tolist()
        if rng.uniform() < 0.5 else None)


def _part_boxes(verts: np.ndarray, faces: np.ndarray, labels: np.ndarray,
                names: Sequence[str]) -> Dict[str, np.ndarray]:
    """Bounding box (2, 3) of the rest vertices of every body part."""
    boxes = {}
    for k, name in enumerate(names):
        idx = np.unique(faces[labels == k])
        if len(idx):
            v = verts[idx]
            boxes[name] = np.stack([v.min(0), v.max(0)])
    return boxes


def _pattern(p: Tensor, g: Dict[str, Any], front: Tensor) -> Tensor:
    """Albedo (N, 3) of garment ``g`` at rest points ``p`` (N, 3); ``front``
    (N,) bool marks the front side."""
    colors = torch.tensor(g['colors'], dtype=p.dtype)
    c0, c1, c2 = colors
    x, y, z = p.unbind(-1)
    f = g['freq']
    kind = g['pattern']
    if kind == 'stripes':
        a = np.deg2rad(g['angle'])
        s = torch.sin(2 * np.pi * f * (np.cos(a) * y + np.sin(a) * x))
        w = (s > 0).to(p.dtype)[:, None]
        out = c0 * (1 - w) + c1 * w
        # the back has thinner stripes of the third colour
        thin = (s > 0.6).to(p.dtype)[:, None]
        return torch.where(front[:, None], out, c0 * (1 - thin) + c2 * thin)
    if kind == 'checker':
        q = (torch.floor(f * (x + 0.5 * z)) + torch.floor(f * y)) % 2
        w = q[:, None]
        out = c0 * (1 - w) + c1 * w
        return torch.where(front[:, None], out, c0 * (1 - w) + c2 * w)
    if kind == 'dots':
        u = f * (x + 0.3 * z)
        v = f * y
        du, dv = u - torch.round(u), v - torch.round(v)
        dot = ((du**2 + dv**2) < g['radius']**2).to(p.dtype)[:, None]
        base = torch.where(front[:, None], c0, c2)
        return base * (1 - dot) + c1 * dot
    if kind == 'blocks':
        base = torch.where(front[:, None], c0, c1)
        y0 = -0.45 + 0.7 * g['band']
        band = ((y - y0).abs() < 0.05).to(p.dtype)[:, None]
        side = (x > 0.12).to(p.dtype)[:, None] * 0.35
        out = base * (1 - side) + c2 * side
        return out * (1 - band) + c2 * band
    if kind == 'print':
        # a ring-and-disc logo on the chest / a stripe trim on the back
        r = torch.sqrt(x**2 + (y - 0.12)**2)
        disc = (r < 0.06).to(p.dtype)
        ring = ((r > 0.08) & (r < 0.1)).to(p.dtype)
        logo = (disc + ring).clamp(max=1.0) * front.to(p.dtype)
        trim = ((torch.sin(2 * np.pi * f * y) > 0.8) &
                ~front).to(p.dtype)
        out = c0 * (1 - logo)[:, None] + c1 * logo[:, None]
        return out * (1 - trim)[:, None] + c2 * trim[:, None]
    raise ValueError(f'unknown pattern {kind!r}')


class _Dresser:
    """Albedo of a dressed actor at rest-surface points (vectorised)."""

    def __init__(self, v_rest: np.ndarray, faces: np.ndarray,
                 face_labels: np.ndarray,
                 part_names: Sequence[str]) -> None:
        self.names = list(part_names)
        self.boxes = _part_boxes(v_rest, faces, face_labels, self.names)

    def _box(self, name: str) -> np.ndarray:
        return self.boxes[name]

    def albedo(self, p: Tensor, part: Tensor, actor: Dict[str, Any],
               cloth: Dict[str, Any]) -> Tensor:
        """p (N, 3) rest points, part (N,) labels -> (N, 3) RGB in [0, 1]."""
        dtype = p.dtype
        ids = {n: i for i, n in enumerate(self.names)}
        skin = torch.tensor(actor['skin'], dtype=dtype)
        out = skin.expand(len(p), 3).clone()
        x, y, z = p.unbind(-1)

        def in_parts(*names):
            m = torch.zeros_like(part, dtype=torch.bool)
            for n in names:
                if n in ids:
                    m |= part == ids[n]
            return m

        # head: hair, eyes, mouth
        if 'head' in self.boxes:
            lo, hi = self._box('head')
            u = (y - lo[1]) / max(hi[1] - lo[1], 1e-6)  # 0 chin .. 1 top
            zc = (lo[2] + hi[2]) / 2
            head = in_parts('head')
            length = actor['hair_length']
            hair = head & ((u > 0.8 - 0.1 * length) |
                           ((z < zc) & (u > 0.45 - 0.35 * length)))
            out[hair] = torch.tensor(actor['hair'], dtype=dtype)
            width = hi[0] - lo[0]
            front = z > hi[2] - 0.3 * (hi[2] - lo[2])
            eye = head & front & ((u - 0.55).abs() < 0.06) & (
                ((x.abs() - 0.2 * width).abs()) < 0.07 * width)
            out[eye] = torch.tensor([0.1, 0.1, 0.12], dtype=dtype)
            mouth = head & front & ((u - 0.3).abs() < 0.035) & (
                x.abs() < 0.15 * width)
            out[mouth] = torch.tensor([0.7, 0.25, 0.25], dtype=dtype)

        # top: torso and sleeves
        top = in_parts('upper_torso')
        arms = in_parts('left_arm', 'right_arm')
        if cloth['sleeves'] == 'long':
            top |= arms
        elif cloth['sleeves'] == 'short' and 'left_arm' in self.boxes:
            lo, hi = self._box('left_arm')
            top |= arms & (x.abs() < lo[0] + 0.3 * (hi[0] - lo[0]))
        # bottom: pelvis and legs
        bottom = in_parts('lower_torso')
        legs = in_parts('left_leg', 'right_leg')
        if cloth['legs'] == 'long':
            bottom |= legs
        elif 'left_leg' in self.boxes:
            lo, hi = self._box('left_leg')
            bottom |= legs & (y > hi[1] - 0.45 * (hi[1] - lo[1]))
        for mask, g in ((top, cloth['top']), (bottom, cloth['bottom'])):
            if mask.any():
                front = z[mask] > 0.0
                out[mask] = _pattern(p[mask], g, front)
        if cloth.get('belt') is not None and 'lower_torso' in self.boxes:
            lo, hi = self._box('lower_torso')
            belt = in_parts('lower_torso') & (
                y > hi[1] - 0.2 * (hi[1] - lo[1]))
            out[belt] = torch.tensor(cloth['belt'], dtype=dtype)
        feet = in_parts('left_foot', 'right_foot')
        out[feet] = torch.tensor(cloth['shoes'], dtype=dtype)
        return out.clamp(0, 1)


def synthetic_background(size: int, seed: int) -> np.ndarray:
    """A textured room: wall (colour gradient with a soft checker, framed
    pictures, lamps) over a perspective tiled floor.

    Returns:
        np.ndarray: (size, size, 3) float32 RGB in [0, 1]; deterministic.
    """
    rng = np.random.default_rng([int(seed), _BG])
    wall = patterned_background(size, seed=int(seed)).permute(1, 2,
                                                              0).numpy()
    img = wall.astype(np.float64) * rng.uniform(0.6, 1.0)
    ys, xs = np.meshgrid((np.arange(size) + 0.5) / size,
                         (np.arange(size) + 0.5) / size, indexing='ij')
    for _ in range(int(rng.integers(2, 5))):  # pictures / furniture
        cx, cy = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.6)
        w, h = rng.uniform(0.06, 0.25), rng.uniform(0.06, 0.25)
        inner = (np.abs(xs - cx) < w / 2) & (np.abs(ys - cy) < h / 2)
        outer = (np.abs(xs - cx) < w / 2 + 0.015) & (np.abs(ys - cy) <
                                                     h / 2 + 0.015)
        img[outer] = _color(rng, val=(0.1, 0.5))
        c0, c1 = _color(rng), _color(rng)
        stripes = (np.sin(2 * np.pi * rng.uniform(4, 12) *
                          (xs + ys)) > 0)[..., None]
        img[inner] = np.where(stripes, c0, c1)[inner]
    for _ in range(int(rng.integers(1, 3))):  # lamps
        cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.4), \
            rng.uniform(0.03, 0.07)
        disc = (xs - cx)**2 + (ys - cy)**2 < r**2
        img[disc] = 0.6 + 0.4 * _color(rng, sat=(0.1, 0.4))
    horizon = rng.uniform(0.62, 0.8)
    floor = ys > horizon
    depth = ys - horizon + 0.04
    u = (xs - 0.5) / depth * 0.35
    v = 0.25 / depth
    tiles = (np.floor(u) + np.floor(v)) % 2
    f0, f1 = _color(rng, val=(0.3, 0.8)), _color(rng, val=(0.3, 0.8))
    floor_img = np.where(tiles[..., None] > 0, f0, f1)
    img[floor] = floor_img[floor]
    return np.clip(img, 0, 1).astype(np.float32)


def video_background(seed: int, video_id: str, size: int) -> np.ndarray:
    """The (size, size, 3) float32 background of a synthetic video."""
    actor, cloth, action = _parse_id(video_id)
    bg_seed = int(_rng(seed, _BG, actor, cloth, action).integers(2**31))
    return synthetic_background(size, bg_seed)

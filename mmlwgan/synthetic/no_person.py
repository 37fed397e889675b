# Copyright (c) mmlwgan contributors. All rights reserved.
"""Procedural pictures without any person (tests and detector tuning).

Textures person detectors are known to fire on: grass (thin near-vertical
blades), a meadow under a sky, leaves, noise, blurred noise, vertical
stripes, a brick wall. Every picture is a deterministic function of
``(size, seed)``; all are (size, size, 3) uint8 RGB.
"""
from typing import Callable, Dict

import cv2
import numpy as np

__all__ = ['NO_PERSON_KINDS', 'no_person_image', 'grass_image']


def grass_image(size: int, seed: int = 0) -> np.ndarray:
    """Grass: a dark green ground under many thin, near-vertical blades."""
    rng = np.random.default_rng([int(seed), 7])
    base = np.array([40, 110, 45], np.float32) * rng.uniform(0.7, 1.2)
    img = np.clip(base + rng.normal(0, 18, (size, size, 3)), 0,
                  255).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), max(size / 128, 0.5))
    scale = size / 128
    for _ in range(int(size * size / 20)):
        x, y = rng.uniform(-0.05, 1.05) * size, rng.uniform(0, 1.1) * size
        length = rng.uniform(0.04, 0.2) * size
        angle = rng.normal(0, 0.3)
        x2, y2 = x + length * np.sin(angle), y - length * np.cos(angle)
        g = rng.uniform(60, 220)
        color = (g * rng.uniform(0.3, 0.7), g, g * rng.uniform(0.2, 0.5))
        cv2.line(img, (int(x), int(y)), (int(x2), int(y2)), color,
                 max(1, int(round(rng.uniform(0.5, 2.0) * scale))),
                 cv2.LINE_AA)
    return np.clip(img, 0, 255).astype(np.uint8)


def _meadow(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([int(seed), 8])
    img = grass_image(size, seed)
    horizon = int(size * rng.uniform(0.2, 0.5))
    sky = np.linspace(0, 1, horizon)[:, None, None] * np.array(
        [60, 60, 20]) + np.array([110, 160, 230])
    img[:horizon] = np.clip(sky, 0, 255).astype(np.uint8)
    return img


def _noise(size: int, seed: int) -> np.ndarray:
    return np.random.default_rng([int(seed), 9]).integers(
        0, 256, (size, size, 3), dtype=np.uint8)


def _blurred_noise(size: int, seed: int) -> np.ndarray:
    return cv2.GaussianBlur(_noise(size, seed), (0, 0), 2)


def _stripes(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([int(seed), 10])
    period = rng.uniform(6, 24) * size / 128
    row = ((np.sin(2 * np.pi * np.arange(size) / period) > 0) * 150 +
           50).astype(np.uint8)
    return np.repeat(np.repeat(row[None, :, None], size, 0), 3, 2)


def _bricks(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([int(seed), 11])
    img = np.empty((size, size, 3), np.uint8)
    img[:] = np.clip(np.array([150, 70, 50]) * rng.uniform(0.8, 1.2), 0,
                     255).astype(np.uint8)
    bh = max(4, size // 16)
    bw = 2 * bh
    for r in range(0, size, bh):
        cv2.line(img, (0, r), (size, r), (200, 200, 200), 1)
        for c in range((r // bh % 2) * bw // 2, size, bw):
            cv2.line(img, (c, r), (c, r + bh), (200, 200, 200), 1)
    return img


def _leaves(size: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([int(seed), 12])
    img = np.empty((size, size, 3), np.uint8)
    img[:] = (30, 70, 30)
    scale = size / 128
    for _ in range(size * size // 60):
        center = (int(rng.uniform(0, size)), int(rng.uniform(0, size)))
        axes = (int(rng.uniform(2, 8) * scale) + 1,
                int(rng.uniform(1, 4) * scale) + 1)
        g = int(rng.uniform(60, 200))
        cv2.ellipse(img, center, axes, rng.uniform(0, 180), 0, 360,
                    (int(g * 0.4), g, int(g * 0.3)), -1)
    return img


#: name -> ``fn(size, seed)``
NO_PERSON_KINDS: Dict[str, Callable[[int, int], np.ndarray]] = dict(
    grass=grass_image, meadow=_meadow, leaves=_leaves, noise=_noise,
    blurred_noise=_blurred_noise, stripes=_stripes, bricks=_bricks)


def no_person_image(kind: str, size: int, seed: int = 0) -> np.ndarray:
    """A (size, size, 3) uint8 RGB picture of ``kind`` (one of
    :data:`NO_PERSON_KINDS`) without any person."""
    if kind not in NO_PERSON_KINDS:
        raise ValueError(f'unknown kind {kind!r}; choose one of '
                         f'{sorted(NO_PERSON_KINDS)}')
    return NO_PERSON_KINDS[kind](int(size), int(seed))

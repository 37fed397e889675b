# Copyright (c) mmlwgan contributors. All rights reserved.
"""A synthetic dataset in the exact layout of iPER.

The real iPER cannot be shipped with tests or CI, so this module renders a
stand-in from the synthetic SMPL-format body (:mod:`.body`): several
actors (different ``betas``, skin and hair), each in several clothes
(patterned garments: stripes, checks, dots, colour blocks, chest prints, with
distinct fronts and backs), each performing several actions (procedural
motions with large pose changes; action 1 turns a full circle like iPER's
A-pose videos), in front of a textured background, seen by a fixed
weak-perspective camera per video. The SMPL parameters stored are exactly the
ones rendered, so a model trained on it sees perfect "HMR" estimates.

Real data is not like that; three options (all off by default, recorded in
``synthetic_iper.json``, see :mod:`.realism`) add real-world error:
``noise`` (the SMPL written to ``pose_shape.pkl`` is an HMR-like estimate
of the one rendered, which goes to ``pose_shape_rendered.pkl``), ``loose``
(hair, skirts and loose sleeves off the SMPL surface) and ``shading``
(Lambertian shading from a fixed light on the posed normals). With them off
the output is the same, byte for byte, as without these options.

Written under ``out_dir`` (the layout :class:`mmlwgan.datasets.IPERDataset`
reads)::

    images/<actor>/<cloth>/<action>/000.jpg ...   frames (RGB)
    smpls/<actor>/<cloth>/<action>/pose_shape.pkl {'cams': (N, 3), 'pose':
                                                   (N, 72), 'shape': (N, 10)}
                                                   float32, pickle protocol 2
    smpls/<actor>/<cloth>/<action>/kps.pkl        {'kps': (N, 19, 2)} float32,
                                                   COCO-plus keypoints in NDC
    smpls/<actor>/<cloth>/<action>/pose_shape_rendered.pkl
                                                  with ``noise``: the SMPL
                                                   rendered (pose_shape.pkl
                                                   is then an estimate)
    train.txt, val.txt                            video ids (val: held-out
                                                   actors)
    iPER_protocol.json                            evaluation protocol, the
                                                   release's format
    smpl_model.npz                                the body model to render
                                                   with (``SMPL`` model_path)
    synthetic_iper.json                           generator parameters and
                                                   per-video record
    iPER_256_video_release/<a>_<c>_<act>.mp4       with ``write_mp4=True``

Ids follow iPER: actors ``001``, ``002``...; clothes and actions ``1``,
``2``... Every video is written atomically (frames and pickles go to hidden
temporary folders that are renamed into place, ``smpls/<id>`` last), so an
interrupted run leaves no half-written video and a rerun skips the finished
ones. The output is a deterministic function of the arguments.
"""
import json
import os
import os.path as osp
import pickle
import shutil
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch import Tensor

from mmlwgan.utils.io import AtomicVideoWriter, atomic_path
from . import motions as M
from . import realism as R
from .batch import patterned_background, synthetic_theta
from .body import SYNTHETIC_PART_NAMES, save_synthetic_smpl

#: Motions of actions 1, 2, ... (cycled). Action 1 turns a full circle with
#: the arms lowered, like iPER's A-pose videos; action 2 is a mix of moves,
#: like iPER's random-action videos.
SYNTHETIC_MOTIONS = ('turn_around', 'dance', 'wave', 'squat', 'walk')
SMPL_FILENAME = 'smpl_model.npz'
PROTOCOL_FILENAME = 'iPER_protocol.json'
META_FILENAME = 'synthetic_iper.json'
#: With annotation noise: the SMPL the frames were rendered with, beside the
#: (noisy) ``pose_shape.pkl``.
RENDERED_SMPL_FILENAME = 'pose_shape_rendered.pkl'
VIDEO_RELEASE_DIR = 'iPER_256_video_release'
#: Number of view angles / source frames of a protocol entry.
NUM_PROTOCOL_SOURCES = 8

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


def make_video_id(actor: int, cloth: int, action: int) -> str:
    """``(1, 2, 1)`` -> ``'001/2/1'`` (iPER's naming)."""
    return f'{actor:03d}/{cloth}/{action}'


def frame_name(index: int, num_frames: int, ext: str = 'jpg') -> str:
    """``000.jpg``-style names, zero-padded to at least 3 digits (the
    release's ``images_HD`` frames as named by its protocol file)."""
    width = max(3, len(str(max(num_frames - 1, 0))))
    return f'{index:0{width}d}.{ext}'


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
        sleeves=str(rng.choice(['long', 'short', 'none'], p=[0.5, 0.35,
                                                            0.15])),
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
            belt = in_parts('lower_torso') & (y > hi[1] - 0.2 *
                                               (hi[1] - lo[1]))
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


# ---------------------------------------------------------------------------
# Motion and camera
# ---------------------------------------------------------------------------
_NOISY_JOINTS = (M.SPINE1, M.SPINE2, M.NECK, M.L_SHOULDER, M.R_SHOULDER,
                 M.L_ELBOW, M.R_ELBOW, M.L_HIP, M.R_HIP, M.L_KNEE, M.R_KNEE)


def video_motion(name: str, num_frames: int,
                 rng: np.random.Generator) -> np.ndarray:
    """A motion of :data:`mmlwgan.synthetic.motions.MOTIONS` with per-video
    variations (speed, turning direction, smooth limb perturbations).

    Returns:
        np.ndarray: (N, 72) float32 axis-angle; frame 0 faces the camera.
    """
    kwargs = dict(
        walk=dict(cycles=rng.uniform(1.5, 3.0)),
        wave=dict(cycles=rng.uniform(1.5, 3.0)),
        squat=dict(cycles=rng.uniform(1.0, 2.0)),
        turn_around=dict(turns=1.0)).get(name, {})
    if name not in M.MOTIONS:
        raise ValueError(
            f'unknown motion {name!r}; choose from {sorted(M.MOTIONS)}')
    pose = np.asarray(M.MOTIONS[name](num_frames, **kwargs), dtype=np.float64)
    if name == 'turn_around' and rng.uniform() < 0.5:  # turn the other way
        yaw = np.linspace(0, 2 * np.pi, num_frames)
        pose[:, :3] = M.global_orient(-yaw)
    t = np.linspace(0.0, 1.0, num_frames)[:, None]
    for j in _NOISY_JOINTS:
        amp = rng.uniform(0.0, 0.15, 3)
        if j in (M.L_KNEE, M.R_KNEE):
            amp[1:] = 0.0
        freq = rng.uniform(0.5, 2.5, 3)
        phase = rng.uniform(0, 2 * np.pi, 3)
        pose[:, 3 * j:3 * j + 3] += amp * np.sin(2 * np.pi * freq * t + phase)
    return pose.astype(np.float32)


def view_angles(pose: np.ndarray) -> np.ndarray:
    """Yaw of the body (degrees in [0, 360), 0 = facing the camera) from the
    root orientation of (N, 72) poses."""
    flip = Rotation.from_rotvec([np.pi, 0.0, 0.0])
    turn = flip.inv() * Rotation.from_rotvec(np.asarray(pose)[:, :3])
    yaw = turn.as_euler('yxz')[:, 0]
    return np.mod(np.rad2deg(yaw), 360.0)


def fit_video_camera(verts: Tensor, rng: np.random.Generator) -> np.ndarray:
    """One weak-perspective camera keeping all frames of a video in view.

    The union bounding box of the (N, V, 3) meshes is scaled to a random
    ``1 - margin`` of the image (margin 6-20 %) and shifted by a random
    fraction of the free space.

    Returns:
        np.ndarray: (3,) float32 ``[s, tx, ty]``.
    """
    xy = verts[..., :2].reshape(-1, 2).double().numpy()
    lo, hi = xy.min(0), xy.max(0)
    centre = (lo + hi) / 2
    extent = max(float((hi - lo).max()), 1e-6)
    margin = rng.uniform(0.06, 0.2)
    s = 2 * (1 - margin) / extent
    slack = 2 - s * (hi - lo)  # free NDC space per axis
    shift = rng.uniform(-0.4, 0.4, 2) * slack / 2
    t = -centre + shift / s
    return np.array([s, t[0], t[1]], dtype=np.float32)


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------
class SyntheticIPERRenderer:
    """Renders synthetic iPER frames from thetas with a body model file.

    Args:
        smpl_path (str): the synthetic body (``smpl_model.npz``).
        image_size (int): frame side in pixels.
        batch_size (int): frames rasterized at once.
    """

    def __init__(self, smpl_path: str, image_size: int,
                 batch_size: int = 32) -> None:
        from mmlwgan.visualization import BodyRenderer
        self.renderer = BodyRenderer(
            dict(type='SMPL', model_path=smpl_path), image_size=image_size)
        self.renderer.eval()
        self.image_size = int(image_size)
        self.batch_size = int(batch_size)
        body = self.renderer.body_model
        labels = getattr(body, 'face_part_labels', None)
        if labels is None:
            raise ValueError(f'{smpl_path} has no face_part_labels; the '
                             'synthetic iPER needs the synthetic body')
        names = body.part_names or list(SYNTHETIC_PART_NAMES)
        self.face_labels = labels
        self.v_rest = body.v_template.detach().float()
        self.dresser = _Dresser(self.v_rest.numpy(),
                                body.faces.numpy(), labels.numpy(), names)

    @torch.no_grad()
    def render(self, theta: np.ndarray, actor: Dict[str, Any],
               cloth: Dict[str, Any],
               background: np.ndarray,
               loose: Optional['R.LooseMesh'] = None,
               shading: Optional[Dict[str, Any]] = None,
               return_maps: bool = False) -> Tuple[np.ndarray, ...]:
        """Render (N, 85) thetas.

        Args:
            loose (LooseMesh, optional): garments off the SMPL surface
                (:func:`mmlwgan.synthetic.realism.build_loose_mesh`), rendered
                with the body.
            shading (dict, optional): :func:`~mmlwgan.synthetic.realism.
                shading_config`; None: flat shading, light at the camera.
            return_maps (bool): also return a dict of (N, H, W) maps:
                ``shade`` (the shading factor), ``mask`` (person),
                ``smpl_mask`` (the SMPL body alone) and ``rest`` (N, H, W, 3)
                rest point of every pixel.

        Returns:
            tuple: frames (N, H, W, 3) uint8 RGB and keypoints (N, 19, 2)
            float32 (NDC of the COCO-plus joints) (and the maps).
        """
        from mmlwgan.models.renderers import (interpolate_vertex_values,
                                              shade_vertex_colors)
        r = self.renderer
        faces = r.faces
        v_rest, labels = self.v_rest, self.face_labels
        num_body = self.v_rest.shape[0]
        if loose is not None:
            faces = torch.cat([faces, loose.faces + num_body])
            v_rest = torch.cat([v_rest, loose.rest])
            labels = torch.cat([labels, loose.kinds + len(self.dresser.names)])
        bg = torch.from_numpy(background).permute(2, 0, 1)[None].float()
        frames, kps = [], []
        maps: Dict[str, List[np.ndarray]] = dict(shade=[], mask=[],
                                                 smpl_mask=[], rest=[])
        for start in range(0, len(theta), self.batch_size):
            th = torch.from_numpy(
                np.ascontiguousarray(theta[start:start + self.batch_size]))
            cam, pose, betas = th[:, :3], th[:, 3:75], th[:, 75:]
            out = r.body_model(pose, betas)
            verts = out['vertices']
            if loose is not None:
                verts = torch.cat(
                    [verts, loose.pose(r.body_model, pose, betas[:1])], 1)
            ndc = r.project(verts, cam)
            frags = r.rasterizer(ndc, faces)
            b = len(th)
            mask = frags.face_idx >= 0  # (B, H, W)
            rest = interpolate_vertex_values(frags, faces, v_rest)
            pts = rest.permute(0, 2, 3, 1)[mask]  # (P, 3)
            part = labels[frags.face_idx[mask]]
            albedo = self.dresser.albedo(pts, part, actor, cloth)
            if loose is not None:
                extra = part >= len(self.dresser.names)
                albedo[extra] = R.loose_albedo(
                    pts[extra], part[extra] - len(self.dresser.names),
                    actor, cloth, _pattern)
            if shading is None:
                shade = shade_vertex_colors(
                    frags, faces, ndc, torch.ones(v_rest.shape[0], 3),
                    ambient=0.55, diffuse=0.45, background=0.0)
            else:
                shade = R.lambert_shading(frags, faces, verts,
                                          shading)[:, None].expand(
                                              -1, 3, -1, -1)
            img = bg.expand(b, -1, -1, -1).clone().permute(0, 2, 3, 1)
            img[mask] = albedo * shade.permute(0, 2, 3, 1)[mask]
            img = (img.clamp(0, 1) * 255).round().to(torch.uint8)
            frames.append(img.numpy())
            key = out.get('keypoints_extra')
            if key is None:
                key = out['joints'][:, :19]
            kps.append(r.project(key, cam)[..., :2].float().numpy())
            if return_maps:
                maps['shade'].append(shade[:, 0].numpy())
                maps['mask'].append(mask.numpy())
                body_only = r.rasterize(r.project(out['vertices'], cam))
                maps['smpl_mask'].append((body_only.face_idx >= 0).numpy())
                maps['rest'].append(rest.permute(0, 2, 3, 1).numpy())
        result = (np.concatenate(frames),
                  np.concatenate(kps).astype(np.float32))
        if return_maps:
            result += ({k: np.concatenate(v) for k, v in maps.items()}, )
        return result


# ---------------------------------------------------------------------------
# Splits and protocol
# ---------------------------------------------------------------------------
def split_videos(video_ids: Sequence[str], num_actors: int,
                 val_actors: Optional[int] = None
                 ) -> Tuple[List[str], List[str]]:
    """Train / val video ids: the last ``val_actors`` actors are held out
    (default: a third of them, at least one); with one actor its last video
    is held out."""
    if num_actors <= 1:
        return list(video_ids[:-1]) or list(video_ids), list(video_ids[-1:])
    if val_actors is None:
        val_actors = max(1, int(round(num_actors / 3)))
    if not 1 <= val_actors < num_actors:
        raise ValueError(f'val_actors must be in [1, {num_actors - 1}], got '
                         f'{val_actors}')
    first_val = num_actors - val_actors + 1
    train = [v for v in video_ids if _parse_id(v)[0] < first_val]
    val = [v for v in video_ids if _parse_id(v)[0] >= first_val]
    return train, val


def _source_frames(pose: np.ndarray) -> np.ndarray:
    """Indices of 8 source frames: the frames nearest to view angles
    0, 45, ..., 315 degrees for a turning video, else evenly spaced."""
    n = len(pose)
    yaw = view_angles(pose)
    unwrapped = np.rad2deg(np.unwrap(np.deg2rad(yaw)))
    if np.ptp(unwrapped) >= 300:
        targets = np.arange(NUM_PROTOCOL_SOURCES) * (
            360.0 / NUM_PROTOCOL_SOURCES)
        if unwrapped[-1] < unwrapped[0]:  # turning the other way
            targets = np.mod(-targets, 360.0)
        d = np.abs((yaw[None] - targets[:, None] + 180.0) % 360.0 - 180.0)
        return d.argmin(1)
    return np.linspace(0, n - 1, NUM_PROTOCOL_SOURCES).round().astype(int)


def make_protocol(videos: Dict[str, Dict[str, Any]], val: Sequence[str],
                  train: Sequence[str], seed: int) -> Dict[str, Any]:
    """The evaluation protocol in the release's ``iPER_protocol.json`` format
    (``{"val": {video_id: entry}}``, see
    :func:`mmlwgan.datasets.load_protocol`)."""
    rng = _rng(seed, _SPLIT)
    entries = {}
    for vid in val:
        info = videos[vid]
        n = info['num_frames']
        names = info['frame_names']
        src = [int(i) for i in info['source_frames']]
        angles = [int(round(a)) % 360 for a in info['view_angles']]
        actor, _, action = _parse_id(vid)
        others = [v for v in list(val) + list(train)
                  if _parse_id(v)[0] != actor] or [v for v in val if v != vid
                                                   ] or [vid]
        preferred = [v for v in others if _parse_id(v)[2] != action] or others
        target = preferred[int(rng.integers(len(preferred)))]
        n_t = videos[target]['num_frames']
        length = max(1, min(n, n_t) // 2)
        start_t, start_s = (n_t - length) // 2, (n - length) // 2
        entries[vid] = {
            'source': [names[i] for i in src],
            'view angle': angles,
            's_n': {
                '1': [names[src[0]]],
                '2': [names[src[i]] for i in (0, 4)],
                '3': [names[src[i]] for i in (0, 2, 4)],
                '4': [names[src[i]] for i in (0, 2, 4, 6)],
                '8': [names[i] for i in src],
            },
            'mask': [],
            'novel view': False,
            'self_imitation': {'target': vid, 'range': [0, n - 1]},
            'cross_imitation': {'target': target,
                                'range': [start_t, start_t + length - 1]},
            'flag': [start_s, start_s + length - 1],
        }
    return {'val': entries}


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def _dump_pickle(path: str, obj: Any) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


def _write_json(path: str, obj: Any) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=2)
            f.write('\n')


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(''.join(line + '\n' for line in lines))


def _video_done(out_dir: str, vid: str, num_frames: int,
                write_mp4: bool) -> bool:
    smpl_dir = osp.join(out_dir, 'smpls', vid)
    img_dir = osp.join(out_dir, 'images', vid)
    if not (osp.isfile(osp.join(smpl_dir, 'pose_shape.pkl'))
            and osp.isfile(osp.join(smpl_dir, 'kps.pkl'))
            and osp.isdir(img_dir)):
        return False
    if len([n for n in os.listdir(img_dir)
            if not n.startswith('.')]) != num_frames:
        return False
    if write_mp4 and not osp.isfile(
            osp.join(out_dir, VIDEO_RELEASE_DIR,
                     vid.replace('/', '_') + '.mp4')):
        return False
    return True


def _remove_stale_tmp(folder: str) -> None:
    if osp.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith('.tmp-'):
                shutil.rmtree(osp.join(folder, name), ignore_errors=True)


def _pose_shape(theta: np.ndarray) -> Dict[str, np.ndarray]:
    return dict(cams=np.ascontiguousarray(theta[:, :3]),
                pose=np.ascontiguousarray(theta[:, 3:75]),
                shape=np.ascontiguousarray(theta[:, 75:]))


def _write_video(out_dir: str, vid: str, frames: np.ndarray, kps: np.ndarray,
                 theta: np.ndarray, frame_ext: str, jpg_quality: int,
                 write_mp4: bool,
                 extra_pickles: Optional[Dict[str, Any]] = None) -> None:
    """Write one video atomically: frames and pickles into hidden temporary
    folders, renamed into place (``smpls/<vid>`` last, the "done" mark).
    ``extra_pickles`` (file name -> object) go to ``smpls/<vid>`` too."""
    img_final = osp.join(out_dir, 'images', vid)
    smpl_final = osp.join(out_dir, 'smpls', vid)
    action = vid.split('/')[-1]
    tmps = []
    try:
        for final in (img_final, smpl_final):
            parent = osp.dirname(final)
            os.makedirs(parent, exist_ok=True)
            _remove_stale_tmp(parent)
            tmps.append(tempfile.mkdtemp(prefix=f'.tmp-{action}-',
                                         dir=parent))
        tmp_img, tmp_smpl = tmps
        n = len(frames)
        params = []
        if frame_ext in ('jpg', 'jpeg'):
            params = [cv2.IMWRITE_JPEG_QUALITY, int(jpg_quality)]
            if hasattr(cv2, 'IMWRITE_JPEG_SAMPLING_FACTOR'):
                # no chroma subsampling: crisp colour edges at small sizes
                params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                           cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        for i, frame in enumerate(frames):
            path = osp.join(tmp_img, frame_name(i, n, frame_ext))
            if not cv2.imwrite(path, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                               params):
                raise OSError(f'could not write frame {path}')
        _dump_pickle(osp.join(tmp_smpl, 'pose_shape.pkl'), _pose_shape(theta))
        _dump_pickle(osp.join(tmp_smpl, 'kps.pkl'), dict(kps=kps))
        for name, obj in (extra_pickles or {}).items():
            _dump_pickle(osp.join(tmp_smpl, name), obj)
        if write_mp4:
            mp4 = osp.join(out_dir, VIDEO_RELEASE_DIR,
                           vid.replace('/', '_') + '.mp4')
            with AtomicVideoWriter(mp4, fps=30.0) as writer:
                for frame in frames:
                    writer.write(frame)
        for tmp, final in ((tmp_img, img_final), (tmp_smpl, smpl_final)):
            if osp.exists(final):  # left over by an interrupted run
                shutil.rmtree(final)
            os.rename(tmp, final)
    finally:
        for tmp in tmps:
            if osp.exists(tmp):
                shutil.rmtree(tmp, ignore_errors=True)


def make_synthetic_iper(out_dir: str,
                        num_actors: int = 3,
                        num_clothes: int = 2,
                        num_actions: int = 2,
                        num_frames: int = 30,
                        image_size: int = 128,
                        seed: int = 0,
                        val_actors: Optional[int] = None,
                        motions: Sequence[str] = SYNTHETIC_MOTIONS,
                        frame_ext: str = 'jpg',
                        jpg_quality: int = 95,
                        write_mp4: bool = False,
                        smpl_seed: int = 0,
                        batch_size: int = 32,
                        progress: bool = False,
                        callback: Optional[Callable[[str, bool], None]] = None,
                        noise: Union[None, str, Dict[str, Any]] = None,
                        loose: Union[None, str, Sequence[str],
                                     Dict[str, float]] = None,
                        shading: Union[None, str, Dict[str, Any]] = None
                        ) -> Dict[str, Any]:
    """Write a synthetic dataset in iPER's layout (see the module docstring).

    Args:
        out_dir (str): output folder (created).
        num_actors (int): actors ``001``... Defaults to 3.
        num_clothes (int): outfits per actor. Defaults to 2.
        num_actions (int): videos per outfit; action ``k`` performs
            ``motions[(k - 1) % len(motions)]``. Defaults to 2.
        num_frames (int): frames per video. Defaults to 30.
        image_size (int): frame side in pixels. Defaults to 128.
        seed (int): seed of everything random; the output is a deterministic
            function of the arguments.
        val_actors (int, optional): actors held out for ``val.txt`` (the
            last ones); default a third of them (at least one).
        motions (Sequence[str]): motion names of
            :data:`mmlwgan.synthetic.motions.MOTIONS`.
        frame_ext (str): ``'jpg'`` (default, like ``images_HD``) or
            ``'png'`` (lossless).
        jpg_quality (int): JPEG quality. Defaults to 95.
        write_mp4 (bool): also write every video as
            ``iPER_256_video_release/<actor>_<cloth>_<action>.mp4``.
        smpl_seed (int): seed of the synthetic body written to
            ``smpl_model.npz``.
        batch_size (int): frames rendered at once.
        progress (bool): show a tqdm progress bar.
        callback (callable, optional): called ``callback(video_id,
            rendered)`` after each video (``rendered`` False when skipped).
        noise (str | dict, optional): annotation noise
            (:func:`mmlwgan.synthetic.realism.noise_config`): ``'hmr'`` or a
            dict of magnitudes (and ``seed``, default ``seed``). The frames
            are rendered with the true SMPL, ``pose_shape.pkl`` holds the
            noisy one and ``pose_shape_rendered.pkl`` the true one.
        loose (str | list | dict, optional): geometry off the SMPL surface
            (:func:`mmlwgan.synthetic.realism.loose_config`): ``'all'`` or
            some of ``'hair'``, ``'skirt'``, ``'sleeves'``.
        shading (str | dict, optional): ``'lambert'``: shading from a fixed
            light on the posed normals (:func:`mmlwgan.synthetic.realism.
            shading_config`); default flat, light at the camera.

    Returns:
        dict: ``out_dir``, ``smpl_path``, ``protocol_path``, ``train`` /
        ``val`` video ids, ``rendered`` / ``skipped`` video ids,
        ``annotation_error`` (video id -> :func:`mmlwgan.synthetic.realism.
        annotation_error`, with ``noise``).

    Raises:
        ValueError: bad arguments, or ``out_dir`` holds a synthetic iPER
            made with other arguments.
    """
    for name, value in (('num_actors', num_actors), ('num_clothes',
                                                     num_clothes),
                        ('num_actions', num_actions), ('num_frames',
                                                       num_frames)):
        if int(value) < 1:
            raise ValueError(f'{name} must be >= 1, got {value}')
    if image_size < 16:
        raise ValueError(f'image_size must be >= 16, got {image_size}')
    if frame_ext not in ('jpg', 'png'):
        raise ValueError(f"frame_ext should be 'jpg' or 'png', got "
                         f'{frame_ext!r}')
    motions = list(motions)
    for m in motions:
        if m not in M.MOTIONS:
            raise ValueError(f'unknown motion {m!r}; choose from '
                             f'{sorted(M.MOTIONS)}')
    params = dict(
        num_actors=int(num_actors), num_clothes=int(num_clothes),
        num_actions=int(num_actions), num_frames=int(num_frames),
        image_size=int(image_size), seed=int(seed), val_actors=val_actors,
        motions=motions, frame_ext=frame_ext, jpg_quality=int(jpg_quality),
        smpl_seed=int(smpl_seed))
    # real-world error: recorded only when on (plain data keeps its metadata)
    realism = dict(noise=R.noise_config(noise, seed),
                   loose=R.loose_config(loose),
                   shading=R.shading_config(shading))
    params.update({k: v for k, v in realism.items() if v is not None})
    noise_cfg, loose_cfg, shading_cfg = (realism['noise'], realism['loose'],
                                         realism['shading'])
    os.makedirs(out_dir, exist_ok=True)
    meta_path = osp.join(out_dir, META_FILENAME)
    if osp.isfile(meta_path):
        with open(meta_path, 'r', encoding='utf-8') as f:
            old = json.load(f).get('params')
        if old != params:
            raise ValueError(
                f'{out_dir} holds a synthetic iPER made with other parameters '
                f'({meta_path}: {old}); use another folder or delete it')
    else:
        _write_json(meta_path, dict(params=params, videos={}))

    smpl_path = osp.join(out_dir, SMPL_FILENAME)
    if not osp.isfile(smpl_path):
        save_synthetic_smpl(smpl_path, fmt='npz', seed=int(smpl_seed))
    renderer = SyntheticIPERRenderer(smpl_path, image_size, batch_size)
    num_betas = renderer.renderer.body_model.num_betas

    ids = [
        make_video_id(a, c, k) for a in range(1, num_actors + 1)
        for c in range(1, num_clothes + 1) for k in range(1, num_actions + 1)
    ]
    train, val = split_videos(ids, num_actors, val_actors)
    record: Dict[str, Dict[str, Any]] = {}
    rendered, skipped = [], []
    iterator = ids
    if progress:
        from tqdm import tqdm
        iterator = tqdm(ids, desc='synthetic iPER', unit='video')
    for vid in iterator:
        a, c, k = _parse_id(vid)
        actor = actor_params(seed, a, num_betas)
        cloth = make_cloth_spec(seed, a, c)
        motion = motions[(k - 1) % len(motions)]
        pose = video_motion(motion, num_frames, _rng(seed, _MOTION, a, c, k))
        src = _source_frames(pose)
        record[vid] = dict(
            motion=motion,
            split='val' if vid in val else 'train',
            num_frames=int(num_frames),
            frame_names=[frame_name(i, num_frames, frame_ext)
                         for i in range(num_frames)],
            source_frames=[int(i) for i in src],
            view_angles=[float(x) for x in view_angles(pose)[src]],
            actor=actor,
            cloth=cloth)
        spec = R.loose_spec(seed, a, c, actor, cloth, loose_cfg)
        if spec is not None:
            record[vid]['loose'] = spec
        if _video_done(out_dir, vid, num_frames, write_mp4):
            skipped.append(vid)
            if callback is not None:
                callback(vid, False)
            continue
        betas = torch.tensor(actor['betas'], dtype=torch.float32)[None]
        pose_t = torch.from_numpy(pose)
        with torch.no_grad():
            verts = renderer.renderer.posed_vertices(
                pose_t, betas.expand(len(pose_t), -1))
        cam = fit_video_camera(verts, _rng(seed, _CAM, a, c, k))
        theta = synthetic_theta(
            renderer.renderer, pose_t, betas.expand(len(pose_t), -1),
            cam=torch.from_numpy(cam)[None].expand(len(pose_t), -1))
        theta = np.ascontiguousarray(theta.numpy(), dtype=np.float32)
        written, extra = theta, None
        if noise_cfg is not None:  # render the true SMPL, write an estimate
            written = R.add_annotation_noise(
                theta, noise_cfg, R.noise_rng(noise_cfg['seed'], a, c, k))
            extra = {RENDERED_SMPL_FILENAME: _pose_shape(theta)}
        mesh = R.build_loose_mesh(renderer.renderer.body_model,
                                  renderer.dresser, betas, spec, actor,
                                  cloth)
        frames, kps = renderer.render(theta, actor, cloth,
                                      video_background(seed, vid,
                                                       image_size),
                                      loose=mesh, shading=shading_cfg)
        _write_video(out_dir, vid, frames, kps, written, frame_ext,
                     jpg_quality, write_mp4, extra)
        rendered.append(vid)
        if callback is not None:
            callback(vid, True)

    errors = {}
    if noise_cfg is not None:  # measured on what is on disk (resumed too)
        from mmlwgan.datasets.iper_dataset import load_pose_shape
        for vid in ids:
            folder = osp.join(out_dir, 'smpls', vid)
            errors[vid] = R.annotation_error(
                renderer.renderer.body_model,
                load_pose_shape(osp.join(folder, RENDERED_SMPL_FILENAME)),
                load_pose_shape(osp.join(folder, 'pose_shape.pkl')))
            record[vid]['annotation_error'] = errors[vid]

    _write_lines(osp.join(out_dir, 'train.txt'), train)
    _write_lines(osp.join(out_dir, 'val.txt'), val)
    protocol_path = osp.join(out_dir, PROTOCOL_FILENAME)
    _write_json(protocol_path, make_protocol(record, val, train, seed))
    layout = dict(images='images/<actor>/<cloth>/<action>/'
                  + frame_name(0, num_frames, frame_ext),
                  smpls='smpls/<actor>/<cloth>/<action>/'
                  '{pose_shape,kps}.pkl')
    meta = dict(params=params, smpl_model=SMPL_FILENAME, layout=layout)
    if noise_cfg is not None:
        layout['rendered_smpls'] = ('smpls/<actor>/<cloth>/<action>/' +
                                    RENDERED_SMPL_FILENAME)
        keys = ('pose_rms_deg', 'root_rms_deg', 'mpjpe_mm', 'pa_mpjpe_mm',
                'accel_mm', 'shape_rms', 'cam_scale_rms_pct',
                'cam_shift_rms_px_per_256')
        meta['annotation_error'] = dict(
            mean={k: float(np.mean([e[k] for e in errors.values()]))
                  for k in keys},
            note='pose_shape.pkl (written) vs pose_shape_rendered.pkl (the '
            'SMPL the frames were rendered with); kps.pkl is the rendered '
            "body's; joint errors over HMR's 14 LSP joints, mm")
    if any(v is not None for v in realism.values()):
        meta['realism'] = dict(
            module='mmlwgan.synthetic.realism',
            noise_stream=R.NOISE_STREAM, loose_stream=R.LOOSE_STREAM)
    meta['videos'] = {
        v: {k: r[k] for k in ('motion', 'split', 'actor', 'cloth', 'loose',
                              'annotation_error') if k in r}
        for v, r in record.items()
    }
    _write_json(meta_path, meta)
    return dict(out_dir=out_dir, smpl_path=smpl_path,
                protocol_path=protocol_path, train=train, val=val,
                rendered=rendered, skipped=skipped,
                annotation_error=errors)


__all__ = [
    'make_synthetic_iper', 'SyntheticIPERRenderer', 'synthetic_background',
    'video_background', 'video_motion', 'view_angles', 'fit_video_camera',
    'make_cloth_spec', 'actor_params', 'make_protocol', 'split_videos',
    'make_video_id', 'frame_name', 'SYNTHETIC_MOTIONS', 'SMPL_FILENAME',
    'PROTOCOL_FILENAME', 'META_FILENAME', 'VIDEO_RELEASE_DIR',
    'RENDERED_SMPL_FILENAME'
]

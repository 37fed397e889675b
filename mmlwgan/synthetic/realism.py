# Copyright (c) mmlwgan contributors. All rights reserved.
"""Real-world error for the synthetic iPER data (all off by default).

The plain synthetic iPER (:mod:`.synthetic_iper`) is an oracle for warping:
the SMPL written to ``pose_shape.pkl`` is exactly the one rendered, the
clothes are painted on the SMPL surface, and the light is at the camera.
Real iPER is not like that. This module adds three kinds of error, each an
option of :func:`~mmlwgan.synthetic.iper.make_synthetic_iper`
recorded in the dataset's ``synthetic_iper.json``:

**Annotation noise** (``noise``, :func:`noise_config`,
:func:`add_annotation_noise`). The frames are rendered with the true SMPL
and a perturbed copy is written to ``pose_shape.pkl`` (the true one goes to
``pose_shape_rendered.pkl`` beside it), like an HMR estimate. The ``'hmr'``
preset (:data:`HMR_NOISE`) is calibrated on the synthetic body so that the
written annotations are about as wrong as the published figures of
single-image regressors:

- HMR (Kanazawa et al., CVPR 2018), the estimator behind iPER's
  annotations: Human3.6M MPJPE 88.0 mm, PA-MPJPE 56.8 mm; SPIN (ICCV
  2019) 3DPW PA-MPJPE 59.2 mm, MPJPE 96.9 mm; VIBE
  (CVPR 2020) 3DPW PA-MPJPE 51.9 mm, MPJPE 82.9 mm, vertex error 99.1 mm,
  acceleration error 23.4 mm/frame^2.
- Per joint: every body joint's rotation is multiplied by a random rotation
  of RMS angle ``pose_deg`` (9.5 deg); the root (global orientation) by one
  of ``root_deg`` (4 deg). On the synthetic body (10 videos of its motions,
  60 frames each) this gives PA-MPJPE 57 mm and MPJPE 88 mm over the 14 LSP
  joints, HMR's Human3.6M figures (each dataset measures its own per video:
  ``annotation_error`` in its metadata).
- Shape: a per-video offset of every beta (std ``shape_std`` 0.3) plus a
  per-frame wobble (``shape_jitter`` 0.08): HMR estimates betas per frame,
  pulled towards the mean. On the synthetic body 0.3 moves the rest-pose
  vertices by 11 mm on average (VIBE's vertex error exceeds its MPJPE by
  16 mm).
- Camera: the weak-perspective scale off by ``cam_scale`` (3 % RMS) and the
  projected position by ``cam_trans`` (1.5 % of the image side RMS per
  axis, about 4 px at 256 px): regressors fit the 2D keypoints well but not
  exactly. These two are judgement, not published figures.
- Time: real regressors drift (errors persist over many frames) and jitter
  (frame to frame). Each noise signal is a smooth Gaussian-filtered random
  process (``drift_frames`` 12, the filter's sigma in frames) plus a share
  ``jitter`` (1.5 %) of its variance as independent per-frame noise; this
  puts the acceleration error at about 25 mm/frame^2 on the 60-frame
  videos above (VIBE 23.4; single-frame regressors such as HMR and SPIN
  jitter more; shorter videos of the same motions move faster, and their
  error accelerates more).

``kps.pkl`` keeps the keypoints of the rendered body (a 2D detector's
accuracy, not HMR's).

**Geometry off the SMPL surface** (``loose``, :func:`loose_config`,
:func:`loose_spec`, :class:`LooseMesh`): hair as an offset shell over the
hair-painted part of the head (thicker for long hair), skirts as a flared
surface hanging from the waist and skinned to the pelvis and hips, loose
sleeves as a shell over the sleeve that flares towards the cuff. They are
rendered with the body and textured like the garment they belong to, but
they are not part of the SMPL written anywhere.

**Pose-dependent shading** (``shading``, :func:`shading_config`,
:func:`lambert_shading`): smooth Lambertian shading from a fixed light on
the posed normals, so that the same cloth point changes brightness as the
body turns and bends (the plain data's light sits at the camera).
"""
import copy
import math
from typing import Any, Dict, Optional, Sequence, Union

import numpy as np
import torch
from scipy.ndimage import convolve1d
from scipy.spatial.transform import Rotation
from torch import Tensor

#: Seed streams (continuing :mod:`.synthetic_iper`'s 1-6).
NOISE_STREAM, LOOSE_STREAM = 7, 8

#: The ``'hmr'`` annotation-noise preset (see the module docstring).
HMR_NOISE = dict(
    pose_deg=9.5,  # RMS angle of each body joint's rotation error, degrees
    root_deg=4.0,  # RMS angle of the global-orientation error, degrees
    shape_std=0.3,  # per-video offset of every beta (std)
    shape_jitter=0.08,  # per-frame wobble of every beta (std)
    cam_scale=0.03,  # RMS relative error of the weak-perspective scale
    cam_trans=0.015,  # RMS error of the projected position, image sides
    drift_frames=12.0,  # sigma (frames) of the smooth, drifting part
    jitter=0.015,  # share of the variance that is white per-frame jitter
)
NOISE_PRESETS = dict(hmr=HMR_NOISE)

#: Probability that an actor (hair) / an outfit (skirt, sleeves) gets each
#: loose garment, for ``loose='all'``.
LOOSE_DEFAULTS = dict(hair=1.0, skirt=0.5, sleeves=0.5)
LOOSE_PARTS = tuple(LOOSE_DEFAULTS)

#: ``shading='lambert'``: direction towards the light in the camera frame
#: (x right, y down, z away from the camera): up, left and in front.
LAMBERT_SHADING = dict(
    model='lambert', light_dir=[-0.55, -0.6, -0.58], ambient=0.3,
    diffuse=0.8)
SHADING_PRESETS = dict(lambert=LAMBERT_SHADING)


# ---------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------
def noise_config(noise: Union[None, str, Dict[str, Any]],
                 seed: int) -> Optional[Dict[str, Any]]:
    """Normalise the ``noise`` option.

    Args:
        noise: None / ``'none'`` (no noise), a preset name (``'hmr'``) or a
            dict of magnitudes (keys of :data:`HMR_NOISE`; an optional
            ``preset`` key names the base, default ``'hmr'``; ``seed``).
        seed (int): the dataset's seed, the default noise seed.

    Returns:
        dict | None: every magnitude plus ``preset`` and ``seed``
        (JSON-serialisable, the form recorded in the metadata).
    """
    if noise is None or noise is False or noise == 'none':
        return None
    if isinstance(noise, str):
        noise = dict(preset=noise)
    if not isinstance(noise, dict):
        raise TypeError(f'noise should be None, a preset name or a dict, '
                        f'got {type(noise).__name__}')
    noise = dict(noise)
    preset = noise.pop('preset', 'hmr')
    if preset not in NOISE_PRESETS:
        raise ValueError(f'unknown noise preset {preset!r}; choose from '
                         f'{sorted(NOISE_PRESETS)}')
    cfg = dict(preset=preset, **NOISE_PRESETS[preset])
    noise_seed = noise.pop('seed', None)
    unknown = sorted(set(noise) - set(HMR_NOISE))
    if unknown:
        raise ValueError(f'unknown noise option(s) {unknown}; known: '
                         f'{sorted(HMR_NOISE)}')
    for key, value in noise.items():
        if value is None:
            continue
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f'noise {key} must be >= 0, got {value}')
        cfg[key] = value
    if cfg['jitter'] > 1:
        raise ValueError(f"noise jitter is a share of the variance, in "
                         f"[0, 1]; got {cfg['jitter']}")
    cfg['seed'] = int(seed if noise_seed is None else noise_seed)
    return cfg


def loose_config(loose: Union[None, str, Sequence[str], Dict[str, float]]
                 ) -> Optional[Dict[str, float]]:
    """Normalise the ``loose`` option: None / ``'none'``, ``'all'`` (the
    probabilities of :data:`LOOSE_DEFAULTS`), names of
    :data:`LOOSE_PARTS` (those at their default probability) or a dict
    ``{name: probability}``. Returns ``{name: probability}`` or None."""
    if loose is None or loose is False or loose == 'none':
        return None
    if loose == 'all' or loose is True:
        return dict(LOOSE_DEFAULTS)
    if isinstance(loose, str):
        loose = [loose]
    if not isinstance(loose, dict):
        names = [n for n in loose if n != 'none']
        if 'all' in names:
            return dict(LOOSE_DEFAULTS)
        loose = {n: LOOSE_DEFAULTS.get(n, 1.0) for n in names}
    unknown = sorted(set(loose) - set(LOOSE_PARTS))
    if unknown:
        raise ValueError(f'unknown loose garment(s) {unknown}; choose from '
                         f'{list(LOOSE_PARTS)}')
    cfg = {}
    for name in LOOSE_PARTS:  # fixed order
        if name in loose:
            p = float(loose[name])
            if not 0 <= p <= 1:
                raise ValueError(f'loose {name} probability must be in '
                                 f'[0, 1], got {p}')
            cfg[name] = p
    return cfg or None


def shading_config(shading: Union[None, str, Dict[str, Any]]
                   ) -> Optional[Dict[str, Any]]:
    """Normalise the ``shading`` option: None / ``'flat'`` (the plain
    data's light at the camera), ``'lambert'`` or a dict overriding
    :data:`LAMBERT_SHADING`'s ``light_dir``, ``ambient``, ``diffuse``."""
    if shading is None or shading == 'flat':
        return None
    if isinstance(shading, str):
        if shading not in SHADING_PRESETS:
            raise ValueError(f"unknown shading {shading!r}; choose 'flat' or "
                             f'one of {sorted(SHADING_PRESETS)}')
        return copy.deepcopy(SHADING_PRESETS[shading])
    cfg = copy.deepcopy(LAMBERT_SHADING)
    unknown = sorted(set(shading) - set(cfg))
    if unknown:
        raise ValueError(f'unknown shading option(s) {unknown}')
    cfg.update(shading)
    if cfg['model'] != 'lambert':
        raise ValueError(f"shading model should be 'lambert', got "
                         f"{cfg['model']!r}")
    light = np.asarray(cfg['light_dir'], dtype=float).reshape(3)
    if not np.linalg.norm(light) > 0:
        raise ValueError('shading light_dir must be a non-zero 3-vector')
    cfg['light_dir'] = [float(x) for x in light]
    cfg['ambient'] = float(cfg['ambient'])
    cfg['diffuse'] = float(cfg['diffuse'])
    return cfg


# ---------------------------------------------------------------------------
# Annotation noise
# ---------------------------------------------------------------------------
def noise_rng(noise_seed: int, *keys: int) -> np.random.Generator:
    """The noise stream of a video (``keys``: actor, cloth, action)."""
    return np.random.default_rng([int(noise_seed), NOISE_STREAM] +
                                 [int(k) for k in keys])


def correlated_noise(rng: np.random.Generator, num_frames: int, dims: int,
                     drift_frames: float, jitter: float) -> np.ndarray:
    """Unit-variance noise (num_frames, dims) that drifts and jitters.

    ``sqrt(1 - jitter) * drift + sqrt(jitter) * white``: ``drift`` is white
    noise smoothed by a Gaussian of sigma ``drift_frames`` (renormalised to
    unit variance; white when 0), ``white`` independent per frame.
    """
    white = rng.standard_normal((num_frames, dims))
    if drift_frames > 0:
        sigma = float(drift_frames)
        pad = int(math.ceil(4 * sigma))
        x = np.arange(-pad, pad + 1) / sigma
        kernel = np.exp(-0.5 * x**2)
        kernel /= np.sqrt((kernel**2).sum())
        raw = rng.standard_normal((num_frames + 2 * pad, dims))
        drift = convolve1d(raw, kernel, axis=0, mode='constant')[pad:pad +
                                                                num_frames]
    else:
        drift = rng.standard_normal((num_frames, dims))
    return np.sqrt(1.0 - jitter) * drift + np.sqrt(jitter) * white


def add_annotation_noise(theta: np.ndarray, cfg: Dict[str, Any],
                         rng: np.random.Generator) -> np.ndarray:
    """An HMR-like estimate of (N, 85) thetas ``[s, tx, ty, pose, betas]``.

    Every joint rotation ``R`` becomes ``R @ exp(e)`` with ``e`` a
    correlated-noise axis-angle of RMS norm ``pose_deg`` (joints 1-23) /
    ``root_deg`` (joint 0); ``betas`` get a per-video offset and a per-frame
    wobble; the camera scale a relative error, its translation an error in
    image sides. See :func:`noise_config`.

    Returns:
        np.ndarray: (N, 85) float32.
    """
    theta = np.asarray(theta, dtype=np.float64)
    n = len(theta)
    df, jit = cfg['drift_frames'], cfg['jitter']

    def signal(dims):
        return correlated_noise(rng, n, dims, df, jit)

    out = theta.copy()
    # per-component std of an isotropic axis-angle whose RMS norm is X deg
    eps = np.empty((n, 24, 3))
    eps[:, 1:] = signal(69).reshape(n, 23, 3) * (
        np.deg2rad(cfg['pose_deg']) / np.sqrt(3))
    eps[:, 0] = signal(3) * (np.deg2rad(cfg['root_deg']) / np.sqrt(3))
    rot = Rotation.from_rotvec(theta[:, 3:75].reshape(-1, 3))
    out[:, 3:75] = (rot * Rotation.from_rotvec(eps.reshape(-1, 3))
                    ).as_rotvec().reshape(n, 72)
    nb = theta.shape[1] - 75
    offset = rng.standard_normal(nb) * cfg['shape_std']
    out[:, 75:] = theta[:, 75:] + offset + signal(nb) * cfg['shape_jitter']
    s = theta[:, 0]
    out[:, 0] = s * (1.0 + cfg['cam_scale'] * signal(1)[:, 0])
    # NDC spans 2 per image side: a shift of d sides is 2 d / s in t
    out[:, 1:3] = theta[:, 1:3] + (
        2.0 * cfg['cam_trans'] * signal(2)) / s[:, None]
    return out.astype(np.float32)


def _procrustes(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Similarity-align (N, K, 3) ``pred`` to ``gt`` per frame."""
    mp, mg = pred.mean(1, keepdims=True), gt.mean(1, keepdims=True)
    p, g = pred - mp, gt - mg
    out = np.empty_like(pred)
    for i in range(len(pred)):
        u, s, vt = np.linalg.svd(p[i].T @ g[i])
        d = np.sign(np.linalg.det(u @ vt))
        fix = np.diag([1.0, 1.0, d])
        rot = u @ fix @ vt
        scale = (s * np.diag(fix)).sum() / max((p[i]**2).sum(), 1e-12)
        out[i] = scale * p[i] @ rot + mg[i]
    return out


def rotation_error_deg(pose_a: np.ndarray, pose_b: np.ndarray) -> np.ndarray:
    """Angle (degrees) of ``R_a^T R_b`` per joint: (N, 72) x 2 ->
    (N, 24)."""
    n = len(pose_a)
    ra = Rotation.from_rotvec(np.asarray(pose_a, np.float64).reshape(-1, 3))
    rb = Rotation.from_rotvec(np.asarray(pose_b, np.float64).reshape(-1, 3))
    return np.rad2deg((ra.inv() * rb).magnitude()).reshape(n, 24)


@torch.no_grad()
def annotation_error(body_model, theta_true: np.ndarray,
                     theta_noisy: np.ndarray) -> Dict[str, float]:
    """How far written annotations are from the rendered ones.

    Joint errors are over HMR's 14 LSP joints (the first 14 COCO-plus
    keypoints when the body has that regressor, else the 24 SMPL joints),
    in mm, pelvis-aligned (MPJPE), after a similarity Procrustes alignment
    (PA-MPJPE), and as acceleration error (second differences, mm /
    frame^2, as VIBE reports it).

    Returns:
        dict: ``pose_rms_deg`` / ``root_rms_deg`` (RMS rotation error of
        joints 1-23 / the root), ``mpjpe_mm``, ``pa_mpjpe_mm``,
        ``accel_mm``, ``shape_rms`` (betas), ``cam_scale_rms_pct``,
        ``cam_shift_rms_px_per_256`` (projected-position error, pixels at
        256 px).
    """
    a = np.asarray(theta_true, np.float64)
    b = np.asarray(theta_noisy, np.float64)
    ang = rotation_error_deg(a[:, 3:75], b[:, 3:75])

    def joints(theta):
        t = torch.as_tensor(theta, dtype=torch.float32)
        out = body_model(t[:, 3:75], t[:, 75:])
        if out.get('keypoints_extra') is not None:
            j = out['keypoints_extra'][:, :14]
            pelvis = (j[:, 2] + j[:, 3]) / 2  # COCO-plus hips
        else:
            j = out['joints'][:, :24]
            pelvis = j[:, 0]
        return (j - pelvis[:, None]).double().numpy() * 1000.0

    ja, jb = joints(a), joints(b)
    mpjpe = np.linalg.norm(ja - jb, axis=-1).mean()
    pa = np.linalg.norm(_procrustes(jb, ja) - ja, axis=-1).mean()
    if len(a) >= 3:
        acc = (ja[2:] - 2 * ja[1:-1] + ja[:-2]) - (jb[2:] - 2 * jb[1:-1] +
                                                   jb[:-2])
        accel = float(np.linalg.norm(acc, axis=-1).mean())
    else:
        accel = float('nan')
    # the projected position of the body's centre: s * (c + t)
    shift = (b[:, 0:1] * b[:, 1:3] - a[:, 0:1] * a[:, 1:3]) / 2.0  # sides
    return dict(
        pose_rms_deg=float(np.sqrt((ang[:, 1:]**2).mean())),
        root_rms_deg=float(np.sqrt((ang[:, 0]**2).mean())),
        mpjpe_mm=float(mpjpe),
        pa_mpjpe_mm=float(pa),
        accel_mm=accel,
        shape_rms=float(np.sqrt(((b[:, 75:] - a[:, 75:])**2).mean())),
        cam_scale_rms_pct=float(
            100 * np.sqrt(((b[:, 0] / a[:, 0] - 1)**2).mean())),
        cam_shift_rms_px_per_256=float(
            256 * np.sqrt((shift**2).sum(1).mean())))


# ---------------------------------------------------------------------------
# Geometry off the SMPL surface
# ---------------------------------------------------------------------------
def loose_spec(seed: int, actor_id: int, cloth_id: int,
               actor: Dict[str, Any], cloth: Dict[str, Any],
               cfg: Optional[Dict[str, float]]) -> Optional[Dict[str, Any]]:
    """Which loose garments a video's person wears and their sizes
    (deterministic; hair is decided per actor, skirt and sleeves per
    outfit; sleeves only on an outfit with sleeves). JSON-serialisable;
    None when there is none."""
    if not cfg:
        return None
    ra = np.random.default_rng([int(seed), LOOSE_STREAM, int(actor_id)])
    rc = np.random.default_rng(
        [int(seed), LOOSE_STREAM, int(actor_id), int(cloth_id)])
    # draw everything in a fixed order whatever is enabled
    u_hair, thick = ra.uniform(), ra.uniform(0.0, 1.0)
    u_skirt, length, flare = rc.uniform(), rc.uniform(0.3, 0.6), \
        rc.uniform(0.04, 0.12)
    u_sleeve, sleeve_flare = rc.uniform(), rc.uniform(0.025, 0.06)
    spec = {}
    if u_hair < cfg.get('hair', 0.0):
        spec['hair'] = dict(
            thickness=round(0.015 + 0.03 * actor['hair_length'] +
                            0.01 * thick, 4))
    if u_skirt < cfg.get('skirt', 0.0):
        spec['skirt'] = dict(length=round(length, 4), flare=round(flare, 4))
    if u_sleeve < cfg.get('sleeves', 0.0) and cloth['sleeves'] != 'none':
        spec['sleeves'] = dict(flare=round(sleeve_flare, 4))
    return spec or None


def _vertex_normals(verts: Tensor, faces: Tensor) -> Tensor:
    """Area-weighted unit vertex normals: (B, V, 3), (F, 3) -> (B, V, 3)."""
    tri = verts[:, faces]  # (B, F, 3, 3)
    fn = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0],
                     dim=-1)
    vn = torch.zeros_like(verts)
    for k in range(3):
        vn.index_add_(1, faces[:, k], fn)
    return torch.nn.functional.normalize(vn, dim=-1, eps=1e-12)


def _shaped_rest(body_model, betas: Tensor) -> Tensor:
    from smplx.lbs import blend_shapes
    sm = body_model.body
    return sm.v_template[None] + blend_shapes(
        betas.to(sm.v_template.dtype), sm.shapedirs)


class LooseMesh:
    """Garments off the SMPL surface of one person (one video).

    Built in the person's shaped rest pose, posed by linear blend skinning
    with the body's joint transforms (:meth:`pose`), so they move with the
    body but are not part of it.

    Attributes:
        rest (Tensor): (Ve, 3) rest points (template metres) for the albedo.
        shaped (Tensor): (Ve, 3) rest points in the shaped rest pose.
        weights (Tensor): (Ve, 24) skinning weights.
        faces (Tensor): (Fe, 3) long, indices into the Ve vertices.
        kinds (Tensor): (Fe,) long, index into :data:`LOOSE_PARTS`.
    """

    def __init__(self, rest, shaped, weights, faces, kinds) -> None:
        self.rest, self.shaped, self.weights = rest, shaped, weights
        self.faces, self.kinds = faces, kinds

    @property
    def num_verts(self) -> int:
        return self.rest.shape[0]

    @torch.no_grad()
    def pose(self, body_model, pose: Tensor, betas: Tensor) -> Tensor:
        """Posed vertices (B, Ve, 3) for (B, 72) poses (betas: the shape the
        mesh was built for; only its joints are used)."""
        from smplx.lbs import (batch_rigid_transform, batch_rodrigues,
                               vertices2joints)
        sm = body_model.body
        b = pose.shape[0]
        dtype = sm.v_template.dtype
        v_shaped = _shaped_rest(body_model, betas.expand(b, -1))
        joints = vertices2joints(sm.J_regressor, v_shaped)
        rot = batch_rodrigues(pose.to(dtype).reshape(-1, 3)).view(b, -1, 3, 3)
        _, transforms = batch_rigid_transform(rot, joints, sm.parents,
                                              dtype=dtype)
        t = torch.einsum('vj,bjmn->bvmn', self.weights.to(dtype), transforms)
        x = self.shaped.to(dtype)
        return torch.einsum('bvmn,vn->bvm', t[..., :3, :3], x) + t[..., :3, 3]


def _hair_vertices(dresser, v_rest: Tensor, vert_part: Tensor,
                   head_id: int, hair_length: float) -> Tensor:
    """(V,) bool: head vertices painted as hair (the dresser's rule)."""
    lo, hi = dresser.boxes['head']
    x, y, z = v_rest.unbind(-1)
    u = (y - lo[1]) / max(hi[1] - lo[1], 1e-6)
    zc = (lo[2] + hi[2]) / 2
    return (vert_part == head_id) & (
        (u > 0.8 - 0.1 * hair_length - 0.05) |
        ((z < zc) & (u > 0.45 - 0.35 * hair_length - 0.05)))


def _sleeve_vertices(dresser, v_rest: Tensor, vert_part: Tensor,
                     arm_ids, sleeves: str) -> Tensor:
    arms = (vert_part == arm_ids[0]) | (vert_part == arm_ids[1])
    if sleeves == 'short':
        lo, hi = dresser.boxes['left_arm']
        arms &= v_rest[:, 0].abs() < lo[0] + 0.3 * (hi[0] - lo[0])
    return arms


def _shell(faces: Tensor, sel: Tensor):
    """Faces whose three vertices are all selected, re-indexed, and the
    selected vertex ids."""
    keep = sel[faces].all(1)
    sub = faces[keep]
    ids = torch.unique(sub)
    remap = torch.full((sel.shape[0],), -1, dtype=torch.long)
    remap[ids] = torch.arange(len(ids))
    return remap[sub], ids


def _skirt(v_shaped: Tensor, v_rest: Tensor, vert_part: Tensor, joints:
           Tensor, part_ids: Dict[str, int], spec: Dict[str, float],
           rings: int = 7, around: int = 40):
    """A flared skirt around the hips and thighs in the shaped rest pose."""
    torso = vert_part == part_ids['lower_torso']
    legs = (vert_part == part_ids['left_leg']) | (vert_part ==
                                                  part_ids['right_leg'])
    lower = torso | legs
    ty = v_shaped[torso, 1]
    top = float(ty.max() - 0.25 * (ty.max() - ty.min()))
    hip_y = float((joints[1, 1] + joints[2, 1]) / 2)
    ankle_y = float((joints[7, 1] + joints[8, 1]) / 2)
    hem = hip_y - spec['length'] * (hip_y - ankle_y)
    ts = np.linspace(0.0, 1.0, rings)
    pts, rest_pts = [], []
    half_prev = np.zeros(2)
    cx = float(v_shaped[torso, 0].mean())
    cz = float((v_shaped[torso, 2].max() + v_shaped[torso, 2].min()) / 2)
    phi = np.linspace(0, 2 * np.pi, around, endpoint=False)
    for t in ts:
        y = top + (hem - top) * t
        band = lower & ((v_shaped[:, 1] - y).abs() < 0.03)
        if band.sum() < 3:
            band = lower
        sec = v_shaped[band]
        half = np.array([
            float(max(sec[:, 0].max() - cx, cx - sec[:, 0].min())),
            float(max(sec[:, 2].max() - cz, cz - sec[:, 2].min()))
        ]) * 1.12 + 0.012 + spec['flare'] * t**1.5
        half = np.maximum(half, half_prev)  # skirts flare, never narrow
        half_prev = half
        ring = np.stack([cx + half[0] * np.sin(phi), np.full_like(phi, y),
                         cz + half[1] * np.cos(phi)], 1)
        pts.append(ring)
    shaped = torch.tensor(np.concatenate(pts), dtype=torch.float32)
    # rest points for the albedo: the template's coordinates at the same
    # place (the shape offset of the waist removed)
    rest = shaped - (v_shaped[torso].mean(0) - v_rest[torso].mean(0))
    faces = []
    for k in range(rings - 1):
        for m in range(around):
            a, b = k * around + m, k * around + (m + 1) % around
            c, d = a + around, b + around
            faces += [(a, c, b), (b, c, d)]
    faces = torch.tensor(faces, dtype=torch.long)
    # orient outwards (away from the vertical axis through the centre)
    tri = shaped[faces[0]]
    n = torch.cross(tri[1] - tri[0], tri[2] - tri[0], dim=0)
    radial = tri.mean(0) - torch.tensor([cx, float(tri[:, 1].mean()), cz])
    if float((n * radial).sum()) < 0:
        faces = faces[:, [0, 2, 1]]
    # pelvis at the waist, more and more the thigh of the same side below
    t = torch.tensor(np.repeat(ts, around), dtype=torch.float32)
    side = torch.sigmoid((shaped[:, 0] - cx) / 0.03)  # +x: body's left
    w = torch.zeros(len(shaped), 24)
    w[:, 0] = 1 - 0.7 * t
    w[:, 1] = 0.7 * t * side  # left_hip
    w[:, 2] = 0.7 * t * (1 - side)  # right_hip
    return rest, shaped, w, faces


@torch.no_grad()
def build_loose_mesh(body_model, dresser, betas: Tensor,
                     spec: Optional[Dict[str, Any]], actor: Dict[str, Any],
                     cloth: Dict[str, Any]) -> Optional[LooseMesh]:
    """The :class:`LooseMesh` of ``spec`` (:func:`loose_spec`) for a person
    of shape ``betas`` (1, num_betas)."""
    if not spec:
        return None
    from smplx.lbs import vertices2joints
    sm = body_model.body
    faces = body_model.faces
    names = list(dresser.names)
    ids = {n: i for i, n in enumerate(names)}
    num_verts = body_model.num_verts
    vert_part = torch.full((num_verts,), -1, dtype=torch.long)
    vert_part.scatter_reduce_(
        0, faces.reshape(-1),
        body_model.face_part_labels.repeat_interleave(3), 'amax')
    v_rest = sm.v_template.float()
    v_shaped = _shaped_rest(body_model, betas.float())[0]
    n_rest = _vertex_normals(v_rest[None], faces)[0]
    n_shaped = _vertex_normals(v_shaped[None], faces)[0]
    lbs_w = sm.lbs_weights.float()
    parts = []  # (rest, shaped, weights, faces, kind)

    if 'hair' in spec and 'head' in ids:
        sel = _hair_vertices(dresser, v_rest, vert_part, ids['head'],
                             actor['hair_length'])
        sub, vid = _shell(faces, sel)
        z = v_rest[vid, 2]
        lo, hi = dresser.boxes['head']
        back = (z < (lo[2] + hi[2]) / 2).float()
        off = spec['hair']['thickness'] * (0.7 + 0.3 * back)[:, None]
        parts.append((v_rest[vid] + off * n_rest[vid],
                      v_shaped[vid] + off * n_shaped[vid], lbs_w[vid], sub,
                      LOOSE_PARTS.index('hair')))
    if 'sleeves' in spec and 'left_arm' in ids:
        sel = _sleeve_vertices(dresser, v_rest, vert_part,
                               (ids['left_arm'], ids['right_arm']),
                               cloth['sleeves'])
        sub, vid = _shell(faces, sel)
        ax = v_rest[vid, 0].abs()
        t = (ax - ax.min()) / max(float(ax.max() - ax.min()), 1e-6)
        off = (0.008 + spec['sleeves']['flare'] * t**2)[:, None]
        parts.append((v_rest[vid] + off * n_rest[vid],
                      v_shaped[vid] + off * n_shaped[vid], lbs_w[vid], sub,
                      LOOSE_PARTS.index('sleeves')))
    if 'skirt' in spec and 'lower_torso' in ids:
        joints = vertices2joints(sm.J_regressor, v_shaped[None])[0]
        rest, shaped, w, sub = _skirt(v_shaped, v_rest, vert_part, joints,
                                      ids, spec['skirt'])
        parts.append((rest, shaped, w, sub, LOOSE_PARTS.index('skirt')))
    if not parts:
        return None
    rest, shaped, weights, fcs, kinds = [], [], [], [], []
    base = 0
    for r, s, w, f, kind in parts:
        rest.append(r)
        shaped.append(s)
        weights.append(w)
        fcs.append(f + base)
        kinds.append(torch.full((len(f),), kind, dtype=torch.long))
        base += len(r)
    return LooseMesh(torch.cat(rest).float(), torch.cat(shaped).float(),
                     torch.cat(weights).float(), torch.cat(fcs),
                     torch.cat(kinds))


def loose_albedo(pts: Tensor, kind: Tensor, actor: Dict[str, Any],
                 cloth: Dict[str, Any], pattern) -> Tensor:
    """Albedo (N, 3) of loose-garment points: hair in the actor's hair
    colour with strands, skirts in the bottom's pattern, sleeves in the
    top's (``pattern`` is :func:`.iper._pattern`)."""
    out = torch.zeros(len(pts), 3, dtype=pts.dtype)
    front = pts[:, 2] > 0.0
    hair = kind == LOOSE_PARTS.index('hair')
    if hair.any():
        p = pts[hair]
        strands = 0.85 + 0.15 * torch.sin(
            2 * np.pi * 70 * (p[:, 0] + 0.3 * p[:, 2]))
        out[hair] = torch.tensor(actor['hair'], dtype=pts.dtype) * \
            strands[:, None]
    for name, garment in (('skirt', 'bottom'), ('sleeves', 'top')):
        m = kind == LOOSE_PARTS.index(name)
        if m.any():
            out[m] = pattern(pts[m], cloth[garment], front[m])
    return out.clamp(0, 1)


# ---------------------------------------------------------------------------
# Shading
# ---------------------------------------------------------------------------
def lambert_shading(fragments, faces: Tensor, verts: Tensor,
                    cfg: Dict[str, Any]) -> Tensor:
    """Smooth Lambertian shading from a fixed directional light.

    Args:
        fragments: rasterization of ``verts`` (projected).
        faces (Tensor): (F, 3) outward-wound faces.
        verts (Tensor): (B, V, 3) posed vertices in the camera-aligned
            frame (x right, y down, z away), before projection.
        cfg (dict): :func:`shading_config`'s output.

    Returns:
        Tensor: (B, H, W) ``ambient + diffuse * max(n . l, 0)`` with ``n``
        the interpolated vertex normal, turned towards the camera where a
        surface is seen from behind (open shells); 0 on the background.
    """
    from mmlwgan.models.renderers import interpolate_vertex_values
    vn = _vertex_normals(verts.float(), faces)
    n = interpolate_vertex_values(fragments, faces, vn)  # (B, 3, H, W)
    n = torch.nn.functional.normalize(n, dim=1, eps=1e-12)
    n = torch.where(n[:, 2:3] > 0, -n, n)
    light = torch.nn.functional.normalize(
        torch.tensor(cfg['light_dir'], dtype=n.dtype), dim=0)
    cos = (n * light.view(1, 3, 1, 1)).sum(1).clamp(min=0.0)
    shade = cfg['ambient'] + cfg['diffuse'] * cos
    return torch.where(fragments.face_idx >= 0, shade,
                       torch.zeros_like(shade))


__all__ = [
    'HMR_NOISE', 'NOISE_PRESETS', 'LOOSE_DEFAULTS', 'LOOSE_PARTS',
    'LAMBERT_SHADING', 'noise_config', 'loose_config', 'shading_config',
    'noise_rng', 'correlated_noise', 'add_annotation_noise',
    'annotation_error', 'rotation_error_deg', 'loose_spec', 'LooseMesh',
    'build_loose_mesh', 'loose_albedo', 'lambert_shading'
]

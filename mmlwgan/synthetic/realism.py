# Copyright (c) mmlwgan contributors. All rights reserved.
"""Real-world error for the synthetic iPER data (all off by default).

The plain synthetic iPER (:mod:`.iper`) is an oracle for warping:
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

**Geometry off the SMPL surface** (``loose``, :func:`loose_config`; made
by :mod:`.loose_garments`): hair as an offset shell over the
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

#: Seed streams (continuing :mod:`.iper_spec`'s 1-6).
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
        drift = convolve1d(raw, kernel, axis=0,
                           mode='constant')[pad:pad + num_frames]
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
# Shading
# ---------------------------------------------------------------------------
def _vertex_normals(verts: Tensor, faces: Tensor) -> Tensor:
    """Area-weighted unit vertex normals: (B, V, 3), (F, 3) -> (B, V, 3)."""
    tri = verts[:, faces]  # (B, F, 3, 3)
    fn = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0],
                     dim=-1)
    vn = torch.zeros_like(verts)
    for k in range(3):
        vn.index_add_(1, faces[:, k], fn)
    return torch.nn.functional.normalize(vn, dim=-1, eps=1e-12)


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
    'annotation_error', 'rotation_error_deg', 'lambert_shading'
]

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Rendering the synthetic iPER videos (for :mod:`.iper`).

Per video: a motion of :mod:`.motions` with per-video variations
(:func:`video_motion`), one weak-perspective camera keeping every frame in
view (:func:`fit_video_camera`), and :class:`SyntheticIPERRenderer`, which
rasterizes the posed synthetic body dressed as in :mod:`.iper_spec` (with
the optional loose garments and shading of :mod:`.realism` /
:mod:`.loose_garments`) over the video's background.
"""
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from scipy.spatial.transform import Rotation
from torch import Tensor

from . import loose_garments as LG
from . import motions as M
from . import realism as R
from .body_mesh import SYNTHETIC_PART_NAMES
from .iper_spec import _Dresser, _pattern

__all__ = [
    'video_motion', 'view_angles', 'fit_video_camera',
    'SyntheticIPERRenderer'
]

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
               loose: Optional['LG.LooseMesh'] = None,
               shading: Optional[Dict[str, Any]] = None,
               return_maps: bool = False) -> Tuple[np.ndarray, ...]:
        """Render (N, 85) thetas.

        Args:
            loose (LooseMesh, optional): garments off the SMPL surface
                (:func:`mmlwgan.synthetic.loose_garments.build_loose_mesh`),
                rendered with the body.
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
                albedo[extra] = LG.loose_albedo(
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

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Novel view synthesis: the source person seen from other angles."""
from typing import Any, Dict, Optional, Sequence

import numpy as np
import torch

from mmlwgan.models.body import (euler_to_matrix, rotate_points, split_theta,
                                 weak_perspective_project)
from mmlwgan.registry import INFERENCERS
from .base_lwgan_inferencer import BaseLWGANInferencer, Sink
from .utils import InferenceRun

__all__ = ['NovelViewInferencer', 'sweep_views']


def sweep_views(num_views: int, axis: str = 'y',
                start: float = 0.0) -> np.ndarray:
    """Euler angles (degrees) of a full turn in ``num_views`` steps about
    one axis (``'y'``: the vertical axis of the image, a 360-degree turn of
    the person)."""
    if num_views < 1:
        raise ValueError(f'num_views must be >= 1, got {num_views}')
    if axis not in 'xyz' or len(axis) != 1:
        raise ValueError(f"axis must be 'x', 'y' or 'z', got {axis!r}")
    views = np.zeros((num_views, 3), dtype=np.float32)
    views[:, 'xyz'.index(axis)] = start + 360.0 * np.arange(
        num_views) / num_views
    return views


@INFERENCERS.register_module()
class NovelViewInferencer(BaseLWGANInferencer):
    """Show the source person from new viewpoints.

    As the release's viewer: the source mesh (optionally in T-pose) is
    rotated by Euler angles about the body's centre (the centre of its
    bounding box, in the camera-aligned frame: x right, y down, z away from
    the camera) and projected with the source camera; the flow from the
    rotated mesh back to the source image drives the generator. By default
    a 360-degree sweep about the vertical axis in ``num_views`` views.

    See :class:`BaseLWGANInferencer` for the constructor.
    """

    task = 'view'
    call_args = ('src', 'src_smpl', 'out_dir')
    preprocess_kwargs = BaseLWGANInferencer.preprocess_kwargs | {
        'views', 'num_views', 'axis', 't_pose'
    }
    panel_labels = ('source', 'view', 'result')

    def __call__(self, src: Any, src_smpl: Any = None,
                 out_dir: Optional[str] = None,
                 **kwargs: Any) -> Dict[str, Any]:
        """Render the source person from new viewpoints.

        Every keyword reaches one stage: ``preprocess_kwargs`` (inputs,
        targets, personalisation), ``forward_kwargs`` (synthesis),
        ``visualize_kwargs`` (``side_by_side``) or ``postprocess_kwargs``
        (``out_dir``, ``save_frames``, ``return_frames``, ``fps``); an
        unknown keyword raises a ``ValueError`` naming it.

        Args:
            src: source image(s) (path, folder, array); the first source is
                rotated, all are fused.
            src_smpl: SMPL of the source(s); default: the model's HMR.
            out_dir (str, optional): output folder (None: return frames).
            views (Sequence, optional): (V, 3) Euler angles in degrees about
                x, y, z (applied in that order); overrides the sweep.
            num_views (int): views of the 360-degree sweep. Defaults to 36.
            axis (str): sweep axis; ``'y'`` (vertical) turns the person.
            t_pose (bool): put the body in T-pose (root orientation kept).
            output_name (str, optional): default ``<source>-novel_view``.
            batch_size (int): views synthesized together.
            background: ``'generated'``, ``'original'``, ``'inpainted'``
                or an image.
            front_warp (bool): paste the directly warped face pixels.
            side_by_side (bool): also write source | target mesh | result.
            save_frames (bool): also write PNG frames.
            return_frames (bool, optional): default: when ``out_dir`` is
                None.
            src_bbox: person box(es) for HMR crops.
            personalize_steps, personalize_lr, personalized_weights,
                save_personalized: see :class:`MotionImitationInferencer`.
            fps (float): output frame rate.

        Returns:
            dict: ``video``, ``side_by_side``, ``frames_dir``,
            ``num_frames``, ``fps``, ``frames``, ``src_smpl`` and ``views``
            (V, 3) degrees.
        """
        return super().__call__(src, src_smpl, out_dir, **kwargs)

    def preprocess(self,
                   src: Any,
                   src_smpl: Any = None,
                   views: Optional[Sequence[Sequence[float]]] = None,
                   num_views: int = 36,
                   axis: str = 'y',
                   t_pose: bool = False,
                   output_name: Optional[str] = None,
                   batch_size: int = 8,
                   background: Any = 'generated',
                   src_bbox: Any = None,
                   personalize_steps: int = 0,
                   personalize_lr: Optional[float] = None,
                   personalized_weights: Optional[str] = None,
                   save_personalized: Optional[str] = None) -> InferenceRun:
        """Read the sources, make the views and the target pose, and
        personalise the generator when asked (see :meth:`__call__` for the
        arguments); nothing is written."""
        if views is None:
            views = sweep_views(num_views, axis)
        views = np.asarray(views, dtype=np.float32).reshape(-1, 3) if len(
            views) else np.zeros((0, 3), np.float32)
        if len(views) == 0:
            raise ValueError('no view to render (views is empty)')
        bg_opt = self.resolve_background(background)
        state = self.prepare_sources(src, src_smpl, src_bbox)
        name = self._output_name(output_name, state.name, 'novel_view')
        self.apply_personalization(state, personalize_steps, personalize_lr,
                                   personalized_weights, save_personalized)
        pose = state.theta[:1, 3:75].clone()
        if t_pose:
            pose[:, 3:] = 0
        return InferenceRun(
            name, state, bg_opt, batch_size, len(views),
            single_frame=len(views) == 1,
            results=dict(src_smpl=state.theta.cpu().numpy(), views=views),
            views=views, pose=pose)

    def forward(self, run: InferenceRun, sink: Sink,
                front_warp: bool = False) -> None:
        """Encode the sources once, then render the rotated source mesh
        view by view, batch by batch into ``sink`` (each batch with its
        target meshes as ``ndc``).

        Args:
            run (InferenceRun): from :meth:`preprocess`.
            sink (callable): receives every batch (see
                :meth:`BaseLWGANInferencer.forward`).
            front_warp (bool): paste the directly warped face pixels.
        """
        views, n, batch_size = run.views, run.num_frames, run.batch_size
        with torch.inference_mode():
            enc = self.encode_sources(run.state, run.background)
            cam, _, betas = split_theta(run.state.theta[:1],
                                        self.body_model.num_betas)
            verts = self.body_model(run.pose, betas)['vertices']  # (1, V, 3)
            centre = (verts.amin(1) + verts.amax(1)) / 2
            for start in self._progress(range(0, n, batch_size),
                                        -(-n // batch_size), 'views'):
                stop = min(start + batch_size, n)
                rot = euler_to_matrix(torch.from_numpy(views[start:stop]),
                                      'xyz', degrees=True).to(verts)
                N = stop - start
                rotated = rotate_points(verts.expand(N, -1, -1), rot,
                                        centre.expand(N, -1))
                ndc = weak_perspective_project(rotated, cam.expand(N, -1))
                out = self.decode(enc, ndc, front_warp)
                sink(dict(img=out['img'], start=start, ndc=ndc))


INFERENCERS.register_module(name='novel_view', module=NovelViewInferencer)

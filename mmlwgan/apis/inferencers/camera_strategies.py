# Copyright (c) mmlwgan contributors. All rights reserved.
"""Camera strategies of motion imitation (the release's ``cam_strategy``).

The target of frame t is the source's shape in the reference's pose t, seen
through a camera chosen by the strategy (weak perspective ``[s, tx, ty]``,
``2D = s * (XY + t)``):

* ``'smooth'`` (default): keep the source camera and shift it by the
  reference's displacement from its first frame:
  ``cam_t = [s_src, t_src + (t_ref_t - t_ref_0)]``. The person stays where
  and as large as in the source image, and moves the way the reference
  person moves. (Exactly the release's rule: the translation difference is
  added as is.)
* ``'source'``: the source camera for every frame (the person does not move
  in the image).
* ``'copy'``: the reference's own camera (self-imitation evaluation: the
  result overlays the reference frame).
"""
from typing import Optional

import numpy as np

__all__ = ['CAM_STRATEGIES', 'transfer_cams', 'compose_target_thetas']

CAM_STRATEGIES = ('smooth', 'source', 'copy')


def _check(strategy: str) -> None:
    if strategy not in CAM_STRATEGIES:
        raise ValueError(f'unknown cam_strategy {strategy!r}; choose one of '
                         f'{CAM_STRATEGIES}')


def transfer_cams(src_cam: np.ndarray,
                  ref_cams: np.ndarray,
                  strategy: str = 'smooth',
                  first_ref_cam: Optional[np.ndarray] = None) -> np.ndarray:
    """Target cameras for reference frames.

    Args:
        src_cam (np.ndarray): (3,) source camera.
        ref_cams (np.ndarray): (N, 3) reference cameras (a chunk of the
            sequence is fine: give ``first_ref_cam``).
        strategy (str): ``'smooth'``, ``'source'`` or ``'copy'``.
        first_ref_cam (np.ndarray, optional): (3,) camera of the reference's
            FIRST frame (for ``'smooth'``); defaults to ``ref_cams[0]``.

    Returns:
        np.ndarray: (N, 3) float32 cameras.
    """
    _check(strategy)
    src_cam = np.asarray(src_cam, dtype=np.float32).reshape(3)
    ref_cams = np.asarray(ref_cams, dtype=np.float32).reshape(-1, 3)
    n = ref_cams.shape[0]
    if strategy == 'copy':
        return ref_cams.copy()
    cams = np.repeat(src_cam[None], n, axis=0)
    if strategy == 'smooth':
        first = ref_cams[0] if first_ref_cam is None else np.asarray(
            first_ref_cam, dtype=np.float32).reshape(3)
        cams[:, 1:] += ref_cams[:, 1:] - first[1:]
    return cams


def compose_target_thetas(src_theta: np.ndarray,
                          ref_thetas: np.ndarray,
                          strategy: str = 'smooth',
                          first_ref_cam: Optional[np.ndarray] = None
                          ) -> np.ndarray:
    """Motion-imitation targets: source shape + reference pose + camera.

    Args:
        src_theta (np.ndarray): (85,) theta of the (main) source.
        ref_thetas (np.ndarray): (N, 85) reference thetas.
        strategy (str): camera strategy, see the module docstring.
        first_ref_cam (np.ndarray, optional): see :func:`transfer_cams`.

    Returns:
        np.ndarray: (N, 85) float32 thetas ``[cam, ref pose, src shape]``.
    """
    src_theta = np.asarray(src_theta, dtype=np.float32).reshape(-1)
    ref_thetas = np.asarray(ref_thetas, dtype=np.float32)
    if ref_thetas.ndim == 1:
        ref_thetas = ref_thetas[None]
    if ref_thetas.shape[1] != src_theta.shape[0]:
        raise ValueError(f'source theta has {src_theta.shape[0]} values, '
                         f'reference thetas {ref_thetas.shape[1]}')
    n = ref_thetas.shape[0]
    cams = transfer_cams(src_theta[:3], ref_thetas[:, :3], strategy,
                         first_ref_cam)
    shape = np.repeat(src_theta[None, 75:], n, axis=0)
    return np.concatenate([cams, ref_thetas[:, 3:75], shape],
                          axis=1).astype(np.float32)

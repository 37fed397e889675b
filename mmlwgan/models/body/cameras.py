# Copyright (c) mmlwgan contributors. All rights reserved.
"""Camera projections and the image coordinate convention of mmlwgan.

Coordinate convention (used by the whole project):

* **NDC** (normalised device coordinates) match
  ``F.grid_sample(..., align_corners=False)``: ``x = -1`` is the LEFT edge of
  the image and ``x = +1`` the right edge, ``y = -1`` is the TOP edge and
  ``y = +1`` the bottom edge (y points down, like image rows). The centre of
  pixel column ``i`` of an image ``W`` pixels wide is at
  ``x = (2 * i + 1) / W - 1``.
* **Pixels** follow OpenCV: the centre of the top-left pixel is ``(0, 0)``,
  the image covers ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``; so
  ``x_ndc = (2 * u + 1) / W - 1``.
* **Depth** ``z``: larger is farther from the camera.
* **Camera space** (perspective): OpenCV's, x right, y down, z forward.
* **Weak perspective** (HMR / the LWGAN release): ``cam = [s, tx, ty]`` and
  ``xy_ndc = s * (XY + [tx, ty])``. HMR's predicted global orientation
  already turns SMPL's y-up body so that +Y points down the image and +Z away
  from the camera, hence no flip is applied here; ``z`` is kept for depth
  ordering (optionally multiplied by ``s``).
* **Crop cameras**: HMR predicts ``[s, tx, ty]`` in the NDC of its square
  person crop (:func:`~mmlwgan.models.body.crop_person`: centre ``(cx, cy)``
  and side ``S`` in pixels of the frame). :func:`crop_cam_to_frame_cam`
  turns it into the camera of the whole frame, :func:`frame_cam_to_crop_cam`
  back.

Crop camera -> frame camera (derivation). A point at crop NDC ``x_c`` lies
at frame pixel ``u = cx + x_c * S / 2``, i.e. at frame NDC
``x_f = (2 u + 1) / W - 1 = (S / W) x_c + o_x`` with
``o_x = (2 cx + 1) / W - 1`` (same for y with ``H``, ``cy``, ``o_y``). With
HMR's ``x_c = s_c (X + t_x)``::

    x_f = s_f (X + t_x + o_x / s_f),   s_f = s_c S / W

so the frame camera is ``[s_c S / W, t_x + o_x / s_f, t_y + o_y / s_f]``. A
weak-perspective camera has a single scale, so this is exact for square
frames (``H == W``) only.
"""
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from mmlwgan.registry import MODELS

ImageSize = Union[int, Sequence[int]]
ArrayLike = Union[np.ndarray, torch.Tensor]

__all__ = [
    'weak_perspective_project', 'weak_perspective_unproject_xy',
    'perspective_project', 'weak_to_perspective_translation',
    'pixel_to_ndc', 'ndc_to_pixel', 'crop_cam_to_frame_cam',
    'frame_cam_to_crop_cam', 'WeakPerspectiveCamera', 'PerspectiveCamera'
]


def _hw(image_size: ImageSize) -> Tuple[int, int]:
    """Return ``(H, W)`` from an int (square) or an ``(H, W)`` pair."""
    if isinstance(image_size, int):
        return image_size, image_size
    h, w = image_size
    return int(h), int(w)


def pixel_to_ndc(uv: torch.Tensor, image_size: ImageSize) -> torch.Tensor:
    """Convert OpenCV pixel coordinates to NDC.

    Args:
        uv (torch.Tensor): Pixel coordinates (..., 2) as (u: column, v: row),
            pixel centres at integers.
        image_size (int | Sequence[int]): ``H`` (square) or ``(H, W)``.

    Returns:
        torch.Tensor: NDC coordinates (..., 2) in the grid_sample
        (align_corners=False) convention, x right, y down.
    """
    h, w = _hw(image_size)
    scale = uv.new_tensor([2.0 / w, 2.0 / h])
    return (uv + 0.5) * scale - 1.0


def ndc_to_pixel(xy: torch.Tensor, image_size: ImageSize) -> torch.Tensor:
    """Convert NDC to OpenCV pixel coordinates (inverse of pixel_to_ndc).

    Args:
        xy (torch.Tensor): NDC coordinates (..., 2).
        image_size (int | Sequence[int]): ``H`` (square) or ``(H, W)``.

    Returns:
        torch.Tensor: Pixel coordinates (..., 2) as (column, row).
    """
    h, w = _hw(image_size)
    scale = xy.new_tensor([w / 2.0, h / 2.0])
    return (xy + 1.0) * scale - 0.5


def weak_perspective_project(points: torch.Tensor,
                             cam: torch.Tensor,
                             scale_z: bool = False) -> torch.Tensor:
    """Weak-perspective projection of HMR and the LWGAN release.

    Args:
        points (torch.Tensor): Points (B, N, 3) in HMR's camera-aligned mesh
            frame (+Y down in the image, +Z away from the camera).
        cam (torch.Tensor): Cameras (B, 3) as ``[s, tx, ty]``.
        scale_z (bool): Multiply z by ``s`` too (keeps the aspect of the
            projected mesh for depth tests). Defaults to False.

    Returns:
        torch.Tensor: (B, N, 3): ``x, y = s * (X + tx), s * (Y + ty)`` in NDC
        (x right, y down, [-1, 1] spans the image) and ``z = Z`` (or
        ``s * Z``), larger is farther.
    """
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f'points should be (B, N, 3), got {points.shape}')
    cam = cam.to(points.dtype).reshape(-1, 3)
    s = cam[:, None, 0:1]
    t = cam[:, None, 1:3]
    xy = s * (points[..., :2] + t)
    z = points[..., 2:3] * s if scale_z else points[..., 2:3]
    return torch.cat([xy, z], dim=-1)


def weak_perspective_unproject_xy(xy: torch.Tensor,
                                  cam: torch.Tensor) -> torch.Tensor:
    """Invert the xy part of :func:`weak_perspective_project`.

    Args:
        xy (torch.Tensor): NDC coordinates (B, N, 2).
        cam (torch.Tensor): Cameras (B, 3) as ``[s, tx, ty]``, ``s != 0``.

    Returns:
        torch.Tensor: Mesh-frame ``XY = xy / s - [tx, ty]`` of shape
        (B, N, 2).
    """
    cam = cam.to(xy.dtype).reshape(-1, 3)
    return xy / cam[:, None, 0:1] - cam[:, None, 1:3]


def _as_focal(focal: Union[float, torch.Tensor], batch: int,
              ref: torch.Tensor) -> torch.Tensor:
    """Return focal lengths (B, 1, 2) in pixels."""
    f = torch.as_tensor(focal, dtype=ref.dtype, device=ref.device)
    if f.dim() == 0:
        f = f.expand(batch, 2)
    elif f.dim() == 1:  # one focal length per sample
        f = f[:, None].expand(batch, 2)
    else:  # (B, 1), (1, 2) or (B, 2)
        f = f.expand(batch, 2)
    return f.reshape(batch, 1, 2)


def perspective_project(points: torch.Tensor,
                        focal: Union[float, torch.Tensor],
                        principal_point: Optional[torch.Tensor] = None,
                        R: Optional[torch.Tensor] = None,
                        T: Optional[torch.Tensor] = None,
                        image_size: ImageSize = 256,
                        eps: float = 1e-6) -> torch.Tensor:
    """Pinhole projection to NDC with OpenCV camera conventions.

    ``X_cam = R @ X + T``; ``u = fx * X_cam / Z_cam + cx``,
    ``v = fy * Y_cam / Z_cam + cy`` (pixels), then converted to NDC with
    :func:`pixel_to_ndc`.

    Args:
        points (torch.Tensor): World points (B, N, 3).
        focal (float | torch.Tensor): Focal length in pixels: scalar, (B,)
            or (B, 1) (one per sample), or (B, 2) / (1, 2) as (fx, fy).
        principal_point (torch.Tensor, optional): (B, 2) or (2,) as (cx, cy)
            in pixels. Defaults to the image centre ``((W - 1) / 2,
            (H - 1) / 2)``.
        R (torch.Tensor, optional): World-to-camera rotations (B, 3, 3) or
            (3, 3). Defaults to identity.
        T (torch.Tensor, optional): World-to-camera translations (B, 3) or
            (3,). Defaults to zero.
        image_size (int | Sequence[int]): ``H`` (square) or ``(H, W)``.
        eps (float): Lower bound of |Z_cam| to avoid division by zero.

    Returns:
        torch.Tensor: (B, N, 3): NDC x (right), NDC y (down) and camera-space
        depth ``Z_cam`` (larger is farther).
    """
    if points.dim() != 3 or points.shape[-1] != 3:
        raise ValueError(f'points should be (B, N, 3), got {points.shape}')
    batch = points.shape[0]
    h, w = _hw(image_size)
    x = points
    if R is not None:
        x = x @ R.to(x).transpose(-1, -2)
    if T is not None:
        x = x + T.to(x).reshape(-1, 1, 3)
    z = x[..., 2:3]
    z_safe = torch.where(z.abs() < eps, torch.full_like(z, eps), z)
    f = _as_focal(focal, batch, x)
    if principal_point is None:
        c = x.new_tensor([(w - 1) / 2.0, (h - 1) / 2.0]).expand(batch, 2)
    else:
        c = principal_point.to(x).reshape(-1, 2).expand(batch, 2)
    uv = f * x[..., :2] / z_safe + c[:, None]
    return torch.cat([pixel_to_ndc(uv, (h, w)), z], dim=-1)


def weak_to_perspective_translation(cam: torch.Tensor, focal: float,
                                    image_size: int) -> torch.Tensor:
    """Camera translation equivalent to a weak-perspective camera.

    With a principal point at the image centre and ``R = I``, the
    perspective projection of points at depth 0 (mesh frame) through
    ``T = [tx, ty, 2 * focal / (s * W)]`` equals the weak-perspective
    projection ``s * (XY + [tx, ty])`` exactly (the SPIN / VIBE conversion).

    Args:
        cam (torch.Tensor): Weak-perspective cameras (B, 3) ``[s, tx, ty]``.
        focal (float): Focal length in pixels.
        image_size (int): Image width ``W`` in pixels (square images).

    Returns:
        torch.Tensor: Translations (B, 3).
    """
    s, tx, ty = cam.unbind(-1)
    tz = 2.0 * focal / (image_size * s)
    return torch.stack([tx, ty, tz], dim=-1)


def _crop_geometry(crop_info: Dict[str, Any],
                   frame_size: Optional[Sequence[int]],
                   strict: bool) -> Tuple[float, float, float]:
    """``(S / W, o_x, o_y)`` of a crop in its frame (see the module
    docstring)."""
    h, w = frame_size if frame_size is not None else crop_info['orig_size']
    h, w = int(h), int(w)
    if strict and h != w:
        raise ValueError(
            f'a weak-perspective camera has one scale for x and y, so crop '
            f'cameras convert exactly only to square frames; got {h}x{w}. '
            'Crop the frame to a square first (see '
            'mmlwgan.preprocessing.crop_square).')
    cx, cy = (float(v) for v in crop_info['center'])
    ratio = float(crop_info['side']) / w
    ox = (2.0 * cx + 1.0) / w - 1.0
    oy = (2.0 * cy + 1.0) / h - 1.0
    return ratio, ox, oy


def _stack_cam(cam: ArrayLike, s: Any, tx: Any, ty: Any) -> ArrayLike:
    if isinstance(cam, torch.Tensor):
        return torch.stack([s, tx, ty], dim=-1)
    return np.stack([s, tx, ty], axis=-1)


def crop_cam_to_frame_cam(cam: ArrayLike,
                          crop_info: Dict[str, Any],
                          frame_size: Optional[Sequence[int]] = None,
                          strict: bool = True) -> ArrayLike:
    """Convert a weak-perspective camera from crop NDC to frame NDC.

    Both cameras are ``[s, tx, ty]`` with ``xy_ndc = s * (XY + [tx, ty])``
    (x right, y down, ``[-1, 1]`` spans the image, grid_sample's
    ``align_corners=False`` convention). The input camera's NDC is that of
    the square crop of :func:`~mmlwgan.models.body.crop_person` (HMR's
    input); the output's is that of the whole frame the crop was cut from.
    See the module docstring for the derivation.

    Args:
        cam (np.ndarray | torch.Tensor): Crop cameras (..., 3) ``[s, tx,
            ty]``, ``s > 0`` (e.g. HMR's).
        crop_info (dict): The crop's info from ``crop_person``: ``center``
            ``(cx, cy)`` and ``side`` in frame pixels (pixel centres at
            integers), ``orig_size`` ``(H, W)`` of the frame. See
            :func:`mmlwgan.preprocessing.map_crop_info` when the frame was
            resized after cropping.
        frame_size (Sequence[int], optional): ``(H, W)`` of the frame.
            Defaults to ``crop_info['orig_size']``.
        strict (bool): Refuse a non-square frame (the conversion is exact
            only for ``H == W``). With False the scale is taken from the
            width: x is exact, y is off by the factor ``W / H``. Defaults to
            True.

    Returns:
        np.ndarray | torch.Tensor: Frame cameras (..., 3) ``[s, tx, ty]``,
        of the type of ``cam``.

    Raises:
        ValueError: ``strict`` and a non-square frame.
    """
    ratio, ox, oy = _crop_geometry(crop_info, frame_size, strict)
    s = cam[..., 0] * ratio
    return _stack_cam(cam, s, cam[..., 1] + ox / s, cam[..., 2] + oy / s)


def frame_cam_to_crop_cam(cam: ArrayLike,
                          crop_info: Dict[str, Any],
                          frame_size: Optional[Sequence[int]] = None,
                          strict: bool = True) -> ArrayLike:
    """Inverse of :func:`crop_cam_to_frame_cam`: frame NDC -> crop NDC.

    Args:
        cam (np.ndarray | torch.Tensor): Frame cameras (..., 3) ``[s, tx,
            ty]``, ``s > 0``.
        crop_info (dict): See :func:`crop_cam_to_frame_cam`.
        frame_size (Sequence[int], optional): ``(H, W)`` of the frame.
        strict (bool): See :func:`crop_cam_to_frame_cam`.

    Returns:
        np.ndarray | torch.Tensor: Crop cameras (..., 3) ``[s, tx, ty]``.
    """
    ratio, ox, oy = _crop_geometry(crop_info, frame_size, strict)
    s_f = cam[..., 0]
    return _stack_cam(cam, s_f / ratio, cam[..., 1] - ox / s_f,
                      cam[..., 2] - oy / s_f)


@MODELS.register_module()
class WeakPerspectiveCamera(nn.Module):
    """Weak-perspective camera ``xy = s * (XY + [tx, ty])`` (HMR / LWGAN).

    Args:
        scale_z (bool): Multiply z by ``s`` as well. Defaults to False.

    Examples:
        >>> camera = WeakPerspectiveCamera()
        >>> verts = torch.zeros(1, 10, 3)
        >>> cam = torch.tensor([[0.9, 0.0, 0.1]])
        >>> camera(verts, cam).shape
        torch.Size([1, 10, 3])
    """

    def __init__(self, scale_z: bool = False) -> None:
        super().__init__()
        self.scale_z = scale_z

    def project(self, points: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
        """See :func:`weak_perspective_project`; returns (B, N, 3)."""
        return weak_perspective_project(points, cam, scale_z=self.scale_z)

    def unproject_xy(self, xy: torch.Tensor,
                     cam: torch.Tensor) -> torch.Tensor:
        """See :func:`weak_perspective_unproject_xy`; returns (B, N, 2)."""
        return weak_perspective_unproject_xy(xy, cam)

    def forward(self, points: torch.Tensor, cam: torch.Tensor) -> torch.Tensor:
        return self.project(points, cam)


@MODELS.register_module()
class PerspectiveCamera(nn.Module):
    """Pinhole camera with OpenCV conventions, projecting to NDC.

    Args:
        focal_length (float | Sequence[float]): Focal length(s) in pixels,
            scalar or (fx, fy). Defaults to 5000 (SPIN's value for 224 px).
        image_size (int | Sequence[int]): ``H`` (square) or ``(H, W)``.
            Defaults to 256.
        principal_point (Sequence[float], optional): (cx, cy) in pixels.
            Defaults to the image centre.
    """

    def __init__(self,
                 focal_length: Union[float, Sequence[float]] = 5000.0,
                 image_size: ImageSize = 256,
                 principal_point: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        self.image_size = _hw(image_size)
        self.register_buffer(
            'focal_length',
            torch.as_tensor(focal_length, dtype=torch.float32).reshape(-1),
            persistent=False)
        pp = None if principal_point is None else torch.as_tensor(
            principal_point, dtype=torch.float32).reshape(2)
        self.register_buffer('principal_point', pp, persistent=False)

    def project(self,
                points: torch.Tensor,
                R: Optional[torch.Tensor] = None,
                T: Optional[torch.Tensor] = None,
                focal: Optional[torch.Tensor] = None,
                principal_point: Optional[torch.Tensor] = None
                ) -> torch.Tensor:
        """Project world points (B, N, 3) to NDC xy + camera depth.

        Per-call ``focal`` / ``principal_point`` override the stored ones.
        See :func:`perspective_project`.
        """
        if focal is None:
            focal = self.focal_length
            focal = focal[0] if focal.numel() == 1 else focal.reshape(1, 2)
        if principal_point is None:
            principal_point = self.principal_point
        return perspective_project(points, focal, principal_point, R, T,
                                   self.image_size)

    def forward(self,
                points: torch.Tensor,
                R: Optional[torch.Tensor] = None,
                T: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.project(points, R, T)

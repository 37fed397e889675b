# Copyright (c) mmlwgan contributors. All rights reserved.
"""Running HMR on images: input preparation, person crops, SMPL outputs.

* :func:`prepare_hmr_inputs`: images (uint8 HWC arrays, or float tensors in
  ``[-1, 1]``) -> the (B, 3, 224, 224) ``[-1, 1]`` batch HMR takes. Like the
  release (``cv2.resize(img, (224, 224))``), a whole image of another size is
  resized to 224 x 224 without keeping its aspect ratio, so give square,
  person-centred images (or use :func:`crop_person`).
* :func:`crop_person`: a square crop centred on a person box, scaled the
  way HMR expects (the box diagonal becomes ``diag_len`` = 150 px of the
  224 px crop, TF-HMR's and the release's ``kp_to_bbox_param`` convention),
  edge-padded where it leaves the image (the release pads with
  ``np.pad(mode='edge')``).
* :func:`theta_to_smpl`: theta -> SMPL vertices and COCO-plus joints, with
  the joints projected by :func:`~mmlwgan.models.body.cameras.
  weak_perspective_project` (the release's ``batch_orth_proj_idrot``).
* :class:`HMRPredictor`: HMR + body model in one call.

All 2D outputs are NDC of the HMR input (x right, y down, ``[-1, 1]`` spans
the crop, the ``grid_sample(align_corners=False)`` convention);
:func:`crop_to_image_coords` maps them back to pixels of the original image.
"""
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmlwgan.registry import BODY_MODELS, MODELS
from .cameras import weak_perspective_project
from .smpl import split_theta

__all__ = [
    'HMR_INPUT_SIZE', 'HMR_DIAG_LEN', 'prepare_hmr_inputs', 'crop_person',
    'crop_to_image_coords', 'theta_to_smpl', 'HMRPredictor'
]

#: Side of HMR's square input, pixels.
HMR_INPUT_SIZE = 224
#: Length (pixels of the 224 crop) of a person's box diagonal (TF-HMR).
HMR_DIAG_LEN = 150.0

ImageInput = Union[np.ndarray, Tensor, Sequence[np.ndarray]]


def _to_float_nchw(images: ImageInput) -> Tuple[Tensor, bool]:
    """Images -> (float (B, 3, H, W) in [-1, 1], whether input was uint8)."""
    if isinstance(images, (list, tuple)):
        converted = [_to_float_nchw(img)[0] for img in images]
        sizes = {tuple(t.shape[-2:]) for t in converted}
        if len(sizes) > 1:
            # Different sizes: resized one by one by the caller.
            return converted, False  # type: ignore[return-value]
        return torch.cat(converted, dim=0), False
    if isinstance(images, np.ndarray):
        if images.dtype != np.uint8:
            raise TypeError('numpy images should be uint8 RGB (H, W, 3) or '
                            f'(B, H, W, 3), got {images.dtype}')
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, Tensor):
        raise TypeError(f'unsupported image type {type(images).__name__}')
    if images.dtype == torch.uint8:
        if images.dim() == 3:
            images = images[None]
        if images.dim() != 4 or images.shape[-1] != 3:
            raise ValueError('uint8 images should be RGB (H, W, 3) or '
                             f'(B, H, W, 3), got {tuple(images.shape)}')
        out = images.permute(0, 3, 1, 2).float() / 255.0 * 2.0 - 1.0
        return out, True
    if images.dim() == 3:
        images = images[None]
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError('float images should be (B, 3, H, W) or (3, H, W) '
                         f'in [-1, 1], got {tuple(images.shape)}')
    return images.float(), False


def _resize(img: Tensor, size: int) -> Tensor:
    if tuple(img.shape[-2:]) == (size, size):
        return img
    # Bilinear without antialiasing samples like cv2.resize(INTER_LINEAR).
    return F.interpolate(
        img, size=(size, size), mode='bilinear', align_corners=False)


def prepare_hmr_inputs(images: ImageInput,
                       image_size: int = HMR_INPUT_SIZE,
                       device: Optional[Union[str, torch.device]] = None
                       ) -> Tensor:
    """Turn images into HMR's input batch.

    Args:
        images (np.ndarray | Tensor | list): uint8 RGB images (H, W, 3) or
            (B, H, W, 3) (numpy or torch), a list of them, or float tensors
            (B, 3, H, W) / (3, H, W) already in ``[-1, 1]``.
        image_size (int): Output side. Defaults to 224.
        device (str | torch.device, optional): Device of the result.

    Returns:
        Tensor: (B, 3, image_size, image_size) float32 RGB in ``[-1, 1]``;
        images of another size are resized as a whole (bilinear).
    """
    converted, _ = _to_float_nchw(images)
    if isinstance(converted, list):
        out = torch.cat([_resize(t, image_size) for t in converted], dim=0)
    else:
        out = _resize(converted, image_size)
    return out.to(device) if device is not None else out


def crop_person(image: Union[np.ndarray, Tensor],
                bbox: Union[Sequence[float], np.ndarray, Tensor],
                image_size: int = HMR_INPUT_SIZE,
                diag_len: Optional[float] = HMR_DIAG_LEN,
                scale: float = 1.0) -> Tuple[Any, Dict[str, Any]]:
    """Crop a square, person-centred, HMR-scaled patch from an image.

    The crop is centred on the box centre. Its side (in original pixels) is
    ``image_size * |box diagonal| / diag_len`` (HMR's convention: the box
    diagonal covers ``diag_len`` = 150 of the 224 pixels), times ``scale``;
    with ``diag_len=None`` it is the box's longer side times ``scale``.
    Parts outside the image repeat the edge pixels (the release's
    ``np.pad(mode='edge')``). Resampling is bilinear.

    Args:
        image (np.ndarray | Tensor): uint8 RGB (H, W, 3), or a float tensor
            (3, H, W) / (1, 3, H, W) in ``[-1, 1]``.
        bbox (Sequence[float]): ``(x1, y1, x2, y2)`` in pixels (pixel centres
            at integers, OpenCV's convention).
        image_size (int): Side of the crop. Defaults to 224.
        diag_len (float, optional): Pixels of the crop spanned by the box
            diagonal. Defaults to 150.
        scale (float): Extra zoom-out factor of the crop. Defaults to 1.

    Returns:
        tuple: The crop, of the input's kind (uint8 (S, S, 3) array / tensor,
        or float (1, 3, S, S) tensor), and ``crop_info`` (dict with
        ``center`` (cx, cy), ``side`` in original pixels, ``image_size`` and
        ``orig_size`` (H, W)) for :func:`crop_to_image_coords`.
    """
    is_numpy = isinstance(image, np.ndarray)
    img, was_uint8 = _to_float_nchw(image)
    if img.shape[0] != 1:
        raise ValueError('crop_person takes one image')
    h, w = img.shape[-2:]
    x1, y1, x2, y2 = [float(v) for v in torch.as_tensor(bbox).reshape(-1)[:4]]
    bw, bh = abs(x2 - x1), abs(y2 - y1)
    if diag_len is not None:
        diag = float(np.hypot(bw, bh))
        side = image_size * diag / float(diag_len)
    else:
        side = max(bw, bh)
    side *= float(scale)
    if side <= 0:
        raise ValueError(f'degenerate person box {bbox}')
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0

    # Pixel centres of the crop -> original pixel coords -> NDC of the image.
    k = side / image_size
    centres = (torch.arange(image_size, dtype=torch.float32) + 0.5 -
               image_size / 2.0) * k
    gx = (2.0 * (cx + centres) + 1.0) / w - 1.0
    gy = (2.0 * (cy + centres) + 1.0) / h - 1.0
    grid = torch.stack(torch.meshgrid(gy, gx, indexing='ij')[::-1], dim=-1)
    crop = F.grid_sample(
        img, grid[None].to(img), mode='bilinear', padding_mode='border',
        align_corners=False)
    info = dict(
        center=(cx, cy), side=side, image_size=image_size,
        orig_size=(int(h), int(w)))
    if was_uint8:
        out = ((crop[0].permute(1, 2, 0) + 1.0) * 127.5).round().clamp(
            0, 255).to(torch.uint8)
        return (out.numpy() if is_numpy else out), info
    return crop, info


def crop_to_image_coords(xy: Union[Tensor, np.ndarray],
                         crop_info: Dict[str, Any]) -> Union[Tensor,
                                                             np.ndarray]:
    """Map NDC points of a :func:`crop_person` crop to original pixels.

    Args:
        xy (Tensor | np.ndarray): (..., 2) NDC of the crop (e.g. HMR's
            ``joints2d``).
        crop_info (dict): The info returned by :func:`crop_person`.

    Returns:
        Tensor | np.ndarray: (..., 2) pixel coordinates (column, row) in the
        original image, pixel centres at integers.
    """
    cx, cy = crop_info['center']
    half = crop_info['side'] / 2.0
    out = xy * half
    offset = np.array([cx, cy], dtype=np.float32)
    if isinstance(out, Tensor):
        return out + torch.as_tensor(offset, dtype=out.dtype,
                                     device=out.device)
    return out + offset


def theta_to_smpl(theta: Tensor, body_model: nn.Module,
                  num_betas: int = 10) -> Dict[str, Tensor]:
    """Pose the body from HMR's theta and project its keypoints.

    Args:
        theta (Tensor): (B, 85): camera ``[s, tx, ty]``, pose (72), shape.
        body_model (nn.Module): An :class:`~mmlwgan.models.body.SMPL`.
        num_betas (int): Number of betas in theta. Defaults to 10.

    Returns:
        dict[str, Tensor]: ``theta`` (B, 85), ``cam`` (B, 3), ``pose``
        (B, 72), ``shape`` (B, num_betas), ``vertices`` (B, V, 3),
        ``joints3d`` (B, K, 3) and ``joints2d`` (B, K, 2): the COCO-plus
        joints (K = 19) of the body's extra regressor, or its 24 SMPL joints
        when it has none, projected with ``weak_perspective_project`` (NDC
        of the HMR input).
    """
    cam, pose, shape = split_theta(theta, num_betas)
    out = body_model(pose, shape)
    joints = out.get('keypoints_extra')
    if joints is None:
        joints = out['keypoints']
    joints2d = weak_perspective_project(joints, cam)[..., :2]
    return dict(
        theta=theta, cam=cam, pose=pose, shape=shape,
        vertices=out['vertices'], joints3d=joints, joints2d=joints2d)


class HMRPredictor(nn.Module):
    """HMR plus a body model: images -> SMPL parameters, mesh and joints.

    Args:
        hmr (nn.Module | dict): An :class:`~mmlwgan.models.body.hmr.HMR` or
            its config (built in ``MODELS``).
        body_model (nn.Module | dict | str): An SMPL module, its config
            (built in ``BODY_MODELS``), or an SMPL model path.
        device (str | torch.device, optional): Device to move both to.

    Examples:
        >>> predictor = HMRPredictor(
        ...     dict(type='HMR', pretrained='checkpoints/hmr.pth'),
        ...     'data/smpl/SMPL_NEUTRAL.npz')
        >>> out = predictor(img_rgb_uint8)  # (224, 224, 3), person centred
        >>> out['joints2d'].shape
        torch.Size([1, 19, 2])
    """

    def __init__(self,
                 hmr: Union[nn.Module, dict],
                 body_model: Union[nn.Module, dict, str],
                 device: Optional[Union[str, torch.device]] = None) -> None:
        super().__init__()
        if isinstance(hmr, dict):
            from . import hmr as _hmr  # noqa: F401  (registers HMR)
            hmr = MODELS.build(hmr)
        if isinstance(body_model, str):
            from .smpl import SMPL
            body_model = SMPL(body_model, keypoint_src='smpl')
        elif isinstance(body_model, dict):
            body_model = BODY_MODELS.build(body_model)
        self.hmr = hmr
        self.body_model = body_model
        self.num_betas = getattr(body_model, 'num_betas', 10)
        if device is not None:
            self.to(device)

    @property
    def device(self) -> torch.device:
        for tensor in self.hmr.parameters():
            return tensor.device
        return torch.device('cpu')

    @torch.no_grad()
    def forward(self, images: ImageInput,
                return_all_iters: bool = False) -> Dict[str, Any]:
        """Run HMR and the body model.

        Args:
            images: See :func:`prepare_hmr_inputs`: a person-centred square
                crop (B, 3, 224, 224) in ``[-1, 1]``, or uint8 RGB HWC
                image(s) (resized to 224 as a whole).
            return_all_iters (bool): Also return ``thetas``, the list of every
                regressor iteration's theta. Defaults to False.

        Returns:
            dict: See :func:`theta_to_smpl` (``cam``, ``pose``, ``shape``,
            ``theta``, ``vertices``, ``joints3d``, ``joints2d``).
        """
        inputs = prepare_hmr_inputs(images, device=self.device)
        thetas = self.hmr(inputs)
        out = theta_to_smpl(thetas[-1], self.body_model, self.num_betas)
        if return_all_iters:
            out['thetas'] = thetas
        return out

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Resizing frames to the network's square input, keeping SMPL consistent.

Why nothing needs changing for iPER, and what does for other frames:

- The release resizes every frame to a square (``cv2.resize(image,
  (image_size, image_size))`` in ``ImageTransformer``) and leaves the SMPL
  cameras as they are. The cameras are normalised: ``[s, tx, ty]`` projects
  to ``x, y = s * (X + tx), s * (Y + ty)`` in [-1, 1] across the image, one
  scale ``s`` for both axes. For iPER this is exact because its frames are
  square (1024 x 1024 originals, the 256 x 256 video release); a uniform
  resize of a square image keeps normalised coordinates.
- A single ``s`` means the normalised frame is isotropic, i.e. square. The
  release's preprocessing (``process_hmr_img`` / ``cam_orig2crop_center`` in
  iPERCore) expresses cameras in a square crop padded around the person
  (``N x N``, normalised by ``2 / N``). So for non-square frames the cameras
  (and ``kps.pkl``) are taken to refer to the centred square that contains
  the frame (the frame padded to its longer side), and the right operation
  is ``mode='pad'``: pad to that square, then resize; cameras and keypoints
  stay as they are. Stretching a non-square frame to a square
  (``mode='stretch'``, the release's plain resize) would squash the image
  but not the projected body; ``mode='crop'`` (centre crop to the shorter
  side) rescales the cameras and keypoints by ``long / short``.
"""
import warnings
from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from mmlwgan.registry import TRANSFORMS

_INTERP = dict(
    nearest=cv2.INTER_NEAREST,
    bilinear=cv2.INTER_LINEAR,
    bicubic=cv2.INTER_CUBIC,
    area=cv2.INTER_AREA,
    lanczos=cv2.INTER_LANCZOS4)


def pad_to_square(img: np.ndarray, pad_val: float = 0,
                  padding_mode: str = 'constant'
                  ) -> Tuple[np.ndarray, Tuple[int, int, int, int]]:
    """Pad an (H, W, C) image symmetrically to a square of its longer side.

    Returns:
        tuple: the square image and (top, bottom, left, right) padding.
    """
    h, w = img.shape[:2]
    size = max(h, w)
    top, left = (size - h) // 2, (size - w) // 2
    pad = (top, size - h - top, left, size - w - left)
    if size == h == w:
        return img, pad
    if padding_mode == 'constant':
        out = cv2.copyMakeBorder(img, *pad, cv2.BORDER_CONSTANT,
                                 value=(pad_val, ) * 3)
    elif padding_mode == 'edge':
        out = cv2.copyMakeBorder(img, *pad, cv2.BORDER_REPLICATE)
    elif padding_mode == 'reflect':
        out = cv2.copyMakeBorder(img, *pad, cv2.BORDER_REFLECT_101)
    else:
        raise ValueError(f'unknown padding_mode {padding_mode!r}')
    return out, pad


def center_crop_square(img: np.ndarray) -> Tuple[np.ndarray, float]:
    """Centre-crop an (H, W, C) image to a square of its shorter side.

    Returns:
        tuple: the crop and the factor ``max(H, W) / min(H, W)`` by which
        normalised coordinates (of the padded square) grow.
    """
    h, w = img.shape[:2]
    size = min(h, w)
    top, left = (h - size) // 2, (w - size) // 2
    return img[top:top + size, left:left + size], max(h, w) / size


@TRANSFORMS.register_module()
class ResizeFrames(BaseTransform):
    """Resize ``src_img`` (list) and ``tgt_img`` to ``scale x scale``.

    Args:
        scale (int): output side. Defaults to 256 (the release's).
        mode (str): how a non-square frame becomes square (square frames
            are only resized in every mode, like the release):

            - ``'pad'`` (default): pad to the longer side (centred), then
              resize; SMPL cameras and keypoints are unchanged (they refer to
              that square, see the module docstring).
            - ``'crop'``: centre-crop to the shorter side, then resize; the
              camera scale ``s`` and the keypoints are multiplied by
              ``long / short`` (translations are unchanged: the crop is
              centred).
            - ``'stretch'``: the release's plain resize; warns for
              non-square frames, whose SMPL no longer matches.
        interpolation (str): cv2 interpolation: ``'bilinear'`` (the
            release's ``cv2.resize`` default), ``'area'``, ``'bicubic'``,
            ``'nearest'``, ``'lanczos'``.
        pad_val (float): value of the padding in ``'pad'`` mode.
        padding_mode (str): ``'constant'``, ``'edge'`` or ``'reflect'``.

    Modified keys: ``src_img``, ``tgt_img``, ``img_shape``; ``src_smpl`` /
    ``tgt_smpl`` / ``src_kps`` / ``tgt_kps`` in ``'crop'`` mode. Added:
    ``scale_factor`` ((w, h) of the first source frame), ``resize_mode``.
    """

    def __init__(self,
                 scale: int = 256,
                 mode: str = 'pad',
                 interpolation: str = 'bilinear',
                 pad_val: float = 0,
                 padding_mode: str = 'constant') -> None:
        if isinstance(scale, Sequence):
            if len(scale) != 2 or scale[0] != scale[1]:
                raise ValueError('ResizeFrames makes square frames; give one '
                                 f'int scale, got {scale}')
            scale = scale[0]
        if int(scale) < 1:
            raise ValueError(f'scale must be >= 1, got {scale}')
        if mode not in ('pad', 'crop', 'stretch'):
            raise ValueError("mode should be 'pad', 'crop' or 'stretch', got "
                             f'{mode!r}')
        if interpolation not in _INTERP:
            raise ValueError(f'interpolation should be one of '
                             f'{sorted(_INTERP)}, got {interpolation!r}')
        self.scale = int(scale)
        self.mode = mode
        self.interpolation = interpolation
        self.pad_val = pad_val
        self.padding_mode = padding_mode
        self._warned = False

    def _one(self, img: np.ndarray) -> Tuple[np.ndarray, float]:
        """Resize one frame; return it and the factor applied to normalised
        coordinates (1 unless cropped)."""
        h, w = img.shape[:2]
        factor = 1.0
        if h != w:
            if self.mode == 'pad':
                img, _ = pad_to_square(img, self.pad_val, self.padding_mode)
            elif self.mode == 'crop':
                img, factor = center_crop_square(img)
            elif not self._warned:
                warnings.warn(
                    f'ResizeFrames(mode="stretch") on a {w}x{h} frame: the '
                    'SMPL cameras no longer match the image; use '
                    'mode="pad" or "crop"')
                self._warned = True
        if img.shape[0] != self.scale or img.shape[1] != self.scale:
            img = cv2.resize(img, (self.scale, self.scale),
                             interpolation=_INTERP[self.interpolation])
        return img, factor

    @staticmethod
    def _rescale(results: dict, smpl_key: str, kps_key: str,
                 factors: np.ndarray) -> None:
        """Multiply cameras' ``s`` and keypoints by ``factors``."""
        if np.all(factors == 1.0):
            return
        if smpl_key in results:
            smpl = np.array(results[smpl_key], dtype=np.float32, copy=True)
            if smpl.ndim == 1:
                smpl[0] *= factors[0]
            else:
                smpl[:, 0] *= factors
            results[smpl_key] = smpl
        if kps_key in results and results[kps_key] is not None:
            kps = np.array(results[kps_key], dtype=np.float32, copy=True)
            if kps.ndim == 2:
                kps *= factors[0]
            else:
                kps *= factors[:, None, None]
            results[kps_key] = kps

    def transform(self, results: dict) -> dict:
        src, factors = [], []
        first_shape = results['src_img'][0].shape[:2]
        for img in results['src_img']:
            out, f = self._one(img)
            src.append(out)
            factors.append(f)
        results['src_img'] = src
        self._rescale(results, 'src_smpl', 'src_kps',
                      np.asarray(factors, dtype=np.float32))
        if results.get('tgt_img') is not None:
            results['tgt_img'], f = self._one(results['tgt_img'])
            self._rescale(results, 'tgt_smpl', 'tgt_kps',
                          np.asarray([f], dtype=np.float32))
        h, w = first_shape
        results['img_shape'] = (self.scale, self.scale)
        results['scale_factor'] = (self.scale / w, self.scale / h)
        results['resize_mode'] = self.mode
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'mode={self.mode!r}, interpolation={self.interpolation!r})')

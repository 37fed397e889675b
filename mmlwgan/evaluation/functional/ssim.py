# Copyright (c) mmlwgan contributors. All rights reserved.
"""Structural similarity (SSIM), as the Liquid Warping GAN release measured it.

The release (``his_evaluators``) called
``skimage.metrics.structural_similarity(pred, ref, multichannel=True)`` on
float32 images in [-1, 1]: skimage's defaults, i.e. a 7 x 7 uniform window,
the sample covariance (``N / (N - 1)``), ``K1 = 0.01``, ``K2 = 0.03``, the
data range inferred from the float dtype (``1 - (-1) = 2``), SSIM computed
per channel and averaged, the mean taken over the image with a border of
``(win_size - 1) // 2`` pixels cropped off. :func:`ssim` reproduces this
without skimage (scipy's ``ndimage`` filters, float64). The variant of Wang
et al. (2004) is ``gaussian_weights=True, sigma=1.5,
use_sample_covariance=False`` (an 11 x 11 Gaussian window).

Image conventions shared by :func:`ssim` and :func:`~.psnr.psnr`:

- ``numpy.ndarray``: (H, W, C) or (H, W). ``uint8`` images have a data range
  of 255; float images are taken to be in [-1, 1] (data range 2), like the
  release's, unless ``data_range`` is given.
- ``torch.Tensor``: (C, H, W) or (1, C, H, W), the model's layout; float
  tensors in [-1, 1] (data range 2), ``uint8`` tensors in [0, 255].

SSIM is not invariant to a shift of the values (the luminance term
``2 mu_x mu_y + C1``): the same images give slightly different values on the
[0, 255] and on the [-1, 1] scale. The release's numbers are on [-1, 1], and
so are mmlwgan's metrics.
"""
from typing import Optional, Tuple, Union

import numpy as np
import torch
from scipy import ndimage

ImageLike = Union[np.ndarray, torch.Tensor]


def to_hwc_numpy(img: ImageLike) -> Tuple[np.ndarray, float]:
    """Convert an image to a float64 (H, W, C) / (H, W) array.

    Args:
        img (np.ndarray | torch.Tensor): see the module docstring for the
            accepted layouts.

    Returns:
        tuple: the float64 array and the default data range of the input
        (255 for ``uint8``, 2 for floats in [-1, 1]).
    """
    if isinstance(img, torch.Tensor):
        t = img.detach()
        if t.dim() == 4:
            if t.shape[0] != 1:
                raise ValueError('Expected a single image (C, H, W) or '
                                 f'(1, C, H, W), got {tuple(t.shape)}.')
            t = t[0]
        if t.dim() == 3:
            t = t.permute(1, 2, 0)
        elif t.dim() != 2:
            raise ValueError(
                f'Expected a (C, H, W) tensor, got {tuple(t.shape)}.')
        default_range = 255. if t.dtype == torch.uint8 else 2.
        return t.cpu().double().numpy(), default_range
    arr = np.asarray(img)
    if arr.ndim not in (2, 3):
        raise ValueError(
            f'Expected an (H, W, C) or (H, W) array, got {arr.shape}.')
    default_range = 255. if arr.dtype == np.uint8 else 2.
    return arr.astype(np.float64), default_range


def image_pair(img1: ImageLike, img2: ImageLike,
               data_range: Optional[float] = None
               ) -> Tuple[np.ndarray, np.ndarray, float]:
    """Two images of one shape as float64 arrays (:func:`to_hwc_numpy`),
    and the data range: ``data_range`` when given, else the inputs' own
    default (they must agree).

    Raises:
        ValueError: the shapes differ, or no ``data_range`` is given for a
            uint8 and a float image.
    """
    x, range1 = to_hwc_numpy(img1)
    y, range2 = to_hwc_numpy(img2)
    if x.shape != y.shape:
        raise ValueError(f'Images differ in shape: {x.shape} vs {y.shape}.')
    if data_range is None:
        if range1 != range2:
            raise ValueError('Cannot infer data_range from a uint8 and a '
                             'float image; give data_range.')
        data_range = range1
    return x, y, data_range


def _ssim_2d(x: np.ndarray, y: np.ndarray, data_range: float, win_size: int,
             gaussian_weights: bool, sigma: float,
             use_sample_covariance: bool, K1: float, K2: float) -> float:
    """Mean SSIM of two 2-D float64 arrays (skimage's algorithm)."""
    if gaussian_weights:
        def filt(a):
            return ndimage.gaussian_filter(
                a, sigma=sigma, truncate=3.5, mode='reflect')
    else:
        def filt(a):
            return ndimage.uniform_filter(a, size=win_size)

    num_px = win_size**x.ndim
    cov_norm = num_px / (num_px - 1) if use_sample_covariance else 1.0
    ux, uy = filt(x), filt(y)
    uxx, uyy, uxy = filt(x * x), filt(y * y), filt(x * y)
    vx = cov_norm * (uxx - ux * ux)
    vy = cov_norm * (uyy - uy * uy)
    vxy = cov_norm * (uxy - ux * uy)
    c1 = (K1 * data_range)**2
    c2 = (K2 * data_range)**2
    a1, a2 = 2 * ux * uy + c1, 2 * vxy + c2
    b1, b2 = ux**2 + uy**2 + c1, vx + vy + c2
    s = (a1 * a2) / (b1 * b2)
    pad = (win_size - 1) // 2
    return float(s[pad:s.shape[0] - pad, pad:s.shape[1] - pad].mean())


def ssim(img1: ImageLike,
         img2: ImageLike,
         data_range: Optional[float] = None,
         multichannel: bool = True,
         win_size: Optional[int] = None,
         gaussian_weights: bool = False,
         sigma: float = 1.5,
         use_sample_covariance: bool = True,
         K1: float = 0.01,
         K2: float = 0.03) -> float:
    """Mean structural similarity of two images.

    The defaults are those of the release (skimage's
    ``structural_similarity(..., multichannel=True)``); see the module
    docstring for the accepted image layouts.

    Args:
        img1, img2 (np.ndarray | torch.Tensor): the images, same shape.
        data_range (float, optional): ``max - min`` of the value range.
            Defaults to 255 for ``uint8`` inputs and 2 for floats ([-1, 1]).
        multichannel (bool): Compute SSIM per channel and average (the
            release's setting). If False the images must have one channel.
        win_size (int, optional): Side of the window. Defaults to 7, or
            ``2 * int(3.5 * sigma + 0.5) + 1`` (11 for sigma 1.5) with
            ``gaussian_weights``.
        gaussian_weights (bool): Gaussian instead of uniform window.
        sigma (float): Standard deviation of the Gaussian window.
        use_sample_covariance (bool): Normalise the (co)variances by
            ``N - 1`` instead of ``N``.
        K1, K2 (float): The SSIM constants.

    Returns:
        float: the mean SSIM (1 for identical images).
    """
    x, y, data_range = image_pair(img1, img2, data_range)
    if gaussian_weights:
        default_win = 2 * int(3.5 * sigma + 0.5) + 1
        if win_size is not None and win_size != default_win:
            raise ValueError('With gaussian_weights the window size follows '
                             f'sigma ({default_win} for sigma={sigma}).')
        win_size = default_win
    elif win_size is None:
        win_size = 7
    if win_size % 2 != 1 or win_size < 3:
        raise ValueError(f'win_size must be odd and >= 3, got {win_size}.')
    if min(x.shape[:2]) < win_size:
        raise ValueError(f'Images of size {x.shape[:2]} are smaller than the '
                         f'{win_size} x {win_size} SSIM window.')

    if x.ndim == 2:
        x, y = x[..., None], y[..., None]
    if not multichannel and x.shape[2] != 1:
        raise ValueError('multichannel=False needs single-channel images, '
                         f'got {x.shape[2]} channels.')
    scores = [
        _ssim_2d(x[..., c], y[..., c], float(data_range), win_size,
                 gaussian_weights, sigma, use_sample_covariance, K1, K2)
        for c in range(x.shape[2])
    ]
    return float(np.mean(scores))

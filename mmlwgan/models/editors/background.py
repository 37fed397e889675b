# Copyright (c) mmlwgan contributors. All rights reserved.
"""The background a synthesized person is composed over.

Three choices, named by the inferencers' ``background`` option:

- ``'generated'``: G_BG's output for the whole picture (the paper's way);
- ``'original'``: the source's own pixels where its body is not, G_BG's
  inside the hole the body leaves;
- ``'inpainted'``: the source's own pixels, and the hole filled by OpenCV's
  Telea inpainting (``cv2.inpaint``) instead of G_BG. No network, no
  download; what iPERCore does by default with an inpainting model
  (``bg_replace``), and what a weak or small G_BG cannot match: its fill of
  a large hole shows as a coloured halo around the new pose. The hole is
  the source's silhouette grown by :func:`inpaint_kernel` pixels, much
  smaller than G_BG's input hole (``bg_kernel``, 15 px).

Measured with ``tools/analysis_tools/eval_backgrounds.py`` (bundled 64 px
model, held-out synthetic self-imitation, every 8th frame): SSIM / PSNR
0.290 / 16.6 dB ``'generated'``, 0.551 / 18.4 ``'original'``, 0.794 / 22.7
``'inpainted'`` (copy-source 0.752 / 20.3, warp-only 0.812 / 22.6); a hole
grown by 5 or 7 px instead of 3 gave 0.761 and 0.730, on the variant with
real-world error too (0.712, 0.702, 0.681).
"""
from typing import Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

__all__ = ['BACKGROUNDS', 'keep_known_pixels', 'inpaint_hole',
           'inpaint_kernel']

#: the named background choices (an image tensor is the fourth)
BACKGROUNDS: Sequence[str] = ('generated', 'original', 'inpainted')


def keep_known_pixels(img: Tensor, fill: Tensor, keep: Tensor) -> Tensor:
    """``img`` where ``keep`` is 1, ``fill`` where it is 0.

    Args:
        img (Tensor): (B, C, H, W) the known picture.
        fill (Tensor): (B, C, H, W) what goes into the hole.
        keep (Tensor): (B, 1, H, W) or (B, H, W) weight in [0, 1], 1 where
            ``img`` is known.

    Returns:
        Tensor: (B, C, H, W).
    """
    if keep.dim() == 3:
        keep = keep[:, None]
    return img * keep + fill * (1 - keep)


def inpaint_kernel(size: int) -> int:
    """The box size (odd, pixels) by which ``'inpainted'`` grows the
    source's silhouette into the hole it fills: 3 at 64 px, scaled with the
    image (5 at 128 px, 9 at 256 px).

    Args:
        size (int): image width in pixels.
    """
    return 2 * max(1, round(size / 64)) + 1


def inpaint_hole(img: Tensor, keep: Tensor, radius: float = 5.0) -> Tensor:
    """Fill the hole of ``img`` (where ``keep`` < 0.5) from its known pixels
    with OpenCV's Telea inpainting; known pixels come back unchanged.

    Args:
        img (Tensor): (B, 3, H, W) images in [-1, 1].
        keep (Tensor): (B, 1, H, W) or (B, H, W), 1 where the pixel is known
            (background), 0 in the hole (the body's dilated silhouette).
        radius (float): neighbourhood of each inpainted pixel, in pixels.

    Returns:
        Tensor: (B, 3, H, W) in [-1, 1], same device and dtype as ``img``.
    """
    if keep.dim() == 3:
        keep = keep[:, None]
    if img.dim() != 4 or img.shape[1] != 3 or keep.shape[-2:] != \
            img.shape[-2:]:
        raise ValueError('inpaint_hole expects (B, 3, H, W) images and a '
                         f'(B, 1, H, W) mask, got {tuple(img.shape)} and '
                         f'{tuple(keep.shape)}')
    rgb = ((img.detach().float().clamp(-1, 1) + 1) * 127.5).round()
    rgb = rgb.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    holes = (keep.detach()[:, 0] < 0.5).cpu().numpy().astype(np.uint8)
    filled = []
    for image, hole in zip(rgb, holes):
        if hole.all():  # nothing known: nothing to inpaint from
            raise ValueError('inpaint_hole: the whole picture is hole')
        filled.append(cv2.inpaint(np.ascontiguousarray(image), hole,
                                  float(radius), cv2.INPAINT_TELEA))
    out = torch.from_numpy(np.stack(filled)).permute(0, 3, 1, 2)
    out = out.to(img.device, torch.float32) / 127.5 - 1
    # known pixels exactly as given (not through the uint8 round trip)
    return keep_known_pixels(img.float(), out, keep.float()).to(img.dtype)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Binary-mask morphology and the masks the Liquid Warping GAN uses.

Masks are float tensors (B, 1, H, W) with values in {0, 1}. A *background*
mask is 1 where there is no body. The release erodes and dilates with a square
box kernel; here erosion and dilation are min/max pooling, so that image
borders neither grow nor shrink the mask (pooling pads with -inf).
"""
from typing import Dict

import torch.nn.functional as F
from torch import Tensor


def _check_kernel(kernel_size: int) -> None:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(
            f'kernel_size must be a positive odd integer, got {kernel_size}')


def dilate(mask: Tensor, kernel_size: int) -> Tensor:
    """Dilate a (B, 1, H, W) {0,1} mask with a ``kernel_size`` box."""
    _check_kernel(kernel_size)
    if kernel_size == 1:
        return mask
    return F.max_pool2d(mask, kernel_size, stride=1, padding=kernel_size // 2)


def erode(mask: Tensor, kernel_size: int) -> Tensor:
    """Erode a (B, 1, H, W) {0,1} mask with a ``kernel_size`` box."""
    _check_kernel(kernel_size)
    if kernel_size == 1:
        return mask
    return -F.max_pool2d(-mask, kernel_size, stride=1,
                         padding=kernel_size // 2)


def morph(mask: Tensor, kernel_size: int, mode: str = 'erode') -> Tensor:
    """Erode or dilate, as the release's ``morph(mask, ks, mode)``."""
    if mode == 'erode':
        return erode(mask, kernel_size)
    if mode == 'dilate':
        return dilate(mask, kernel_size)
    raise ValueError(f"mode must be 'erode' or 'dilate', got {mode!r}")


def lwgan_masks(src_body: Tensor,
                tgt_body: Tensor,
                ft_kernel: int = 3,
                bg_kernel: int = 15) -> Dict[str, Tensor]:
    """The release's masks, from rendered body silhouettes.

    Args:
        src_body (Tensor): (B, 1, H, W) source silhouette, 1 on the body.
        tgt_body (Tensor): (B, 1, H, W) target silhouette, 1 on the body.
        ft_kernel (int): box size for the front (identity / attention)
            masks. Defaults to 3.
        bg_kernel (int): box size for the background-inpainting input.
            Defaults to 15.

    Returns:
        dict[str, Tensor]: each (B, 1, H, W) in {0, 1}:

        - ``src_bg_mask``: erode(source background, ft_kernel), the attention
          target of the source stream;
        - ``tgt_bg_mask``: erode(target background, ft_kernel), the attention
          target of the target stream;
        - ``src_fg_mask``: 1 - src_bg_mask, what the source-identity input
          keeps (``src * src_fg_mask``);
        - ``bg_input_mask``: erode(source background, bg_kernel), what the
          background input keeps (``src * bg_input_mask``, the mask being its
          4th channel).
    """
    src_bg = 1.0 - src_body
    tgt_bg = 1.0 - tgt_body
    src_bg_mask = erode(src_bg, ft_kernel)
    return dict(
        src_bg_mask=src_bg_mask,
        tgt_bg_mask=erode(tgt_bg, ft_kernel),
        src_fg_mask=1.0 - src_bg_mask,
        bg_input_mask=erode(src_bg, bg_kernel))

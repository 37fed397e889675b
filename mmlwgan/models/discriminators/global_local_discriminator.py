# Copyright (c) mmlwgan contributors. All rights reserved.
"""Global-local discriminator for background inpainting on scene images."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.registry import MODELS
from .patch_discriminator import PatchDiscriminator


def crop_and_resize(images: Tensor, boxes: Tensor,
                    size: Optional[Tuple[int, int]] = None) -> Tensor:
    """Crop one box per image and resize it (bilinear, align_corners=True).

    Args:
        images (Tensor): (B, C, H, W).
        boxes (Tensor): (B, 4) integer pixel boxes ``(x0, x1, y0, y1)``
            (the release's order), half-open; clipped to the image and
            widened to at least one pixel.
        size (tuple[int, int], optional): output (h, w). Defaults to (H, W).

    Returns:
        Tensor: (B, C, h, w).
    """
    B, _, H, W = images.shape
    size = (H, W) if size is None else tuple(size)
    crops = []
    for i, box in enumerate(boxes.detach().round().long().tolist()):
        x0, x1, y0, y1 = box
        x0, y0 = min(max(x0, 0), W - 1), min(max(y0, 0), H - 1)
        x1, y1 = min(max(x1, x0 + 1), W), min(max(y1, y0 + 1), H)
        crop = images[i:i + 1, :, y0:y1, x0:x1]
        crops.append(
            F.interpolate(crop, size=size, mode='bilinear',
                          align_corners=True))
    return torch.cat(crops, dim=0)


@MODELS.register_module()
class GlobalLocalDiscriminator(BaseModule):
    """Two PatchGANs: a global one on the background, a local one on the body.

    As in the release's augmented trainer: the global branch scores the
    (inpainted) background concatenated with its mask (``global_channels``
    = 3 + 1); the local branch scores the body crop of the synthesised
    image concatenated with its cond map, resized to the full image size.

    Args:
        global_channels (int): global branch input channels. Defaults to 4.
        local_channels (int): local branch input channels. Defaults to 6.
        base_channels (int): ndf of both branches. Defaults to 64.
        num_layers (int): stride-2 convs of both branches. Defaults to 4.
        local_size (tuple[int, int], optional): size the body crops are
            resized to. Defaults to the local input's size.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 global_channels: int = 4,
                 local_channels: int = 6,
                 base_channels: int = 64,
                 num_layers: int = 4,
                 local_size: Optional[Tuple[int, int]] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.global_model = PatchDiscriminator(global_channels,
                                               base_channels, num_layers)
        self.local_model = PatchDiscriminator(local_channels, base_channels,
                                              num_layers)
        self.local_size = local_size

    def forward(self, global_x: Tensor, local_x: Tensor,
                body_boxes: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Score the background globally and the body locally.

        Args:
            global_x (Tensor): (B, global_channels, H, W) background in
                [-1, 1] + mask.
            local_x (Tensor): (B, local_channels, H, W) image + cond.
            body_boxes (Tensor, optional): (B, 4) body boxes ``(x0, x1, y0,
                y1)`` in pixels; without them the whole ``local_x`` is
                scored.

        Returns:
            tuple[Tensor, Tensor]: global scores (B, 1, h, w) and local
            scores (B, 1, h', w'). (The release concatenated both along the
            batch for its LSGAN loss.)
        """
        if body_boxes is not None:
            local_x = crop_and_resize(local_x, body_boxes, self.local_size)
        return self.global_model(global_x), self.local_model(local_x)

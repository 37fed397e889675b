# Copyright (c) mmlwgan contributors. All rights reserved.
"""Conditional PatchGAN discriminator of the Liquid Warping GAN."""
from typing import Optional

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.registry import MODELS


def patch_output_size(size: int, num_layers: int = 4) -> int:
    """Side of the score map for an input side ``size``.

    4x4 convs with padding 1: ``num_layers`` of stride 2 (each
    ``floor(s / 2)``), then two of stride 1 (each ``s - 1``).

    Args:
        size (int): input height or width.
        num_layers (int): stride-2 convs. Defaults to 4.

    Returns:
        int: output side (14 for 256 with 4 layers).
    """
    for _ in range(num_layers):
        size = (size + 2 - 4) // 2 + 1
    return size - 2


@MODELS.register_module()
class PatchDiscriminator(BaseModule):
    """PatchGAN as released (pix2pix's ``NLayerDiscriminator`` layout).

    With ``num_layers=4`` and ``base_channels=64`` (the release)::

        model.0   4x4 conv s2  in -> 64, bias      model.1  LeakyReLU(0.2)
        model.2   4x4 conv s2  64 -> 128, bias     model.3  IN, model.4 LReLU
        model.5   4x4 conv s2 128 -> 256, bias     model.6  IN, model.7 LReLU
        model.8   4x4 conv s2 256 -> 512, bias     model.9  IN, model.10 LReLU
        model.11  4x4 conv s1 512 -> 512, bias     model.12 IN, model.13 LReLU
        model.14  4x4 conv s1 512 -> 1, bias

    All paddings are 1; instance norms have no affine parameters; there is
    no sigmoid (LSGAN scores). A 256x256 input gives a 14x14 map.

    Args:
        in_channels (int): image (3) + cond map (3). Defaults to 6.
        base_channels (int): channels of the first conv (ndf). Defaults
            to 64.
        num_layers (int): stride-2 convs (the release's ``n_layers``).
            Defaults to 4.
        max_mult (int): cap of the channel multiplier. Defaults to 8.
        init_cfg (dict, optional): mmengine init config. Convs are
            initialised N(0, 0.02), biases 0, as released.
    """

    def __init__(self,
                 in_channels: int = 6,
                 base_channels: int = 64,
                 num_layers: int = 4,
                 max_mult: int = 8,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers = [
            nn.Conv2d(in_channels, base_channels, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2, inplace=True)
        ]
        mult = 1
        for n in range(1, num_layers + 1):
            prev, mult = mult, min(2**n, max_mult)
            stride = 2 if n < num_layers else 1
            layers += [
                nn.Conv2d(base_channels * prev, base_channels * mult, 4,
                          stride=stride, padding=1),
                nn.InstanceNorm2d(base_channels * mult, affine=False),
                nn.LeakyReLU(0.2, inplace=True)
            ]
        layers.append(
            nn.Conv2d(base_channels * mult, 1, 4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Score patches.

        Args:
            x (Tensor): (B, in_channels, H, W): image in [-1, 1]
                concatenated with its cond map.

        Returns:
            Tensor: (B, 1, h, w) raw scores, h = ``patch_output_size(H)``.
        """
        return self.model(x)

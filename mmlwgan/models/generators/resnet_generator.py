# Copyright (c) mmlwgan contributors. All rights reserved.
"""G_BG: the background inpainting stream of the Liquid Warping GAN."""
from typing import Optional

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.registry import MODELS
from .blocks import ResidualBlock, conv_norm_relu, release_init_


@MODELS.register_module()
class ResNetGenerator(BaseModule):
    """ResNet encoder-decoder generator (G_BG of the ICCV release).

    Layout (all convs bias-free, ``InstanceNorm2d(affine=True)`` + ReLU after
    every conv but the head)::

        7x7 conv (stride 1) -> base
        num_downs x [3x3 conv stride 2]           -> base * 2, 4, 8
        num_blocks x ResidualBlock                 at base * 2**num_downs
        num_downs x [3x3 transposed conv, stride 2, padding 1,
                     output_padding 1]             -> halves the channels
        7x7 conv -> out_channels, tanh

    Everything sits in one flat ``self.model`` ``nn.Sequential`` so that the
    released keys ``bg_model.model.0`` ... ``bg_model.model.27`` keep their
    indices (with the default 3 downs and 6 blocks).

    Args:
        in_channels (int): input channels (4: masked RGB + mask).
            Defaults to 4.
        out_channels (int): output channels. Defaults to 3.
        base_channels (int): channels of the stem. Defaults to 64.
        num_downs (int): stride-2 stages. Defaults to 3.
        num_blocks (int): residual blocks. Defaults to 6.
        init_cfg (dict, optional): mmengine init config (e.g. ``Pretrained``).
            Weights are initialised N(0, 0.02) at construction as released.
    """

    def __init__(self,
                 in_channels: int = 4,
                 out_channels: int = 3,
                 base_channels: int = 64,
                 num_downs: int = 3,
                 num_blocks: int = 6,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        layers = list(conv_norm_relu(in_channels, base_channels, 7, 1, 3))
        ch = base_channels
        for _ in range(num_downs):
            layers += list(conv_norm_relu(ch, ch * 2, 3, 2, 1))
            ch *= 2
        layers += [ResidualBlock(ch) for _ in range(num_blocks)]
        for _ in range(num_downs):
            layers += list(
                conv_norm_relu(ch, ch // 2, 3, 2, 1, transposed=True,
                               output_padding=1))
            ch //= 2
        layers += [
            nn.Conv2d(ch, out_channels, 7, stride=1, padding=3, bias=False),
            nn.Tanh()
        ]
        self.model = nn.Sequential(*layers)
        release_init_(self)

    def forward(self, x: Tensor) -> Tensor:
        """Inpaint the background.

        Args:
            x (Tensor): (B, in_channels, H, W), H and W divisible by
                2**num_downs; RGB in [-1, 1] with the body masked out plus
                the mask.

        Returns:
            Tensor: (B, out_channels, H, W) in [-1, 1].
        """
        return self.model(x)

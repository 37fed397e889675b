# Copyright (c) mmlwgan contributors. All rights reserved.
"""G_SID / G_TSF: the residual U-Net streams of the Liquid Warping GAN."""
from typing import Callable, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.registry import MODELS
from .blocks import ResidualBlock, conv_norm_relu, release_init_

#: ``fuse(index, feature) -> feature``: called at every fusion point.
FuseFn = Callable[[int, Tensor], Tensor]


@MODELS.register_module()
class ResUnetGenerator(BaseModule):
    """Residual U-Net with a colour head and a mask head (G_SID / G_TSF).

    Layout as released (bias-free convs, ``InstanceNorm2d(affine=True)`` +
    ReLU after every conv but the heads)::

        encoders.0 : 7x7 conv stride 1 -> base                (the stem)
        encoders.i : 3x3 conv stride 2 -> base * 2**i,  i = 1..num_downs
        resnets.j  : ResidualBlock at base * 2**num_downs, j = 0..num_blocks-1
        decoders.k : 3x3 transposed conv, stride 2, padding 1,
                     output_padding 1, halves the channels
        skippers.k : 3x3 conv on cat([encoder skip, decoder out]), halves
                     the channels; decoder k takes encoder num_downs-1-k
        img_reg    : 7x7 conv -> out_channels, tanh   (colour, [-1, 1])
        attention_reg : 7x7 conv -> 1, sigmoid        (mask, [0, 1])

    (The release spells the mask head ``attetion_reg``; the converter renames
    it.)

    Fusion points: stage outputs ``encoders.1..num_downs`` then every
    residual block's output, ``num_downs + num_blocks`` points (9 by default),
    indexed in that order. The stem is never fused. Skips carry the fused
    encoder outputs, as in the release.

    Args:
        in_channels (int): input channels (RGB + 3-channel cond = 6).
            Defaults to 6.
        out_channels (int): colour channels. Defaults to 3.
        base_channels (int): stem channels. Defaults to 64.
        num_downs (int): stride-2 stages. Defaults to 3.
        num_blocks (int): residual blocks. Defaults to 6.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 in_channels: int = 6,
                 out_channels: int = 3,
                 base_channels: int = 64,
                 num_downs: int = 3,
                 num_blocks: int = 6,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.num_downs = num_downs
        self.num_blocks = num_blocks

        encoders = [conv_norm_relu(in_channels, base_channels, 7, 1, 3)]
        ch = base_channels
        for _ in range(num_downs):
            encoders.append(conv_norm_relu(ch, ch * 2, 3, 2, 1))
            ch *= 2
        self.encoders = nn.Sequential(*encoders)
        self.resnets = nn.Sequential(
            *[ResidualBlock(ch) for _ in range(num_blocks)])
        decoders, skippers = [], []
        for _ in range(num_downs):
            decoders.append(
                conv_norm_relu(ch, ch // 2, 3, 2, 1, transposed=True,
                               output_padding=1))
            skippers.append(conv_norm_relu(ch, ch // 2, 3, 1, 1))
            ch //= 2
        self.decoders = nn.Sequential(*decoders)
        self.skippers = nn.Sequential(*skippers)
        self.img_reg = nn.Sequential(
            nn.Conv2d(ch, out_channels, 7, stride=1, padding=3, bias=False),
            nn.Tanh())
        self.attention_reg = nn.Sequential(
            nn.Conv2d(ch, 1, 7, stride=1, padding=3, bias=False),
            nn.Sigmoid())
        release_init_(self)

        bottleneck = base_channels * 2**num_downs
        #: channels at each fusion point
        self.fusion_channels: List[int] = [
            base_channels * 2**i for i in range(1, num_downs + 1)
        ] + [bottleneck] * num_blocks
        #: down-sampling factor at each fusion point
        self.fusion_strides: List[int] = [
            2**i for i in range(1, num_downs + 1)
        ] + [2**num_downs] * num_blocks

    @property
    def color_head(self) -> nn.Conv2d:
        """The colour head's convolution (``img_reg.0``, before tanh)."""
        return self.img_reg[0]

    @property
    def mask_head(self) -> nn.Conv2d:
        """The mask head's convolution (``attention_reg.0``, before
        sigmoid)."""
        return self.attention_reg[0]

    @property
    def num_fusion_points(self) -> int:
        """int: ``num_downs + num_blocks``."""
        return self.num_downs + self.num_blocks

    def encode_stages(self,
                      x: Tensor,
                      fuse: Optional[FuseFn] = None) -> List[Tensor]:
        """Run the encoder.

        Args:
            x (Tensor): (B, in_channels, H, W), H and W divisible by
                2**num_downs.
            fuse (callable, optional): ``fuse(i, feat) -> feat`` applied to
                the output of ``encoders[i + 1]`` (fusion points 0 ..
                num_downs - 1). The stem is not fused.

        Returns:
            list[Tensor]: ``num_downs + 1`` (fused) outputs: the stem
            (B, base, H, W) then (B, base * 2**i, H / 2**i, W / 2**i).
        """
        feat = self.encoders[0](x)
        outs = [feat]
        for i in range(1, self.num_downs + 1):
            feat = self.encoders[i](feat)
            if fuse is not None:
                feat = fuse(i - 1, feat)
            outs.append(feat)
        return outs

    def bottleneck(self, x: Tensor, fuse: Optional[FuseFn] = None,
                   features: Optional[List[Tensor]] = None) -> Tensor:
        """Run the residual blocks.

        Args:
            x (Tensor): (B, C, h, w) last encoder output.
            fuse (callable, optional): applied after each block, with fusion
                point indices ``num_downs + j``.
            features (list, optional): if given, each block's (fused) output
                is appended to it.

        Returns:
            Tensor: (B, C, h, w).
        """
        for j, block in enumerate(self.resnets):
            x = block(x)
            if fuse is not None:
                x = fuse(self.num_downs + j, x)
            if features is not None:
                features.append(x)
        return x

    def decode(self, x: Tensor, encoder_outs: List[Tensor]) -> Tensor:
        """U-Net decoder.

        Args:
            x (Tensor): (B, C, h, w) bottleneck output.
            encoder_outs (list[Tensor]): outputs of :meth:`encode_stages`.

        Returns:
            Tensor: (B, base, H, W).
        """
        for k in range(self.num_downs):
            x = self.decoders[k](x)
            skip = encoder_outs[self.num_downs - 1 - k]
            x = self.skippers[k](torch.cat([skip, x], dim=1))
        return x

    def regress(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Heads.

        Args:
            x (Tensor): (B, base, H, W).

        Returns:
            tuple[Tensor, Tensor]: colour (B, out_channels, H, W) in [-1, 1]
            and mask (B, 1, H, W) in [0, 1].
        """
        return self.img_reg(x), self.attention_reg(x)

    def forward(
        self,
        x: Tensor,
        fuse: Optional[FuseFn] = None,
        return_features: bool = False
    ) -> Union[Tuple[Tensor, Tensor], Tuple[Tensor, Tensor, List[Tensor]]]:
        """Full pass, optionally fusing features from another stream.

        Args:
            x (Tensor): (B, in_channels, H, W).
            fuse (callable, optional): ``fuse(i, feat) -> feat`` applied at
                the ``num_fusion_points`` fusion points (see class doc).
            return_features (bool): also return the (fused) features at the
                fusion points. Defaults to False.

        Returns:
            tuple: colour (B, out_channels, H, W) in [-1, 1], mask
            (B, 1, H, W) in [0, 1] and, if ``return_features``, the list of
            ``num_fusion_points`` features.
        """
        enc = self.encode_stages(x, fuse)
        feats = list(enc[1:]) if return_features else None
        y = self.bottleneck(enc[-1], fuse, feats)
        color, mask = self.regress(self.decode(y, enc))
        if return_features:
            return color, mask, feats
        return color, mask

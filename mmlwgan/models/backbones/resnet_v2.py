# Copyright (c) mmlwgan contributors. All rights reserved.
"""Pre-activation ResNet ("ResNet v2") in the layout of HMR's released weights.

HMR (Kanazawa et al., CVPR 2018) was trained in TensorFlow with TF-slim's
``resnet_v2_50``; the Liquid Warping GAN release converted those weights to
PyTorch (``hmr_tf2pt.pth``). This module reproduces that network so the
converted weights load with a plain prefix rename:

* stem: 7x7 stride-2 convolution **with bias** (``conv1``), then a 3x3
  stride-2 max-pool without padding and with ``ceil_mode=True`` (TF's 'SAME'
  pooling, which pads at the end only); no BatchNorm / ReLU in the stem
  (pre-activation: each unit normalises its own input);
* four stages (``layer1`` ... ``layer4``) of pre-activation bottleneck units
  ``BN-ReLU -> 1x1 conv -> BN-ReLU -> 3x3 conv -> BN-ReLU -> 1x1 conv
  (with bias)``; as in TF-slim, a stage's stride sits in its **last** unit
  (strides 2, 2, 2, 1), and the 3x3 convolution carries it;
* the first unit of a stage changes the width and has a projection shortcut
  (1x1 conv **with bias**, applied to the pre-activated input); the other
  units have an identity shortcut, sub-sampled (``x[..., ::s, ::s]``) in the
  strided unit;
* after the last stage a final BatchNorm + ReLU (``post_bn``).

For a 224 x 224 input the last feature map is 2048 x 7 x 7; HMR averages it
(the release's ``avg_pool2d(7)``, a global average at that size).

State-dict names (depth 50): ``conv1.{weight,bias}``,
``layer{i}.{j}.bn{1,2,3}.*``, ``layer{i}.{j}.conv{1,2}.weight``,
``layer{i}.{j}.conv3.{weight,bias}``, ``layer{i}.0.shortcut.0.{weight,bias}``
and ``post_bn.*``: the release's names below its ``resnet.`` prefix.
"""
from typing import Optional, Sequence, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.registry import MODELS

__all__ = ['PreActBottleneck', 'ResNetV2']


class PreActBottleneck(nn.Module):
    """Pre-activation bottleneck unit of TF-slim's ``resnet_v2``.

    Args:
        in_channels (int): Input channels.
        mid_channels (int): Channels of the 1x1 and 3x3 convolutions.
        stride (int): Stride of the 3x3 convolution (and of the shortcut).
            Defaults to 1.
        expansion (int): Output channels are ``mid_channels * expansion``.
            Defaults to 4.
        norm_eps (float): BatchNorm epsilon. Defaults to 1e-5 (TF-slim's
            ``resnet_arg_scope`` value; PyTorch's default).
    """

    def __init__(self,
                 in_channels: int,
                 mid_channels: int,
                 stride: int = 1,
                 expansion: int = 4,
                 norm_eps: float = 1e-5) -> None:
        super().__init__()
        out_channels = mid_channels * expansion
        self.stride = stride
        self.bn1 = nn.BatchNorm2d(in_channels, eps=norm_eps)
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels, eps=norm_eps)
        self.conv2 = nn.Conv2d(
            mid_channels, mid_channels, 3, stride=stride, padding=1,
            bias=False)
        self.bn3 = nn.BatchNorm2d(mid_channels, eps=norm_eps)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=True)
        if in_channels != out_channels:
            # Projection of the pre-activated input, as TF-slim does.
            self.shortcut = nn.Sequential(
                nn.Conv2d(
                    in_channels, out_channels, 1, stride=stride, bias=True))
        else:
            self.shortcut = None

    def forward(self, x: Tensor) -> Tensor:
        preact = F.relu(self.bn1(x))
        if self.shortcut is not None:
            identity = self.shortcut(preact)
        elif self.stride > 1:
            # TF-slim's ``subsample``: a 1x1 max-pool with stride s.
            identity = x[:, :, ::self.stride, ::self.stride]
        else:
            identity = x
        out = F.relu(self.bn2(self.conv1(preact)))
        out = F.relu(self.bn3(self.conv2(out)))
        return self.conv3(out) + identity


@MODELS.register_module()
class ResNetV2(BaseModule):
    """Pre-activation ResNet (TF-slim ``resnet_v2``), HMR's backbone.

    Args:
        depth (int): 50, 101, 152 or 200. Defaults to 50.
        in_channels (int): Input channels. Defaults to 3.
        stem_channels (int): Channels of the 7x7 stem. Defaults to 64.
        base_channels (int): Middle channels of the first stage (doubled per
            stage). Defaults to 64.
        strides (Sequence[int]): Stride of each stage, applied in its last
            unit. Defaults to ``(2, 2, 2, 1)`` (the release).
        out_indices (Sequence[int]): Stages whose outputs are returned.
            The last stage's output gets the final BatchNorm + ReLU
            (``post_bn``); the others are the raw (pre-activation) sums.
            Defaults to ``(3, )``.
        norm_eps (float): BatchNorm epsilon. Defaults to 1e-5.
        init_cfg (dict | list[dict], optional): mmengine initialisation
            config. Defaults to None (PyTorch's default initialisation).

    Attributes:
        feat_dim (int): Channels of the last stage (2048 for depth 50).

    Examples:
        >>> net = ResNetV2(depth=50).eval()
        >>> feats = net(torch.rand(1, 3, 224, 224) * 2 - 1)
        >>> feats[-1].shape
        torch.Size([1, 2048, 7, 7])
    """

    arch_settings = {
        50: (3, 4, 6, 3),
        101: (3, 4, 23, 3),
        152: (3, 8, 36, 3),
        200: (3, 24, 36, 3),
    }
    expansion = 4

    def __init__(self,
                 depth: int = 50,
                 in_channels: int = 3,
                 stem_channels: int = 64,
                 base_channels: int = 64,
                 strides: Sequence[int] = (2, 2, 2, 1),
                 out_indices: Sequence[int] = (3, ),
                 norm_eps: float = 1e-5,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for ResNetV2; choose from '
                           f'{sorted(self.arch_settings)}')
        stage_blocks = self.arch_settings[depth]
        if len(strides) != len(stage_blocks):
            raise ValueError(f'strides should have {len(stage_blocks)} '
                             f'values, got {tuple(strides)}')
        out_indices = tuple(int(i) for i in out_indices)
        if not out_indices or any(i < 0 or i >= len(stage_blocks)
                                  for i in out_indices):
            raise ValueError(f'out_indices should be in [0, '
                             f'{len(stage_blocks)}), got {out_indices}')
        self.depth = depth
        self.out_indices = out_indices
        self.strides = tuple(int(s) for s in strides)

        self.conv1 = nn.Conv2d(
            in_channels, stem_channels, 7, stride=2, padding=3, bias=True)
        in_ch = stem_channels
        mid = base_channels
        self.stage_names = []
        for i, (num_units, stride) in enumerate(zip(stage_blocks,
                                                    self.strides)):
            units = []
            for j in range(num_units):
                unit_stride = stride if j == num_units - 1 else 1
                units.append(
                    PreActBottleneck(
                        in_ch, mid, stride=unit_stride,
                        expansion=self.expansion, norm_eps=norm_eps))
                in_ch = mid * self.expansion
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*units))
            self.stage_names.append(name)
            mid *= 2
        self.feat_dim = in_ch
        self.post_bn = nn.BatchNorm2d(in_ch, eps=norm_eps)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Compute the stage outputs.

        Args:
            x (Tensor): Images (B, 3, H, W); HMR expects 224 x 224 RGB in
                ``[-1, 1]``.

        Returns:
            tuple[Tensor]: The outputs of the stages in ``out_indices``; the
            last stage's (if requested) after ``post_bn`` + ReLU, e.g.
            (B, 2048, 7, 7) for a 224 x 224 input.
        """
        x = self.conv1(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2, ceil_mode=True)
        outs = []
        last = len(self.stage_names) - 1
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(F.relu(self.post_bn(x)) if i == last else x)
        return tuple(outs)

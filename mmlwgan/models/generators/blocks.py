# Copyright (c) mmlwgan contributors. All rights reserved.
"""Building blocks shared by the Liquid Warping GAN generators.

The layouts (module order inside each ``nn.Sequential``, bias-free
convolutions, affine instance norm) follow the ICCV release exactly, so that
the released ``state_dict`` keys map onto ours by a prefix rename only.
"""
from typing import List, Tuple

import torch.nn as nn
from torch import Tensor


class ConvNormReLU(nn.Sequential):
    """``nn.Sequential(conv, norm, ReLU)`` with the layers named: indices
    (hence state-dict keys) stay the release's 0, 1, 2."""

    @property
    def conv(self) -> nn.Module:
        """The ``Conv2d`` / ``ConvTranspose2d``."""
        return self[0]

    @property
    def norm(self) -> nn.Module:
        """The ``InstanceNorm2d``."""
        return self[1]


def conv_norm_relu(in_channels: int,
                   out_channels: int,
                   kernel_size: int,
                   stride: int = 1,
                   padding: int = 0,
                   transposed: bool = False,
                   output_padding: int = 0) -> ConvNormReLU:
    """``Conv2d`` (or ``ConvTranspose2d``) -> ``InstanceNorm2d(affine)`` ->
    ``ReLU``, without conv bias (the norm's bias plays its role).

    Indices in the returned ``nn.Sequential`` are 0 (conv), 1 (norm) and
    2 (ReLU), as in the release (``encoders.i.0.weight``, ``encoders.i.1.*``).

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        kernel_size (int): kernel size.
        stride (int): stride. Defaults to 1.
        padding (int): zero padding. Defaults to 0.
        transposed (bool): use ``ConvTranspose2d``. Defaults to False.
        output_padding (int): ``output_padding`` of the transposed conv.
            Defaults to 0.

    Returns:
        ConvNormReLU: the three layers (``.conv``, ``.norm``).
    """
    if transposed:
        conv = nn.ConvTranspose2d(
            in_channels, out_channels, kernel_size, stride=stride,
            padding=padding, output_padding=output_padding, bias=False)
    else:
        conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride,
            padding=padding, bias=False)
    return ConvNormReLU(conv, nn.InstanceNorm2d(out_channels, affine=True),
                        nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """Residual block of the release: ``x + IN(conv3(ReLU(IN(conv3(x)))))``.

    Convolutions are 3x3, stride 1, padding 1, without bias; both norms are
    ``InstanceNorm2d(affine=True)``; there is no activation after the sum.
    Parameters live in ``self.main`` (indices 0, 1, 3, 4 as released).

    Args:
        channels (int): input and output channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False),
            nn.InstanceNorm2d(channels, affine=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False),
            nn.InstanceNorm2d(channels, affine=True))

    @property
    def convs(self) -> Tuple[nn.Module, nn.Module]:
        """The two convolutions (``main.0``, ``main.3``)."""
        return self.main[0], self.main[3]

    @property
    def norms(self) -> Tuple[nn.Module, nn.Module]:
        """The two instance norms (``main.1``, ``main.4``)."""
        return self.main[1], self.main[4]

    def forward(self, x: Tensor) -> Tensor:
        """Args:
            x (Tensor): (B, C, H, W).

        Returns:
            Tensor: (B, C, H, W).
        """
        return x + self.main(x)


def release_init_(module: nn.Module, std: float = 0.02) -> nn.Module:
    """Initialise weights as the release does (in place).

    Every ``Conv*`` / ``ConvTranspose*`` weight ~ N(0, std), conv biases 0.
    Instance norms keep PyTorch's default (weight 1, bias 0), which is what
    the release's init function (it matches ``BatchNorm2d`` only) leaves them.

    Args:
        module (nn.Module): module to initialise recursively.
        std (float): standard deviation. Defaults to 0.02.

    Returns:
        nn.Module: ``module``.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def stage_channels(base_channels: int, num_downs: int) -> List[int]:
    """Channels after the stem and each down-sampling: base * 2**i.

    Args:
        base_channels (int): channels of the stem.
        num_downs (int): number of stride-2 stages.

    Returns:
        list[int]: ``num_downs + 1`` channel counts.
    """
    return [base_channels * 2**i for i in range(num_downs + 1)]

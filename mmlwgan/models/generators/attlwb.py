# Copyright (c) mmlwgan contributors. All rights reserved.
"""Attentional Liquid Warping Block (AttLWB) of Impersonator++ / iPERCore.

Every source feature is warped to the target; 1x1 convs give keys and values
from the warped source features and a query from the target feature; a
per-pixel softmax over the sources (scaled dot product) mixes the values;
the mixed feature conditions a SPADE layer that modulates the target
feature::

    alpha_s(p) = softmax_s(<q(p), k_s(p)> / sqrt(C_k))
    v(p)       = sum_s alpha_s(p) v_s(p)
    out        = IN(x_t) * (1 + gamma(v)) + beta(v)
"""
import math
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
from torch import Tensor

from mmlwgan.registry import MODELS
from .lwb import warp_sources


class SPADE(nn.Module):
    """Spatially-adaptive denormalisation (Park et al. 2019).

    ``InstanceNorm2d(affine=False)(x) * (1 + gamma(c)) + beta(c)`` with
    gamma, beta from a shared conv + ReLU then one conv each.

    Args:
        norm_channels (int): channels of the normalised input x.
        cond_channels (int): channels of the conditioning map c.
        hidden_channels (int): channels of the shared embedding (the
            reference hard-codes 128). Defaults to 128.
        kernel_size (int): kernel of the three convs. Defaults to 3.
    """

    def __init__(self,
                 norm_channels: int,
                 cond_channels: int,
                 hidden_channels: int = 128,
                 kernel_size: int = 3) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.param_free_norm = nn.InstanceNorm2d(norm_channels, affine=False)
        self.mlp_shared = nn.Sequential(
            nn.Conv2d(cond_channels, hidden_channels, kernel_size,
                      padding=pad), nn.ReLU(inplace=True))
        self.mlp_gamma = nn.Conv2d(hidden_channels, norm_channels,
                                   kernel_size, padding=pad)
        self.mlp_beta = nn.Conv2d(hidden_channels, norm_channels,
                                  kernel_size, padding=pad)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        """Args:
            x (Tensor): (B, norm_channels, h, w).
            cond (Tensor): (B, cond_channels, h, w).

        Returns:
            Tensor: (B, norm_channels, h, w).
        """
        actv = self.mlp_shared(cond)
        gamma, beta = self.mlp_gamma(actv), self.mlp_beta(actv)
        return self.param_free_norm(x) * (1 + gamma) + beta


@MODELS.register_module()
class AttentionalLWB(nn.Module):
    """Attentional LWB: per-pixel attention over warped sources + SPADE.

    Same call signature as
    :class:`~mmlwgan.models.generators.LiquidWarpingBlock`.

    Args:
        in_channels (int): channels of the target feature (query side).
        src_channels (int, optional): channels of the source features.
            Defaults to ``in_channels``.
        key_channels (int, optional): channels of queries, keys and values.
            Defaults to ``in_channels`` (as iPERCore).
        hidden_channels (int): SPADE embedding channels. Defaults to 128.
        spade_kernel_size (int): SPADE kernel size. Defaults to 3.
        align_corners (bool): warping convention (see LiquidWarpingBlock).
            Defaults to True.
        strict_background (bool): see LiquidWarpingBlock. Defaults to False.
    """

    #: the generator passes ``in_channels`` / ``src_channels`` when building
    needs_channels = True

    def __init__(self,
                 in_channels: int,
                 src_channels: Optional[int] = None,
                 key_channels: Optional[int] = None,
                 hidden_channels: int = 128,
                 spade_kernel_size: int = 3,
                 align_corners: bool = True,
                 strict_background: bool = False) -> None:
        super().__init__()
        src_channels = src_channels or in_channels
        key_channels = key_channels or in_channels
        self.align_corners = align_corners
        self.strict_background = strict_background
        self.key_channels = key_channels
        self.query = nn.Conv2d(in_channels, key_channels, 1)
        self.key = nn.Conv2d(src_channels, key_channels, 1)
        self.value = nn.Conv2d(src_channels, key_channels, 1)
        self.spade = SPADE(in_channels, key_channels, hidden_channels,
                           spade_kernel_size)

    def attention(self, tgt_feat: Tensor,
                  warped: Tensor) -> Tuple[Tensor, Tensor]:
        """Per-pixel attention over sources.

        Args:
            tgt_feat (Tensor): (B, C, h, w).
            warped (Tensor): (B, S, C_s, h, w) warped source features.

        Returns:
            tuple[Tensor, Tensor]: the mixed value (B, C_k, h, w) and the
            weights alpha (B, S, h, w), summing to 1 over S at every pixel.
        """
        B, S = warped.shape[:2]
        flat = warped.flatten(0, 1)
        k = self.key(flat).view(B, S, self.key_channels, *flat.shape[-2:])
        v = self.value(flat).view_as(k)
        q = self.query(tgt_feat).unsqueeze(1)            # (B, 1, Ck, h, w)
        logits = (q * k).sum(dim=2) / math.sqrt(self.key_channels)
        alpha = torch.softmax(logits, dim=1)             # (B, S, h, w)
        return (alpha.unsqueeze(2) * v).sum(dim=1), alpha

    def forward(self,
                tgt_feat: Tensor,
                src_feats: Tensor,
                flows: Tensor,
                return_attention: bool = False
                ) -> Union[Tensor, Tuple[Tensor, Tensor]]:
        """Fuse the sources into the target feature.

        Args:
            tgt_feat (Tensor): (B, C, h, w).
            src_feats (Tensor): (B, S, C_s, h, w) or (B, C_s, h, w).
            flows (Tensor): (B, S, H, W, 2) or (B, H, W, 2).
            return_attention (bool): also return alpha (B, S, h, w).

        Returns:
            Tensor: (B, C, h, w) modulated target feature (and alpha).
        """
        warped = warp_sources(src_feats, flows, tgt_feat.shape[-2:],
                              self.align_corners, self.strict_background)
        mixed, alpha = self.attention(tgt_feat, warped)
        out = self.spade(tgt_feat, mixed)
        return (out, alpha) if return_attention else out

# Copyright (c) mmlwgan contributors. All rights reserved.
"""The Liquid Warping Block (LWB) and its parameter-free variants.

A fusion block takes a target-stream feature, the source-stream features at
the same depth and the transformation flows, and returns the fused target
feature::

    LWB:  X_t' = X_t + sum_s warp(X_s, resize(T_s))

Flows are ``grid_sample`` grids: (B, H, W, 2), x first, in [-1, 1], in the
convention named by ``align_corners``; background pixels hold an
out-of-range value (-2), so sampling them gives 0.

Background and resizing
-----------------------
Flows are given at image resolution and resized bilinearly to each feature's
resolution, exactly as the release does (``F.interpolate(mode='bilinear',
align_corners=True)`` for the released weights). Inside a pure background
region the resized flow stays -2 and contributes exactly 0. On the body
outline the interpolation blends -2 with body coordinates, giving in-range
values that sample the source at a spurious location; the release keeps
those samples (the network was trained with them), and so do we by default.
``strict_background=True`` drops them instead: the background indicator is
resized with the same interpolation and any feature pixel that mixed in
background gets no contribution (for newly trained models only).
"""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmlwgan.models.flows.flow import resize_flow
from mmlwgan.registry import MODELS

#: flow components below this value are treated as background
_BG_THRESHOLD = -1.5


def as_multi_source(src_feats: Tensor,
                    flows: Tensor) -> Tuple[Tensor, Tensor]:
    """Bring source features and flows to the multi-source layout.

    Args:
        src_feats (Tensor): (B, S, C, h, w) or (B, C, h, w) (S = 1).
        flows (Tensor): (B, S, H, W, 2) or (B, H, W, 2) (S = 1).

    Returns:
        tuple[Tensor, Tensor]: (B, S, C, h, w) and (B, S, H, W, 2).
    """
    if src_feats.dim() == 4:
        src_feats = src_feats.unsqueeze(1)
    if flows.dim() == 4:
        flows = flows.unsqueeze(1)
    if src_feats.dim() != 5 or flows.dim() != 5 or flows.shape[-1] != 2:
        raise ValueError(
            'expected src_feats (B, S, C, h, w) or (B, C, h, w) and flows '
            f'(B, S, H, W, 2) or (B, H, W, 2), got {tuple(src_feats.shape)} '
            f'and {tuple(flows.shape)}')
    if src_feats.shape[:2] != flows.shape[:2]:
        raise ValueError(
            f'batch/source sizes differ: src_feats {tuple(src_feats.shape)} '
            f'vs flows {tuple(flows.shape)}')
    return src_feats, flows


def warp_sources(src_feats: Tensor,
                 flows: Tensor,
                 size: Optional[Tuple[int, int]] = None,
                 align_corners: bool = True,
                 strict_background: bool = False) -> Tensor:
    """Warp every source feature map with its flow.

    Args:
        src_feats (Tensor): (B, S, C, h, w) or (B, C, h, w).
        flows (Tensor): (B, S, H, W, 2) or (B, H, W, 2); resized bilinearly
            (with ``align_corners``) to ``size`` when its size differs.
        size (tuple[int, int], optional): output (h', w'). Defaults to the
            source features' (h, w).
        align_corners (bool): ``grid_sample`` / ``interpolate`` convention.
            Defaults to True (the release's).
        strict_background (bool): zero the output where the resized flow
            blended background with body values (see module doc).
            Defaults to False.

    Returns:
        Tensor: (B, S, C, h', w') warped features (0 where the flow is
        background).
    """
    src_feats, flows = as_multi_source(src_feats, flows)
    B, S, C, h, w = src_feats.shape
    size = (h, w) if size is None else tuple(size)
    grid = flows.flatten(0, 1)
    if tuple(grid.shape[1:3]) != size:
        grid = resize_flow(grid, size, align_corners=align_corners)
    out = F.grid_sample(
        src_feats.reshape(B * S, C, h, w), grid.to(src_feats.dtype),
        mode='bilinear', padding_mode='zeros', align_corners=align_corners)
    if strict_background:
        body = (flows.flatten(0, 1) > _BG_THRESHOLD).any(-1).to(out.dtype)
        body = body.unsqueeze(1)
        if tuple(body.shape[-2:]) != size:
            body = F.interpolate(body, size=size, mode='bilinear',
                                 align_corners=align_corners)
        out = out * (body >= 1 - 1e-6).to(out.dtype)
    return out.view(B, S, C, *size)


@MODELS.register_module()
class LiquidWarpingBlock(nn.Module):
    """Liquid Warping Block: ``tgt + sum_s warp(src_s, resize(T_s))``.

    Parameter-free. Usable on its own, e.g. from another project as
    ``dict(type='mmlwgan.LiquidWarpingBlock')``.

    Args:
        align_corners (bool): ``grid_sample`` and flow-resize convention.
            True (default) reproduces the release (torch 1.2 behaviour) and
            is what the converted weights expect; flows must then be given in
            the ``align_corners=True`` convention. False for new models.
        strict_background (bool): drop contributions where resizing blended
            background (-2) into body flow values. Defaults to False (the
            release keeps them). See the module docstring.

    Examples:
        >>> lwb = LiquidWarpingBlock()
        >>> tgt = torch.rand(2, 8, 16, 16)
        >>> src = torch.rand(2, 3, 8, 16, 16)         # 3 sources
        >>> flows = torch.rand(2, 3, 64, 64, 2) * 2 - 1
        >>> lwb(tgt, src, flows).shape
        torch.Size([2, 8, 16, 16])
    """

    #: whether the generator must pass channel counts when building it
    needs_channels = False

    def __init__(self,
                 align_corners: bool = True,
                 strict_background: bool = False) -> None:
        super().__init__()
        self.align_corners = align_corners
        self.strict_background = strict_background

    def warp(self, src_feats: Tensor, flows: Tensor,
             size: Optional[Tuple[int, int]] = None) -> Tensor:
        """Warp the sources (see :func:`warp_sources`).

        Returns:
            Tensor: (B, S, C, h, w).
        """
        return warp_sources(src_feats, flows, size, self.align_corners,
                            self.strict_background)

    def warped_sum(self, src_feats: Tensor, flows: Tensor,
                   size: Tuple[int, int]) -> Tensor:
        """``sum_s warp(src_s, T_s)`` at ``size``: (B, C, h, w) (a view of
        the warped features for one source, no zero-filled sum)."""
        warped = self.warp(src_feats, flows, size)
        return warped[:, 0] if warped.shape[1] == 1 else warped.sum(dim=1)

    def forward(self, tgt_feat: Tensor, src_feats: Tensor,
                flows: Tensor) -> Tensor:
        """Fuse warped source features into the target feature.

        Args:
            tgt_feat (Tensor): (B, C, h, w) target-stream feature.
            src_feats (Tensor): (B, S, C, h, w) or (B, C, h, w) source-stream
                features at the same depth.
            flows (Tensor): (B, S, H, W, 2) or (B, H, W, 2) flows from the
                target image to each source image (any resolution; resized
                to (h, w)).

        Returns:
            Tensor: (B, C, h, w) ``tgt_feat + sum_s warp(src_s, T_s)``.
        """
        return tgt_feat + self.warped_sum(src_feats, flows,
                                          tuple(tgt_feat.shape[-2:]))


@MODELS.register_module()
class AddLWB(LiquidWarpingBlock):
    """iPERCore's AddLWB: the same sum as :class:`LiquidWarpingBlock`."""


@MODELS.register_module()
class AvgLWB(LiquidWarpingBlock):
    """iPERCore's AvgLWB: ``(tgt + sum_s warp(src_s)) / (S + 1)``.

    Same arguments and shapes as :class:`LiquidWarpingBlock`.
    """

    def forward(self, tgt_feat: Tensor, src_feats: Tensor,
                flows: Tensor) -> Tensor:
        warped = self.warp(src_feats, flows, tgt_feat.shape[-2:])
        return torch.cat([tgt_feat.unsqueeze(1), warped], dim=1).mean(dim=1)


@MODELS.register_module()
class ProjectedLWB(LiquidWarpingBlock):
    """LWB between streams of different widths: ``tgt + sum_s warp(P src_s)``.

    ``P`` is a bias-free 1x1 convolution from the source stream's channels
    to the target stream's, so that a narrow target stream (the lite
    generator) can take the features of a full-width source stream. ``P``
    and the warp commute exactly in exact arithmetic (both are linear and
    ``P(0) = 0``), so the projection runs once per source when the sources
    are encoded (:meth:`prepare_source`, called by
    ``LWBGenerator.encode_sources``) instead of once per target frame.

    Args:
        in_channels (int): channels of the target feature.
        src_channels (int, optional): channels of the source features.
            Defaults to ``in_channels``.
        align_corners (bool): see :class:`LiquidWarpingBlock`. Defaults to
            False (new models).
        strict_background (bool): see :class:`LiquidWarpingBlock`.

    Examples:
        >>> lwb = ProjectedLWB(in_channels=8, src_channels=16)
        >>> tgt = torch.rand(2, 8, 16, 16)
        >>> src = torch.rand(2, 3, 16, 16, 16)        # 3 sources, 16 ch
        >>> flows = torch.rand(2, 3, 64, 64, 2) * 2 - 1
        >>> lwb(tgt, src, flows).shape
        torch.Size([2, 8, 16, 16])
    """

    needs_channels = True

    def __init__(self,
                 in_channels: int,
                 src_channels: Optional[int] = None,
                 align_corners: bool = False,
                 strict_background: bool = False) -> None:
        super().__init__(align_corners, strict_background)
        self.in_channels = in_channels
        self.src_channels = src_channels or in_channels
        self.proj = nn.Conv2d(self.src_channels, in_channels, 1, bias=False)

    def prepare_source(self, src_feats: Tensor) -> Tensor:
        """Project source features to the target width.

        Args:
            src_feats (Tensor): (B, S, C_s, h, w) or (B, C_s, h, w).

        Returns:
            Tensor: (B, S, C_t, h, w) or (B, C_t, h, w).
        """
        lead = src_feats.shape[:-3]
        x = src_feats.reshape(-1, *src_feats.shape[-3:])
        out = self.proj(x)
        return out.view(*lead, *out.shape[-3:])

    def forward(self, tgt_feat: Tensor, src_feats: Tensor, flows: Tensor,
                prepared: bool = False) -> Tensor:
        """Fuse.

        Args:
            tgt_feat (Tensor): (B, C_t, h, w).
            src_feats (Tensor): (B, S, C_s, h, w) or (B, C_s, h, w) source
                features, or their projections (B, S, C_t, h, w) when
                ``prepared``.
            flows (Tensor): (B, S, H, W, 2) or (B, H, W, 2).
            prepared (bool): ``src_feats`` come from :meth:`prepare_source`.

        Returns:
            Tensor: (B, C_t, h, w).
        """
        if not prepared:
            src_feats = self.prepare_source(src_feats)
        return super().forward(tgt_feat, src_feats, flows)

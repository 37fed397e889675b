# Copyright (c) mmlwgan contributors. All rights reserved.
"""Ablation baselines of the paper: W_C, W_T and W_F.

All share :class:`LWBGenerator`'s interface (``forward(bg_inputs,
src_inputs, tsf_inputs, flows)``, ``encode_sources``, ``decode_targets``)
so a model can swap them by config. W_C and W_T have no source stream
(``has_source_stream = False``): their outputs have no ``src_*`` keys.
"""
from typing import Dict, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.registry import MODELS
from .lwb_generator import (LWBGenerator, ModuleOrCfg, broadcast_batch,
                            build_module, compose, residual_color)


class _SingleStreamGenerator(BaseModule):
    """G_BG + one ResUnet target stream, no source stream, no fusion."""

    has_source_stream = False
    #: colour = I_syn + the colour head (:func:`residual_color`); only W_T,
    #: whose input is I_syn, offers it
    residual_color = False

    def __init__(self,
                 bg_net: ModuleOrCfg,
                 tsf_net: ModuleOrCfg,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.bg_net = build_module(bg_net)
        self.tsf_net = build_module(tsf_net)

    def encode_sources(self, src_inputs: Tensor,
                       decode: bool = False) -> Dict[str, object]:
        raise NotImplementedError

    def target_inputs(self, tsf_inputs: Tensor,
                      cache: Dict[str, object]) -> Tensor:
        """Assemble the target stream's input (N, C_in, H, W)."""
        raise NotImplementedError

    def decode_targets(self,
                       tsf_inputs: Tensor,
                       flows: Optional[Tensor],
                       cache: Dict[str, object],
                       bg: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Run the target stream (flows are ignored).

        Args:
            tsf_inputs (Tensor): (N, 6, H, W) I_syn + target cond.
            flows (Tensor, optional): unused, for interface compatibility.
            cache (dict): output of :meth:`encode_sources` (batch N or 1).
            bg (Tensor, optional): (N or 1, 3, H, W) background.

        Returns:
            dict: ``tsf_color`` (N, 3, H, W), ``tsf_mask`` (N, 1, H, W) and,
            with ``bg``, ``tsf_img`` (N, 3, H, W).
        """
        color, mask = self.tsf_net(self.target_inputs(tsf_inputs, cache))
        if self.residual_color:
            color = residual_color(color, tsf_inputs[:, :color.shape[1]])
        out = dict(tsf_color=color, tsf_mask=mask)
        if bg is not None:
            out['tsf_img'] = compose(color, mask, bg)
        return out

    def forward(self,
                bg_inputs: Tensor,
                src_inputs: Tensor,
                tsf_inputs: Tensor,
                flows: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Same inputs as :meth:`LWBGenerator.forward`.

        Returns:
            dict: ``bg``, ``tsf_color``, ``tsf_mask``, ``tsf_img`` (shapes as
            in :class:`LWBGenerator`; no ``src_*`` keys).
        """
        bg = self.bg_net(bg_inputs)
        cache = self.encode_sources(src_inputs)
        out = dict(bg=bg)
        out.update(self.decode_targets(tsf_inputs, flows, cache, bg))
        return out


@MODELS.register_module()
class ConcatGenerator(_SingleStreamGenerator):
    """W_C: input concatenation, no warping.

    The target stream's input is the concatenation of ``num_sources``
    source inputs (each source RGB + source cond, 6 channels) and the target
    cond map (the last ``cond_channels`` channels of ``tsf_inputs``)::

        in_channels = num_sources * src_channels + cond_channels

    With one source this is the ICCV release's W_C input
    ``cat([src_img, src_cond, tgt_cond])`` (9 channels); the released W_C
    checkpoint (``generator_concat_baseline``) has 15 input channels, i.e.
    two sources (the layout of iPERCore's input-concat baseline). Fewer
    given sources are repeated cyclically, extra ones dropped (as iPERCore).

    Args:
        bg_net (dict | nn.Module): G_BG.
        tsf_net (dict | nn.Module): ResUnet with ``in_channels`` as above.
        num_sources (int): sources concatenated. Defaults to 2.
        src_channels (int): channels per source input. Defaults to 6.
        cond_channels (int): target cond channels. Defaults to 3.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 bg_net: ModuleOrCfg,
                 tsf_net: ModuleOrCfg,
                 num_sources: int = 2,
                 src_channels: int = 6,
                 cond_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(bg_net, tsf_net, init_cfg)
        self.num_sources = num_sources
        self.src_channels = src_channels
        self.cond_channels = cond_channels
        expected = num_sources * src_channels + cond_channels
        if self.tsf_net.in_channels != expected:
            raise ValueError(
                f'tsf_net.in_channels is {self.tsf_net.in_channels}, W_C '
                f'with {num_sources} sources needs {expected}')

    def encode_sources(self, src_inputs: Tensor,
                       decode: bool = False) -> Dict[str, object]:
        """Stack the sources along channels.

        Args:
            src_inputs (Tensor): (B, S, 6, H, W) or (B, 6, H, W).
            decode (bool): unused.

        Returns:
            dict: ``inputs`` (B, num_sources * 6, H, W), ``num_sources`` S.
        """
        if src_inputs.dim() == 4:
            src_inputs = src_inputs.unsqueeze(1)
        S = src_inputs.shape[1]
        idx = torch.arange(self.num_sources, device=src_inputs.device) % S
        stacked = src_inputs.index_select(1, idx).flatten(1, 2)
        return dict(inputs=stacked, num_sources=S)

    def target_inputs(self, tsf_inputs: Tensor,
                      cache: Dict[str, object]) -> Tensor:
        src = broadcast_batch(cache['inputs'], tsf_inputs.shape[0])
        cond = tsf_inputs[:, tsf_inputs.shape[1] - self.cond_channels:]
        return torch.cat([src, cond], dim=1)


@MODELS.register_module()
class TextureWarpingGenerator(_SingleStreamGenerator):
    """W_T: texture warping only.

    The target stream sees only ``tsf_inputs`` (the warped source image
    I_syn + target cond, 6 channels) as in the release (its 'concat'
    network with ``src_dim=0``); there is no source stream and no feature
    fusion.

    Args:
        bg_net (dict | nn.Module): G_BG.
        tsf_net (dict | nn.Module): ResUnet with 6 input channels.
        init_cfg (dict, optional): mmengine init config.
        residual_color (bool, keyword-only): the colour is I_syn plus the
            colour head (:func:`~.lwb_generator.residual_color`), as
            :class:`LWBGenerator`'s option. Defaults to False (the release).
    """

    def __init__(self,
                 bg_net: ModuleOrCfg,
                 tsf_net: ModuleOrCfg,
                 init_cfg: Optional[dict] = None,
                 *,
                 residual_color: bool = False) -> None:
        super().__init__(bg_net, tsf_net, init_cfg)
        self.residual_color = bool(residual_color)

    def encode_sources(self, src_inputs: Tensor,
                       decode: bool = False) -> Dict[str, object]:
        """Nothing to encode (sources only enter through I_syn).

        Returns:
            dict: ``num_sources``.
        """
        S = src_inputs.shape[1] if src_inputs.dim() == 5 else 1
        return dict(num_sources=S)

    def target_inputs(self, tsf_inputs: Tensor,
                      cache: Dict[str, object]) -> Tensor:
        return tsf_inputs


@MODELS.register_module()
class FeatureWarpingGenerator(LWBGenerator):
    """W_F: source features warped and fused at the early encoder stages.

    An :class:`LWBGenerator` whose fusion points default to the encoder
    stages only (points ``0 .. num_downs - 1``, i.e. 1/2, 1/4 and 1/8
    resolution; no fusion in the residual blocks) and whose target stream,
    as in the release's feature-warping baseline, sees only the target cond
    map (not I_syn) unless ``use_warped_image=True``.

    Args:
        bg_net, src_net, tsf_net, fusion, flow_align_corners, init_cfg: as
            :class:`LWBGenerator`.
        fusion_points (Sequence[int], optional): defaults to the encoder
            stages.
        use_warped_image (bool): feed the full ``tsf_inputs`` (I_syn + cond)
            instead of the cond alone. ``tsf_net.in_channels`` must match
            (6, else 3). Defaults to False.
    """

    def __init__(self,
                 bg_net: ModuleOrCfg,
                 src_net: ModuleOrCfg,
                 tsf_net: ModuleOrCfg,
                 fusion: Optional[dict] = None,
                 fusion_points: Optional[Sequence[int]] = None,
                 flow_align_corners: Optional[bool] = None,
                 use_warped_image: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        tsf_net = build_module(tsf_net)
        if fusion_points is None:
            fusion_points = range(tsf_net.num_downs)
        super().__init__(bg_net, src_net, tsf_net, fusion, fusion_points,
                         flow_align_corners, init_cfg)
        self.use_warped_image = use_warped_image

    def decode_targets(self,
                       tsf_inputs: Tensor,
                       flows: Tensor,
                       cache: Dict[str, object],
                       bg: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """As :meth:`LWBGenerator.decode_targets`; ``tsf_inputs`` (N, 6, H,
        W) is reduced to its cond channels unless ``use_warped_image``."""
        if not self.use_warped_image:
            cin = self.tsf_net.in_channels
            tsf_inputs = tsf_inputs[:, tsf_inputs.shape[1] - cin:]
        return super().decode_targets(tsf_inputs, flows, cache, bg)

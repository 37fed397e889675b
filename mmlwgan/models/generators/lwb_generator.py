# Copyright (c) mmlwgan contributors. All rights reserved.
"""The three-stream Liquid Warping GAN generator (G_BG, G_SID, G_TSF)."""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.models.flows.flow import convert_grid_align_corners
from mmlwgan.registry import MODELS
from . import attlwb as _attlwb  # noqa: F401  (registers AttentionalLWB)
from . import lwb as _lwb  # noqa: F401  (registers LiquidWarpingBlock)

ModuleOrCfg = Union[dict, nn.Module]


def build_module(cfg: ModuleOrCfg) -> nn.Module:
    """Build ``cfg`` with :data:`mmlwgan.registry.MODELS` (modules pass)."""
    if isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(copy.deepcopy(cfg))


def compose(color: Tensor, mask: Tensor, bg: Tensor) -> Tensor:
    """Blend a colour map over a background with the predicted mask.

    ``out = mask * bg + (1 - mask) * color``; the mask is the *background*
    weight, as in the release.

    Args:
        color (Tensor): (..., 3, H, W) in [-1, 1].
        mask (Tensor): (..., 1, H, W) in [0, 1].
        bg (Tensor): background broadcastable to ``color``.

    Returns:
        Tensor: (..., 3, H, W).
    """
    return mask * bg + (1 - mask) * color


def residual_color(color_head_out: Tensor, input_rgb: Tensor) -> Tensor:
    """Colour of a stream that predicts a correction of its input image.

    ``clamp(input_rgb + color_head_out, -1, 1)``: with the colour head at
    zero (its last convolution zeroed, or at the start of training when the
    head's output is small) the stream's colour *is* its input image (I_syn
    for G_TSF, the background-removed source for G_SID).

    Args:
        color_head_out (Tensor): (B, 3, H, W) the colour head's output
            (after its tanh), in [-1, 1].
        input_rgb (Tensor): (B, 3, H, W) the stream's input RGB in [-1, 1].

    Returns:
        Tensor: (B, 3, H, W) in [-1, 1].
    """
    return (input_rgb.to(color_head_out.dtype) + color_head_out).clamp(-1, 1)


def broadcast_batch(x: Tensor, n: int, name: str = 'cache') -> Tensor:
    """Expand a cached tensor of batch 1 to batch ``n`` (no copy).

    Args:
        x (Tensor): (B, ...) with B == n or B == 1.
        n (int): wanted batch.
        name (str): name used in the error message.

    Returns:
        Tensor: (n, ...).
    """
    if x.shape[0] == n:
        return x
    if x.shape[0] == 1:
        return x.expand(n, *x.shape[1:])
    raise ValueError(f'{name} has batch {x.shape[0]}, cannot broadcast it '
                     f'to {n} targets (needs {n} or 1)')


def prepared_features(cache: Dict[str, object]) -> List[Optional[Tensor]]:
    """The prepared source features of a cache (see
    ``LWBGenerator.encode_sources``), None where there are none or where
    ``cache['features']`` no longer holds the features they were prepared
    from (a cache edited or merged after encoding)."""
    feats = cache['features']
    prepared = cache.get('prepared')
    origin = cache.get('prepared_from')
    if prepared is None or origin is None or len(prepared) != len(feats):
        return [None] * len(feats)
    return [p if p is not None and feats[i] is origin[i] else None
            for i, p in enumerate(prepared)]


@MODELS.register_module()
class LWBGenerator(BaseModule):
    """Liquid Warping GAN generator: background, source and target streams.

    The target stream (G_TSF) receives warped source-stream (G_SID) features
    at its fusion points (encoder stages 1..3 and the 6 residual blocks by
    default) through a fusion block (:class:`LiquidWarpingBlock` as in the
    ICCV release, or :class:`AttentionalLWB`, ...).

    Inference encodes a source set once (:meth:`encode_sources`) and decodes
    any number of target frames against it (:meth:`decode_targets`), running
    only G_TSF per frame.

    Args:
        bg_net (dict | nn.Module): G_BG, e.g. ``ResNetGenerator``.
        src_net (dict | nn.Module): G_SID, a ``ResUnetGenerator``.
        tsf_net (dict | nn.Module): G_TSF, a ``ResUnetGenerator`` with the
            same number of fusion points.
        fusion (dict): fusion block config, one block is built per fusion
            point. Blocks whose class sets ``needs_channels = True`` get
            ``in_channels`` (target) and ``src_channels`` (source) filled
            in. Defaults to ``dict(type='LiquidWarpingBlock')``.
        fusion_points (Sequence[int], optional): indices of the fusion points
            that are fused (0 .. num_downs-1: encoder stages, then residual
            blocks). Defaults to all.
        flow_align_corners (bool, optional): convention of the flows given
            to :meth:`forward` / :meth:`decode_targets`. None (default): they
            are already in the fusion blocks' convention (``align_corners``,
            True for the released weights) and are used as given. If set
            and different from the blocks' convention, flows are converted
            once (:func:`convert_grid_align_corners`) before fusion, e.g.
            ``False`` for flows straight from the project's flow composer.
        init_cfg (dict, optional): mmengine init config (``Pretrained`` for
            converted weights).
        residual_color (bool, keyword-only): G_SID and G_TSF predict a
            correction of their input image instead of the colour itself:
            ``colour = clamp(input RGB + colour head, -1, 1)`` (see
            :func:`residual_color`), so G_TSF starts from the warped source
            I_syn and G_SID from the source. No new parameters (checkpoints
            load either way, but a model trained with one setting must run
            with the same one). Defaults to False (the release: the colour
            head's output is the colour).

    Examples:
        >>> gen = LWBGenerator(
        ...     bg_net=dict(type='ResNetGenerator', base_channels=8),
        ...     src_net=dict(type='ResUnetGenerator', base_channels=8),
        ...     tsf_net=dict(type='ResUnetGenerator', base_channels=8))
        >>> out = gen(torch.rand(2, 4, 32, 32), torch.rand(2, 3, 6, 32, 32),
        ...           torch.rand(2, 6, 32, 32), torch.rand(2, 3, 32, 32, 2))
        >>> out['tsf_img'].shape, out['src_img'].shape
        (torch.Size([2, 3, 32, 32]), torch.Size([2, 3, 3, 32, 32]))
    """

    #: whether ``src_color`` / ``src_mask`` / ``src_img`` are produced
    has_source_stream = True

    def __init__(self,
                 bg_net: ModuleOrCfg,
                 src_net: ModuleOrCfg,
                 tsf_net: ModuleOrCfg,
                 fusion: Optional[dict] = None,
                 fusion_points: Optional[Sequence[int]] = None,
                 flow_align_corners: Optional[bool] = None,
                 init_cfg: Optional[dict] = None,
                 *,
                 residual_color: bool = False) -> None:
        super().__init__(init_cfg=init_cfg)
        self.residual_color = bool(residual_color)
        self.bg_net = build_module(bg_net)
        self.src_net = build_module(src_net)
        self.tsf_net = build_module(tsf_net)
        n = self.tsf_net.num_fusion_points
        if self.src_net.num_fusion_points != n:
            raise ValueError(
                f'src_net has {self.src_net.num_fusion_points} fusion points, '
                f'tsf_net has {n}')
        points = range(n) if fusion_points is None else fusion_points
        self.fusion_points = tuple(sorted(set(int(p) for p in points)))
        if any(p < 0 or p >= n for p in self.fusion_points):
            raise ValueError(f'fusion_points {self.fusion_points} out of '
                             f'range [0, {n})')
        self.fusions = nn.ModuleList(
            self._build_fusion(fusion or dict(type='LiquidWarpingBlock'), p)
            for p in self.fusion_points)
        self._fusion_slot = {p: k for k, p in enumerate(self.fusion_points)}
        conventions = {
            getattr(f, 'align_corners', True)
            for f in self.fusions
        }
        if len(conventions) > 1:
            raise ValueError('all fusion blocks must share align_corners')
        self.fusion_align_corners = (
            conventions.pop() if conventions else True)
        self.flow_align_corners = flow_align_corners

    def _build_fusion(self, cfg: dict, point: int) -> nn.Module:
        cfg = copy.deepcopy(cfg)
        tgt_ch = self.tsf_net.fusion_channels[point]
        src_ch = self.src_net.fusion_channels[point]
        cls = MODELS.get(cfg['type']) if isinstance(cfg['type'],
                                                    str) else cfg['type']
        if cls is None:
            raise KeyError(f'fusion type {cfg["type"]} is not registered')
        if getattr(cls, 'needs_channels', False):
            cfg.setdefault('in_channels', tgt_ch)
            cfg.setdefault('src_channels', src_ch)
        elif tgt_ch != src_ch:
            raise ValueError(
                f'{cls.__name__} adds source features to target features: '
                f'channels differ at fusion point {point} ({src_ch} vs '
                f'{tgt_ch})')
        return MODELS.build(cfg)

    @property
    def num_fusion_points(self) -> int:
        """int: number of fusion points of the streams (fused or not)."""
        return self.tsf_net.num_fusion_points

    def prepare_flows(self, flows: Tensor) -> Tensor:
        """Bring flows to (N, S, H, W, 2) in the fusion blocks' convention.

        Args:
            flows (Tensor): (N, S, H, W, 2) or (N, H, W, 2).

        Returns:
            Tensor: (N, S, H, W, 2).
        """
        if flows.dim() == 4:
            flows = flows.unsqueeze(1)
        if (self.flow_align_corners is not None
                and self.flow_align_corners != self.fusion_align_corners):
            shape = flows.shape
            flows = convert_grid_align_corners(
                flows.flatten(0, 1),
                to_align_corners=self.fusion_align_corners).view(shape)
        return flows

    def fusion_block(self, point: int) -> Optional[nn.Module]:
        """The fusion block at fusion point ``point`` of the streams, or
        None where that point is not fused."""
        slot = self._fusion_slot.get(point)
        return None if slot is None else self.fusions[slot]

    def encode_sources(self, src_inputs: Tensor,
                       decode: bool = True) -> Dict[str, object]:
        """Run G_SID once on a source set and cache what G_TSF needs.

        Args:
            src_inputs (Tensor): (B, S, 6, H, W) or (B, 6, H, W): source
                image with the background removed (RGB in [-1, 1]) + source
                cond map.
            decode (bool): also decode the source reconstruction (colour and
                mask). Defaults to True.

        Returns:
            dict: ``features``: list of ``num_fusion_points`` tensors
            (B, S, C_i, h_i, w_i) (None at points that are not fused);
            ``num_sources``: S; ``prepared`` (only when a fusion block has
            ``prepare_source``, e.g. ``ProjectedLWB``): the features those
            blocks transformed once for all targets (None elsewhere); and,
            if ``decode``, ``src_color``
            (B, S, 3, H, W) in [-1, 1] and ``src_mask`` (B, S, 1, H, W) in
            [0, 1].
        """
        if src_inputs.dim() == 4:
            src_inputs = src_inputs.unsqueeze(1)
        B, S = src_inputs.shape[:2]
        x = src_inputs.flatten(0, 1)
        cache: Dict[str, object] = dict(num_sources=S)
        if decode:
            color, mask, feats = self.src_net(x, return_features=True)
            if self.residual_color:
                color = residual_color(color, x[:, :color.shape[1]])
            cache['src_color'] = color.view(B, S, *color.shape[1:])
            cache['src_mask'] = mask.view(B, S, *mask.shape[1:])
        else:
            enc = self.src_net.encode_stages(x)
            feats = list(enc[1:])
            if max(self.fusion_points, default=-1) >= self.src_net.num_downs:
                self.src_net.bottleneck(enc[-1], features=feats)
        features: List[Optional[Tensor]] = [None] * self.num_fusion_points
        for p in self.fusion_points:
            features[p] = feats[p].view(B, S, *feats[p].shape[1:])
        cache['features'] = features
        # fusion blocks that transform the source features before warping
        # (e.g. ProjectedLWB's 1x1 projection) do it once here, not per
        # target frame
        prepared: List[Optional[Tensor]] = [None] * self.num_fusion_points
        for p in self.fusion_points:
            block = self.fusion_block(p)
            if hasattr(block, 'prepare_source'):
                prepared[p] = block.prepare_source(features[p])
        if any(x is not None for x in prepared):
            cache['prepared'] = prepared
            cache['prepared_from'] = list(features)
        return cache

    def prepare_decode_flows(self, tsf_inputs: Tensor, flows: Tensor,
                             cache: Dict[str, object]) -> Tensor:
        """:meth:`prepare_flows`, checked against the targets and the
        cached sources of a :meth:`decode_targets` call.

        Returns:
            Tensor: (N, S, H, W, 2).

        Raises:
            ValueError: the flows' batch is not the targets' N, or their
                source count is not the cache's.
        """
        N = tsf_inputs.shape[0]
        flows = self.prepare_flows(flows)
        if flows.shape[0] != N:
            raise ValueError(f'{N} targets but flows of batch '
                             f'{flows.shape[0]}')
        if flows.shape[1] != cache['num_sources']:
            raise ValueError(f'flows for {flows.shape[1]} sources, cache '
                             f'holds {cache["num_sources"]}')
        return flows

    def decode_targets(self,
                       tsf_inputs: Tensor,
                       flows: Tensor,
                       cache: Dict[str, object],
                       bg: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Run G_TSF for N target frames against one cached source set.

        Args:
            tsf_inputs (Tensor): (N, 6, H, W): warped source image I_syn
                (RGB in [-1, 1]) + target cond map.
            flows (Tensor): (N, S, H, W, 2) or (N, H, W, 2) (S = 1): target
                to source flows (see ``flow_align_corners``).
            cache (dict): output of :meth:`encode_sources` with batch N or 1
                (batch 1 is broadcast to the N targets).
            bg (Tensor, optional): (N or 1, 3, H, W) background in [-1, 1];
                when given the composited ``tsf_img`` is returned too.

        Returns:
            dict: ``tsf_color`` (N, 3, H, W) in [-1, 1], ``tsf_mask``
            (N, 1, H, W) in [0, 1] (background weight) and, if ``bg`` is
            given, ``tsf_img`` (N, 3, H, W).
        """
        N = tsf_inputs.shape[0]
        flows = self.prepare_decode_flows(tsf_inputs, flows, cache)
        feats = cache['features']
        prepared = prepared_features(cache)

        def fuse(i: int, feat: Tensor) -> Tensor:
            block = self.fusion_block(i)
            if block is None:
                return feat
            if prepared[i] is not None:
                src = broadcast_batch(prepared[i], N,
                                      'cached source features')
                return block(feat, src, flows, prepared=True)
            src = broadcast_batch(feats[i], N, 'cached source features')
            return block(feat, src, flows)

        color, mask = self.tsf_net(tsf_inputs, fuse)
        if self.residual_color:
            color = residual_color(color, tsf_inputs[:, :color.shape[1]])
        out = dict(tsf_color=color, tsf_mask=mask)
        if bg is not None:
            out['tsf_img'] = compose(color, mask, bg)
        return out

    def forward(self, bg_inputs: Tensor, src_inputs: Tensor,
                tsf_inputs: Tensor, flows: Tensor) -> Dict[str, Tensor]:
        """Full training-time pass of the three streams.

        Args:
            bg_inputs (Tensor): (B, 4, H, W) source RGB with the body masked
                out + the mask.
            src_inputs (Tensor): (B, S, 6, H, W) (or (B, 6, H, W)) source
                RGB with the background removed + source cond.
            tsf_inputs (Tensor): (B, 6, H, W) I_syn + target cond.
            flows (Tensor): (B, S, H, W, 2) (or (B, H, W, 2)) target to
                source flows.

        Returns:
            dict: ``bg`` (B, 3, H, W); ``src_color`` (B, S, 3, H, W),
            ``src_mask`` (B, S, 1, H, W), ``src_img`` (B, S, 3, H, W) =
            src_mask * bg + (1 - src_mask) * src_color; ``tsf_color``
            (B, 3, H, W), ``tsf_mask`` (B, 1, H, W), ``tsf_img`` (B, 3, H, W)
            = tsf_mask * bg + (1 - tsf_mask) * tsf_color. Colours and images
            in [-1, 1], masks in [0, 1].
        """
        bg = self.bg_net(bg_inputs)
        cache = self.encode_sources(src_inputs, decode=True)
        out = dict(bg=bg, src_color=cache['src_color'],
                   src_mask=cache['src_mask'])
        out['src_img'] = compose(out['src_color'], out['src_mask'],
                                 bg.unsqueeze(1))
        out.update(self.decode_targets(tsf_inputs, flows, cache, bg))
        return out

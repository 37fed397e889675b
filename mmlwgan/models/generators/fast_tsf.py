# Copyright (c) mmlwgan contributors. All rights reserved.
"""``FastTSF``: the optimised target stream (G_TSF) of an ``LWBGenerator``.

Per target frame the Liquid Warping GAN must run G_TSF (~105 GFLOPs at
256 px at full width). :class:`FastTSF` runs ``decode_targets`` with the
*same maths* and the generator's own weights (nothing is copied but the
merged heads and layout / dtype copies, refreshed whenever a weight
changes, e.g. after personalisation):

- batches of frames, ``torch.inference_mode``;
- ``channels_last`` activations where they pay (on CUDA everywhere; on a
  oneDNN CPU everywhere but the 512-channel bottleneck, where NCHW is
  faster: the ``'hybrid'`` layout); the instance norms of channels-last
  tensors are computed in place of PyTorch's ``instance_norm`` (which
  copies them to NCHW and back) with the same statistics, fused with the
  ReLU (:func:`instance_norm_act`);
- the two 7x7 heads (colour, mask) as one convolution;
- the flow resized once per feature resolution (the release resizes it at
  each of the 9 fusion points; 6 share one resolution);
- plain LWBs summed into the target feature in place;
- optional autocast (fp16 / bf16 on GPU, bf16 on CPU: a numerical change,
  off by default) and optional ``torch.compile`` (with Inductor freezing on
  CPU, recompiled when the weights change).

The layers are reached by name (``ResUnetGenerator.color_head`` /
``mask_head``, ``ConvNormReLU.conv`` / ``norm``, ``ResidualBlock.convs`` /
``norms``, ``LWBGenerator.fusion_block``). Outputs equal
``decode_targets``' within float tolerance
(``tests/test_apis/test_fast_path.py``).
"""
from contextlib import nullcontext
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmlwgan.models.flows.flow import resize_flow
from .lwb import LiquidWarpingBlock
from .lwb_generator import (broadcast_batch, compose, prepared_features,
                            residual_color)

__all__ = ['FastTSF', 'LAYOUTS', 'default_layout', 'instance_norm_act']

_CL = torch.channels_last
_LOW_PRECISION = (torch.float16, torch.bfloat16)


def instance_norm_act(x: Tensor, norm: nn.Module, relu: bool = True) -> Tensor:
    """``relu(InstanceNorm2d(x))`` that keeps ``x``'s memory format.

    The same maths as ``nn.InstanceNorm2d`` without running statistics
    (per-sample, per-channel mean and biased variance, ``norm.eps``, the
    affine weight and bias when ``norm.affine``), two-pass like PyTorch's;
    only the summation order differs. PyTorch's ``instance_norm`` copies a
    channels-last input to NCHW and back (2-3x slower than on NCHW); here a
    channels-last input is reduced as an (N, H*W, C) view, and the
    normalisation (+ ReLU) runs in place on the centred copy. Statistics
    are accumulated in float32 for fp16 / bf16 inputs.

    Args:
        x (Tensor): (N, C, H, W).
        norm (nn.Module): an ``InstanceNorm2d`` (``track_running_stats``
            False).
        relu (bool): apply ReLU.

    Returns:
        Tensor: (N, C, H, W) in ``x``'s dtype and memory format.
    """
    N, C, H, W = x.shape
    if x.is_contiguous() and x.dtype not in _LOW_PRECISION:
        # NCHW: PyTorch's kernel is the fastest (and exactly the module's)
        y = F.instance_norm(x, weight=norm.weight, bias=norm.bias,
                            eps=norm.eps)
        return y.relu_() if relu else y
    sdt = torch.float32 if x.dtype in _LOW_PRECISION else x.dtype
    if x.is_contiguous(memory_format=_CL):
        v = x.permute(0, 2, 3, 1).reshape(N, H * W, C)
        dims, shape = (1, ), (1, 1, C)
    else:
        v = x
        dims, shape = (2, 3), (1, C, 1, 1)
    mean = v.mean(dim=dims, keepdim=True, dtype=sdt)
    diff = v - mean.to(v.dtype)
    var = torch.linalg.vector_norm(diff, dim=dims, keepdim=True,
                                   dtype=sdt).square_().div_(H * W)
    scale = torch.rsqrt(var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight.to(sdt).reshape(shape)
        diff.mul_(scale.to(v.dtype)).add_(norm.bias.to(v.dtype).reshape(
            shape))
    else:
        diff.mul_(scale.to(v.dtype))
    if relu:
        diff.relu_()
    if diff.dim() == 3:
        diff = diff.view(N, H, W, C).permute(0, 3, 1, 2)
    return diff


#: memory formats of the (encoder, bottleneck, decoder) activations
LAYOUTS = {
    'channels_last': (True, True, True),
    'contiguous': (False, False, False),
    # oneDNN fp32 on CPU: channels-last wins at high resolution (stem,
    # strided and transposed convolutions, the 256 px skip convolution),
    # NCHW at the 512-channel bottleneck
    'hybrid': (True, False, True),
}


def default_layout(device: Any) -> str:
    """``'channels_last'`` on CUDA (tensor cores), ``'hybrid'`` on CPU."""
    return 'channels_last' if torch.device(device).type == 'cuda' \
        else 'hybrid'


class FastTSF:
    """A fast executor of ``generator.decode_targets`` (LWB generators).

    It runs the generator's own target stream and fusion blocks with the
    generator's own parameters; weights are only copied when a layout or
    dtype change needs it (channels-last / autocast dtype / the merged
    heads), and copies are rebuilt whenever a parameter changes (storage
    or ``_version``, e.g. after personalisation or ``load_state_dict``).
    Outputs equal ``decode_targets``' within float tolerance: the same
    operations, except the summation order of the instance-norm statistics,
    the merged heads and the convolution algorithms oneDNN / cuDNN pick for
    a memory format.

    Args:
        generator (nn.Module): an ``LWBGenerator`` whose ``tsf_net`` is a
            ``ResUnetGenerator`` (see :meth:`supports`).
        layout (str, optional): activation memory formats, one of
            :data:`LAYOUTS` (``'channels_last'``, ``'contiguous'``,
            ``'hybrid'``: channels-last but for the bottleneck). None: the
            best measured for the device (:func:`default_layout`).
        amp_dtype (torch.dtype, optional): autocast dtype (``torch.float16``
            / ``torch.bfloat16`` on CUDA, ``torch.bfloat16`` on CPU). None
            (default): the parameters' dtype, no autocast.
        merge_heads (bool): one 7x7 convolution for the colour and mask
            heads (they read the same input). Defaults to True.
        compile (bool): ``torch.compile`` the target stream (the plain
            module path: Inductor chooses layouts and fuses the norms);
            falls back to eager, recording ``compile_error``, when
            compilation fails. Compiling takes minutes on a small CPU.
            Defaults to False.
        compile_mode (str, optional): ``torch.compile`` mode, e.g.
            ``'max-autotune'`` on GPU.
        freeze (bool, optional): Inductor freezing (weights folded into the
            compiled graph as constants, prepacked for oneDNN on CPU: on a
            2-core CPU it is what makes compilation pay, ~1.2x at 128 px).
            Weight changes are detected (parameter versions) and trigger a
            recompilation. None (default): on CPU only.
    """

    def __init__(self,
                 generator: nn.Module,
                 layout: Optional[str] = None,
                 amp_dtype: Optional[torch.dtype] = None,
                 merge_heads: bool = True,
                 compile: bool = False,
                 compile_mode: Optional[str] = None,
                 freeze: Optional[bool] = None) -> None:
        why = self.why_unsupported(generator)
        if why:
            raise TypeError(f'FastTSF cannot run this generator: {why}')
        if layout is not None and layout not in LAYOUTS:
            raise ValueError(f'layout must be one of {sorted(LAYOUTS)}, '
                             f'got {layout!r}')
        self.gen = generator
        self.net = generator.tsf_net
        self._layout = layout
        self.amp_dtype = amp_dtype
        a, b = self.net.color_head, self.net.mask_head
        self.merge_heads = merge_heads and all(
            isinstance(m, nn.Conv2d) and m.bias is None
            and m.padding_mode == 'zeros' for m in (a, b)) and (
                a.kernel_size, a.stride, a.padding, a.dilation) == (
                    b.kernel_size, b.stride, b.padding, b.dilation)
        self._wcache: Dict[Any, Tuple[Tuple, Tensor]] = {}
        self.compile = compile
        self.compile_mode = compile_mode
        self.freeze = freeze
        self._compiled: Optional[Callable] = None
        self._compiled_key: Optional[Tuple] = None
        self.compile_error: Optional[str] = None

    # ------------------------------------------------------------ checks
    @staticmethod
    def why_unsupported(generator: nn.Module) -> Optional[str]:
        """None when :class:`FastTSF` can run ``generator``, else why not."""
        from mmlwgan.models.generators import (LWBGenerator,
                                               ResUnetGenerator)
        if not isinstance(generator, LWBGenerator):
            return f'{type(generator).__name__} is not an LWBGenerator'
        if type(generator.tsf_net) is not ResUnetGenerator:
            return (f'tsf_net is a {type(generator.tsf_net).__name__}, not '
                    'a ResUnetGenerator')
        for m in generator.tsf_net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and (
                    m.padding_mode != 'zeros'):
                return f'a convolution with {m.padding_mode} padding'
            if isinstance(m, nn.InstanceNorm2d) and m.track_running_stats:
                return 'instance norms with running statistics'
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                return 'batch norms'
        return None

    @classmethod
    def supports(cls, generator: nn.Module) -> bool:
        return cls.why_unsupported(generator) is None

    def layout(self, device: Any) -> str:
        """The layout used on ``device``."""
        return self._layout or default_layout(device)

    # ------------------------------------------------------------ weights
    def _cached(self, key_obj: Any, key: Tuple,
                make: Callable[[], Tensor]) -> Tensor:
        ent = self._wcache.get(key_obj)
        if ent is None or ent[0] != key:
            with torch.no_grad():
                ent = self._wcache[key_obj] = (key, make())
        return ent[1]

    def _weight(self, w: Tensor, cl: bool) -> Tensor:
        """``w`` in the compute dtype and memory format (cached copy when
        either differs from the parameter's)."""
        dt = self.amp_dtype if self.amp_dtype is not None else w.dtype
        cl = cl and w.dim() == 4
        if dt == w.dtype and (not cl or w.is_contiguous(memory_format=_CL)):
            return w.detach()

        def make() -> Tensor:
            c = w.detach().to(dt)
            return c.contiguous(memory_format=_CL) if cl else c.contiguous()

        return self._cached((id(w), cl), (w.data_ptr(), w._version, dt,
                                          w.device), make)

    def _heads(self, cl: bool) -> Tensor:
        """The colour and mask head weights as one (C + 1, ...) weight."""
        a, b = self.net.color_head.weight, self.net.mask_head.weight
        dt = self.amp_dtype if self.amp_dtype is not None else a.dtype

        def make() -> Tensor:
            m = torch.cat([a.detach(), b.detach()], 0).to(dt)
            return m.contiguous(memory_format=_CL) if cl else m

        return self._cached(('heads', cl), (a.data_ptr(), a._version,
                                            b.data_ptr(), b._version, dt,
                                            a.device), make)

    # ------------------------------------------------------------ layers
    def _conv(self, conv: nn.Module, x: Tensor) -> Tensor:
        cl = x.is_contiguous(memory_format=_CL) and not x.is_contiguous()
        w = self._weight(conv.weight, cl)
        b = None if conv.bias is None else self._weight(conv.bias, False)
        if isinstance(conv, nn.ConvTranspose2d):
            return F.conv_transpose2d(x, w, b, conv.stride, conv.padding,
                                      conv.output_padding, conv.groups,
                                      conv.dilation)
        return F.conv2d(x, w, b, conv.stride, conv.padding, conv.dilation,
                        conv.groups)

    def _cbr(self, layer: nn.Module, x: Tensor) -> Tensor:
        """conv -> instance norm -> ReLU (a ``ConvNormReLU``)."""
        return instance_norm_act(self._conv(layer.conv, x), layer.norm,
                                 relu=True)

    def _resblock(self, block: nn.Module, x: Tensor) -> Tensor:
        (conv1, conv2), (norm1, norm2) = block.convs, block.norms
        y = instance_norm_act(self._conv(conv1, x), norm1, relu=True)
        y = instance_norm_act(self._conv(conv2, y), norm2, relu=False)
        return x + y

    @staticmethod
    def _fmt(x: Tensor, cl: bool) -> Tensor:
        return x.contiguous(memory_format=_CL if cl else
                            torch.contiguous_format)

    def _fusion_args(self, i: int, feat: Tensor, flows: Tensor,
                     feats: List[Optional[Tensor]],
                     prepared: List[Optional[Tensor]],
                     grids: Dict[Tuple[int, int], Tensor]
                     ) -> Optional[Tuple[nn.Module, Tensor, Tensor, Dict]]:
        """The fusion block at point ``i`` and its arguments, or None when
        ``i`` is not fused.

        Sources are broadcast to the N targets; the flows are resized once
        per feature resolution into ``grids`` (the blocks resize a flow only
        when its size differs, so the grids are the same; the release
        resizes at each of the 9 points, 6 of which share one resolution).

        Returns:
            tuple: ``(block, src, flows, kwargs)`` for
            ``block(feat, src, flows, **kwargs)``.
        """
        gen = self.gen
        block = gen.fusion_block(i)
        if block is None:
            return None
        N, S = flows.shape[:2]
        src = feats[i] if prepared[i] is None else prepared[i]
        kwargs = {} if prepared[i] is None else dict(prepared=True)
        src = broadcast_batch(src, N, 'cached source features')
        fl = flows
        size = (int(feat.shape[-2]), int(feat.shape[-1]))
        if not getattr(block, 'strict_background', False) and (
                size != tuple(flows.shape[2:4])):
            if size not in grids:
                grids[size] = resize_flow(
                    flows.flatten(0, 1), size,
                    align_corners=getattr(block, 'align_corners',
                                          True)).view(N, S, *size, 2)
            fl = grids[size]
        return block, src, fl, kwargs

    def _stream(self, x: Tensor, flows: Tensor,
                feats: List[Optional[Tensor]],
                prepared: List[Optional[Tensor]]) -> Tuple[Tensor, Tensor]:
        """G_TSF with fusion: (N, 6, H, W), (N, S, H, W, 2) -> colour,
        mask."""
        net = self.net
        enc_cl, res_cl, dec_cl = LAYOUTS[self.layout(x.device)]
        grids: Dict[Tuple[int, int], Tensor] = {}

        def fuse(i: int, feat: Tensor, cl: bool) -> Tensor:
            args = self._fusion_args(i, feat, flows, feats, prepared, grids)
            if args is None:
                return feat
            block, src, fl, kwargs = args
            if (type(block) is LiquidWarpingBlock
                    and not block.strict_background and not kwargs):
                # the block's maths, summed into the (fresh) target
                # feature in place: no new tensor
                return self._fmt(feat, cl).add_(
                    block.warped_sum(src, fl, tuple(feat.shape[-2:])))
            return self._fmt(block(feat, src, fl, **kwargs), cl)

        feat = self._cbr(net.encoders[0], self._fmt(x, enc_cl))
        enc = [feat]
        for i in range(1, net.num_downs + 1):
            feat = fuse(i - 1, self._cbr(net.encoders[i], feat), enc_cl)
            enc.append(feat)
        y = self._fmt(enc[-1], res_cl)
        for j, block in enumerate(net.resnets):
            y = fuse(net.num_downs + j, self._resblock(block, y), res_cl)
        y = self._fmt(y, dec_cl)
        for k in range(net.num_downs):
            y = self._cbr(net.decoders[k], y)
            skip = self._fmt(enc[net.num_downs - 1 - k], dec_cl)
            y = self._cbr(net.skippers[k], torch.cat([skip, y], dim=1))
        if self.merge_heads:
            head = net.color_head
            out = F.conv2d(y, self._heads(dec_cl), None, head.stride,
                           head.padding, head.dilation)
            c = head.out_channels
            return torch.tanh(out[:, :c]), torch.sigmoid(out[:, c:])
        return net.img_reg(y), net.attention_reg(y)

    def _plain_stream(self, x: Tensor, flows: Tensor,
                      feats: List[Optional[Tensor]],
                      prepared: List[Optional[Tensor]]
                      ) -> Tuple[Tensor, Tensor]:
        """G_TSF with fusion through the plain modules (what
        ``torch.compile`` traces): resized flows shared per resolution and
        the heads merged, layouts and fusions left to the compiler."""
        net = self.net
        grids: Dict[Tuple[int, int], Tensor] = {}

        def fuse(i: int, feat: Tensor) -> Tensor:
            args = self._fusion_args(i, feat, flows, feats, prepared, grids)
            if args is None:
                return feat
            block, src, fl, kwargs = args
            return block(feat, src, fl, **kwargs)

        enc = net.encode_stages(x, fuse)
        y = net.decode(net.bottleneck(enc[-1], fuse), enc)
        if self.merge_heads:
            head = net.color_head
            w = torch.cat([head.weight, net.mask_head.weight], 0)
            out = F.conv2d(y, w, None, head.stride, head.padding,
                           head.dilation)
            c = head.out_channels
            return torch.tanh(out[:, :c]), torch.sigmoid(out[:, c:])
        return net.img_reg(y), net.attention_reg(y)

    def _weights_key(self) -> Tuple:
        return tuple((p.data_ptr(), p._version)
                     for p in self.gen.parameters())

    def _run_compiled(self, *args) -> Tuple[Tensor, Tensor]:
        import torch._inductor.config as inductor_config
        freeze = self.freeze
        if freeze is None:
            freeze = args[0].device.type == 'cpu'
        if freeze:
            key = self._weights_key()
            if self._compiled is not None and key != self._compiled_key:
                # frozen constants are stale: compile again
                torch._dynamo.reset()
                self._compiled = None
            self._compiled_key = key
        if self._compiled is None:
            self._compiled = torch.compile(self._plain_stream, dynamic=False,
                                           mode=self.compile_mode)
        with inductor_config.patch(freezing=bool(freeze)):
            return self._compiled(*args)

    # ------------------------------------------------------------ API
    def decode_targets(self,
                       tsf_inputs: Tensor,
                       flows: Tensor,
                       cache: Dict[str, Any],
                       bg: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Same arguments and results as ``LWBGenerator.decode_targets``
        (float32 results; their strides may be channels-last)."""
        flows = self.gen.prepare_decode_flows(tsf_inputs, flows, cache)
        feats = cache['features']
        prepared = prepared_features(cache)
        amp = self.amp_dtype is not None
        with torch.autocast(tsf_inputs.device.type, dtype=self.amp_dtype,
                            enabled=amp) if amp else nullcontext():
            color = mask = None
            if self.compile and self.compile_error is None:
                try:
                    color, mask = self._run_compiled(tsf_inputs, flows, feats,
                                                     prepared)
                except Exception as e:  # noqa: BLE001 - platform dependent
                    # no compiler, unsupported op...: eager from now on
                    self.compile_error = repr(e)
            if color is None:
                color, mask = self._stream(tsf_inputs, flows, feats,
                                           prepared)
        color, mask = color.float(), mask.float()
        if getattr(self.gen, 'residual_color', False):
            # as LWBGenerator.decode_targets: G_TSF corrects I_syn
            color = residual_color(color, tsf_inputs[:, :color.shape[1]])
        out = dict(tsf_color=color, tsf_mask=mask)
        if bg is not None:
            out['tsf_img'] = compose(color, mask, bg)
        return out

    __call__ = decode_targets

# Copyright (c) mmlwgan contributors. All rights reserved.
"""The optimised, batched motion-imitation path (and the release-way
baseline it is measured against).

Per target frame the Liquid Warping GAN must run G_TSF (the target stream of
the generator, ~105 GFLOPs at 256 px at full width); everything else
(SMPL, rasterization, flow, condition map, I_syn, compositing, video
decoding / encoding) is overhead. This module makes that overhead nearly
free and runs G_TSF as fast as the hardware allows, with the *same maths*:

* :class:`FastTSF`: an executor of an :class:`~mmlwgan.models.generators.
  LWBGenerator`'s ``decode_targets`` that reads the generator's own weights
  (nothing is copied but the merged heads, refreshed whenever a weight
  changes, e.g. after personalisation) and runs

  - batches of frames, ``torch.inference_mode``;
  - ``channels_last`` activations where they pay (on CUDA everywhere; on
    a oneDNN CPU everywhere but the 512-channel bottleneck, where NCHW is
    faster: the ``'hybrid'`` layout); the instance norms of channels-last
    tensors are computed in place of PyTorch's ``instance_norm`` (which
    copies them to NCHW and back) with the same statistics, fused with the
    ReLU;
  - the two 7x7 heads (colour, mask) as one convolution;
  - the flow resized once per feature resolution (the release resizes it
    at each of the 9 fusion points; 6 share one resolution);
  - optional autocast (fp16 / bf16 on GPU, bf16 on CPU: a numerical
    change, off by default) and optional ``torch.compile`` (with Inductor
    freezing on CPU, recompiled when the weights change).

* :class:`ImitationPipeline`: geometry of batch k+1 (SMPL, rasterization,
  vectorised flow, condition map, I_syn) and the conversion / video
  encoding of batch k-1 run in worker threads while the generator runs
  batch k (PyTorch and OpenCV release the GIL). On CUDA, frames come back
  through pinned memory with an event, so the copy overlaps too.

* :class:`ReleaseBaseline`: the release's algorithm the release's way, from
  our own modules: batch 1, the flow composed per sample with a Python loop
  over the batch (the release's ``cal_bc_transform``), source features
  encoded once, the generator's plain modules (NCHW, fp32), every stage
  sequential. ``tools/analysis_tools/benchmark.py`` measures both side by
  side.

The fast path gives the same frames as the plain path within float
tolerance (``tests/test_apis/test_fast_path.py``).
"""
import queue
import threading
import time
from collections import defaultdict
from contextlib import contextmanager, nullcontext
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional,
                    Tuple)

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmlwgan.models.flows.flow import resize_flow
from mmlwgan.models.generators.lwb import LiquidWarpingBlock
from mmlwgan.models.generators.lwb_generator import (broadcast_batch,
                                                     compose,
                                                     prepared_features)

__all__ = [
    'FastTSF', 'ImitationPipeline', 'ReleaseBaseline', 'StageTimer',
    'instance_norm_act', 'compose_flow_loop', 'frames_to_uint8'
]

_CL = torch.channels_last
_LOW_PRECISION = (torch.float16, torch.bfloat16)


# ----------------------------------------------------------------------
# timing
# ----------------------------------------------------------------------
class StageTimer:
    """Accumulate wall time per named stage (CUDA-synchronised when asked).

    Args:
        sync (bool): call ``torch.cuda.synchronize()`` around each stage
            (needed for meaningful per-stage GPU times; it serialises the
            pipeline, so leave it off for throughput runs).
    """

    def __init__(self, sync: bool = False) -> None:
        self.sync = sync and torch.cuda.is_available()
        self.total: Dict[str, float] = defaultdict(float)
        self.count: Dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self, name: str, n: int = 1) -> Iterator[None]:
        if self.sync:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        try:
            yield
        finally:
            if self.sync:
                torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            with self._lock:
                self.total[name] += dt
                self.count[name] += n

    def per_item_ms(self) -> Dict[str, float]:
        """Milliseconds per item (frame) of every stage."""
        return {k: 1e3 * v / max(self.count[k], 1)
                for k, v in self.total.items()}


_NULL_TIMER = None


def _timer(timer: Optional[StageTimer]) -> StageTimer:
    global _NULL_TIMER
    if timer is not None:
        return timer
    if _NULL_TIMER is None:
        _NULL_TIMER = _NoTimer()
    return _NULL_TIMER


class _NoTimer(StageTimer):

    @contextmanager
    def __call__(self, name: str, n: int = 1) -> Iterator[None]:
        yield


# ----------------------------------------------------------------------
# building blocks
# ----------------------------------------------------------------------
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


def compose_flow_loop(face_idx: Tensor, bary: Tensor, faces: Tensor,
                      src_verts_ndc: Tensor,
                      src_visible_faces: Optional[Tensor] = None,
                      bg_value: float = -2.0) -> Tensor:
    """The release's ``cal_bc_transform``: the flow composed one sample at a
    time with a Python loop over the batch (for the baseline).

    Same arguments and result as
    :func:`mmlwgan.models.flows.compose_flow`.
    """
    B, H, W = face_idx.shape
    out = torch.full((B, H, W, 2), bg_value, dtype=src_verts_ndc.dtype,
                     device=face_idx.device)
    faces = faces if faces.dim() == 3 else faces.unsqueeze(0).expand(
        B, -1, -1)
    for i in range(B):
        # the release's f2pts: projected source vertices of every face
        f2p = src_verts_ndc[i, :, :2][faces[i]]  # (F, 3, 2)
        fim = face_idx[i]
        mask = fim >= 0
        if src_visible_faces is not None:
            mask = mask & src_visible_faces[i][fim.clamp(min=0)]
        idx = fim[mask]
        w = bary[i][mask].to(f2p.dtype)  # (P, 3)
        out[i][mask] = (w.unsqueeze(-1) * f2p[idx]).sum(dim=-2)
    return out


def frames_to_uint8(imgs: Tensor) -> Tensor:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8 on the same device
    (the rounding of the inferencers' ``_as_uint8``)."""
    return ((imgs.detach().float().clamp(-1, 1) + 1) * 127.5 + 0.5).to(
        torch.uint8).permute(0, 2, 3, 1).contiguous()


# ----------------------------------------------------------------------
# G_TSF executor
# ----------------------------------------------------------------------
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
        a, b = self.net.img_reg[0], self.net.attention_reg[0]
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
        a, b = self.net.img_reg[0].weight, self.net.attention_reg[0].weight
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

    def _cbr(self, seq: nn.Sequential, x: Tensor) -> Tensor:
        """conv -> instance norm -> ReLU (``conv_norm_relu``)."""
        return instance_norm_act(self._conv(seq[0], x), seq[1], relu=True)

    def _resblock(self, block: nn.Module, x: Tensor) -> Tensor:
        m = block.main
        y = instance_norm_act(self._conv(m[0], x), m[1], relu=True)
        y = instance_norm_act(self._conv(m[3], y), m[4], relu=False)
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
        slot = gen._fusion_slot.get(i)
        if slot is None:
            return None
        block = gen.fusions[slot]
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
            head = net.img_reg[0]
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
            head = net.img_reg[0]
            w = torch.cat([head.weight, net.attention_reg[0].weight], 0)
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
        out = dict(tsf_color=color, tsf_mask=mask)
        if bg is not None:
            out['tsf_img'] = compose(color, mask, bg)
        return out

    __call__ = decode_targets


# ----------------------------------------------------------------------
# threads
# ----------------------------------------------------------------------
_DONE = object()


class _Worker:
    """A thread applying ``fn`` to the items of an input queue, in order,
    putting results on its output queue; errors travel with the items."""

    def __init__(self, fn: Callable[[Any], Any], inbox: 'queue.Queue',
                 maxsize: int = 2, name: str = 'worker',
                 no_grad: bool = True, keep_results: bool = True) -> None:
        self.fn = fn
        self.inbox = inbox
        self.keep_results = keep_results
        self.outbox: 'queue.Queue' = queue.Queue(maxsize)
        self.stop = threading.Event()
        self.no_grad = no_grad
        self.thread = threading.Thread(target=self._loop, name=name,
                                       daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        # inference mode is thread local
        with torch.inference_mode(self.no_grad):
            while not self.stop.is_set():
                item = self.inbox.get()
                if item is _DONE:
                    self._put(_DONE)
                    return
                if isinstance(item, _Failure):
                    self._put(item)
                    return
                try:
                    res = self.fn(item)
                except BaseException as e:  # noqa: BLE001
                    self._put(_Failure(e))
                    return
                if self.keep_results:
                    self._put(res)

    def _put(self, item: Any) -> None:
        while not self.stop.is_set():
            try:
                self.outbox.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        self.stop.set()
        # unblock a get()
        try:
            self.inbox.put_nowait(_DONE)
        except queue.Full:
            pass
        self.thread.join(timeout=10)


class _Failure:

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _feed(items: Iterable[Any], box: 'queue.Queue',
          stop: threading.Event) -> threading.Thread:

    def run() -> None:
        try:
            for it in items:
                while not stop.is_set():
                    try:
                        box.put(it, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as e:  # noqa: BLE001
            box.put(_Failure(e))
            return
        box.put(_DONE)

    t = threading.Thread(target=run, name='feed', daemon=True)
    t.start()
    return t


# ----------------------------------------------------------------------
# the pipeline
# ----------------------------------------------------------------------
class ImitationPipeline:
    """Batched, overlapped motion imitation against encoded sources.

    Stages per batch of target thetas::

        geometry  (thread)  SMPL -> NDC -> rasterize -> flow -> cond -> I_syn
        generate  (caller)  G_TSF (FastTSF or decode_targets) -> compose
        emit      (thread)  -> uint8 (pinned copy on CUDA) -> sink(frames)

    On the CPU, freed memory is kept for reuse by then: the inferencer turned
    that on when it was built (:func:`mmlwgan.utils.retain_freed_memory`).

    Args:
        inferencer: a :class:`BaseLWGANInferencer` (its model, geometry
            helpers and device).
        enc (dict): output of ``inferencer.encode_sources``.
        batch_size (int): frames per generator call.
        fast (bool | FastTSF): use :class:`FastTSF` (True builds one with
            the defaults; a FastTSF instance is used as given); False runs
            ``generator.decode_targets``. Unsupported generators fall back
            to ``decode_targets``.
        overlap (bool): run geometry and emission in worker threads.
        front_warp (bool): paste the directly warped face pixels.
        timer (StageTimer, optional): per-stage wall times (in the
            overlapped pipeline they overlap: use ``overlap=False`` with a
            synchronising timer for a breakdown).
    """

    def __init__(self,
                 inferencer,
                 enc: Dict[str, Any],
                 batch_size: int = 8,
                 fast: Any = True,
                 overlap: bool = True,
                 front_warp: bool = False,
                 timer: Optional[StageTimer] = None) -> None:
        self.inf = inferencer
        self.enc = enc
        self.batch_size = int(batch_size)
        self.overlap = overlap
        self.front_warp = front_warp
        self.timer = _timer(timer)
        gen = inferencer.model.generator
        if isinstance(fast, FastTSF):
            self.tsf = fast
        elif fast and FastTSF.supports(gen):
            self.tsf = FastTSF(gen)
        else:
            self.tsf = None
        self.device = inferencer.device

    # -------------------------------------------------------- stages
    def geometry(self, theta: Tensor) -> Dict[str, Tensor]:
        """(N, 85) target thetas -> the generator's inputs."""
        inf, t = self.inf, self.timer
        n = theta.shape[0]
        theta = theta.to(self.device, non_blocking=True)
        with t('smpl', n):
            ndc, _ = inf.project(theta)
        return self.geometry_from_ndc(ndc)

    def geometry_from_ndc(self, ndc: Tensor) -> Dict[str, Tensor]:
        inf, t, enc = self.inf, self.timer, self.enc
        n = ndc.shape[0]
        with t('rasterize', n):
            frags = inf.rasterize(ndc)
        with t('flow', n):
            flows = inf.compose_flows(frags, enc['ndc'], enc['visible'])
        with t('cond+warp', n):
            cond = inf.model._cond(frags)
            warped = inf.model.warp(enc['img0'].expand(n, -1, -1, -1),
                                    flows[:, 0])
            tsf_inputs = torch.cat([warped, cond], 1)
        return dict(tsf_inputs=tsf_inputs, flows=flows, warped=warped,
                    face_idx=frags.face_idx)

    def generate(self, geo: Dict[str, Tensor]) -> Tensor:
        """Generator inputs -> (N, 3, H, W) images in [-1, 1]."""
        enc, t = self.enc, self.timer
        n = geo['tsf_inputs'].shape[0]
        with t('G_TSF+compose', n):
            if self.tsf is not None:
                out = self.tsf(geo['tsf_inputs'], geo['flows'], enc['cache'],
                               enc['bg'])
            else:
                out = self.inf.model.generator.decode_targets(
                    geo['tsf_inputs'], geo['flows'], enc['cache'], enc['bg'])
        img = out['tsf_img']
        if self.front_warp:
            img = self.inf.paste_region(img, geo['warped'], out['tsf_mask'],
                                        geo['face_idx'],
                                        self.inf.front_faces(),
                                        geo['flows'][:, 0])
        return img

    def to_host(self, img: Tensor) -> Any:
        """Start moving frames to the host: uint8 (N, H, W, 3) on the
        device, then a pinned non-blocking copy + event on CUDA."""
        u8 = frames_to_uint8(img)
        if u8.device.type == 'cuda':
            host = torch.empty(u8.shape, dtype=torch.uint8, pin_memory=True)
            host.copy_(u8, non_blocking=True)
            ev = torch.cuda.Event()
            ev.record()
            return host, ev
        return u8, None

    @staticmethod
    def host_frames(item: Any) -> List[np.ndarray]:
        host, ev = item
        if ev is not None:
            ev.synchronize()
        return list(host.numpy())

    # -------------------------------------------------------- driving
    def batches(self, thetas: Any) -> Iterator[Tensor]:
        """Split (N, 85) thetas (array or tensor) into batches."""
        th = torch.as_tensor(np.asarray(thetas) if not isinstance(
            thetas, Tensor) else thetas, dtype=torch.float32)
        for s in range(0, th.shape[0], self.batch_size):
            yield th[s:s + self.batch_size]

    def run(self, thetas: Any,
            sink: Callable[[List[np.ndarray], int], None]) -> int:
        """Synthesize one frame per target theta.

        Args:
            thetas: (N, 85) target thetas (array or tensor), or an iterable
                of (n, 85) tensor batches.
            sink (callable): ``sink(frames, start)`` receives each batch of
                (H, W, 3) uint8 RGB frames in order (``start`` = index of
                the first frame of the batch).

        Returns:
            int: the number of frames made.
        """
        if isinstance(thetas, (np.ndarray, Tensor)):
            batches = self.batches(thetas)
        else:
            batches = iter(thetas)
        if not self.overlap:
            return self._run_serial(batches, sink)
        return self._run_overlapped(batches, sink)

    def _emit(self, sink, start: int, item: Any) -> int:
        with self.timer('emit', 1):
            frames = self.host_frames(item)
            sink(frames, start)
        return len(frames)

    def _run_serial(self, batches, sink) -> int:
        n = 0
        with torch.inference_mode():
            for theta in batches:
                img = self.generate(self.geometry(theta))
                n += self._emit(sink, n, self.to_host(img))
        return n

    def _run_overlapped(self, batches, sink) -> int:
        stop = threading.Event()
        feed_box: 'queue.Queue' = queue.Queue(2)
        feeder = _feed(batches, feed_box, stop)
        geo = _Worker(self.geometry, feed_box, maxsize=2, name='geometry')
        emit_box: 'queue.Queue' = queue.Queue(2)
        counter = dict(n=0)

        def emit(item):
            counter['n'] += self._emit(sink, counter['n'], item)
            return None

        emitter = _Worker(emit, emit_box, maxsize=2, name='emit',
                          keep_results=False)
        error: Optional[BaseException] = None
        try:
            with torch.inference_mode():
                while True:
                    item = geo.outbox.get()
                    if item is _DONE:
                        break
                    if isinstance(item, _Failure):
                        raise item.exc
                    host = self.to_host(self.generate(item))
                    self._put_checked(emit_box, host, emitter)
            self._put_checked(emit_box, _DONE, emitter)
            while True:
                res = emitter.outbox.get()
                if res is _DONE:
                    break
                if isinstance(res, _Failure):
                    raise res.exc
        except BaseException as e:  # noqa: BLE001
            error = e
        finally:
            stop.set()
            geo.close()
            emitter.close()
            feeder.join(timeout=10)
        if error is not None:
            raise error
        return counter['n']

    @staticmethod
    def _put_checked(box: 'queue.Queue', item: Any, worker: _Worker) -> None:
        while True:
            try:
                box.put(item, timeout=0.1)
                return
            except queue.Full:
                # a full queue may mean a dead emitter: surface its error
                try:
                    res = worker.outbox.get_nowait()
                except queue.Empty:
                    continue
                if isinstance(res, _Failure):
                    raise res.exc


# ----------------------------------------------------------------------
# the release's way
# ----------------------------------------------------------------------
class ReleaseBaseline:
    """The release's motion-imitation loop, built from our modules.

    One frame at a time (batch 1): SMPL, projection, rasterization, the flow
    composed with the per-sample Python loop of the release's
    ``cal_bc_transform`` (:func:`compose_flow_loop`), the condition map,
    I_syn, then the generator's plain ``decode_targets`` (NCHW, fp32) with
    the source features encoded once, then conversion and the sink, all
    sequential under ``torch.no_grad``.

    Args:
        inferencer: a :class:`BaseLWGANInferencer`.
        enc (dict): output of ``inferencer.encode_sources``.
        timer (StageTimer, optional): per-stage wall times.
    """

    def __init__(self, inferencer, enc: Dict[str, Any],
                 timer: Optional[StageTimer] = None) -> None:
        self.inf = inferencer
        self.enc = enc
        self.timer = _timer(timer)

    def flows(self, frags) -> Tensor:
        """(N, S, H, W, 2) flows to the sources, per-sample loop."""
        inf, enc = self.inf, self.enc
        src_ndc, vis = enc['ndc'], enc['visible']
        N = frags.face_idx.shape[0]
        S = src_ndc.shape[0]
        out = []
        for s in range(S):
            fl = compose_flow_loop(
                frags.face_idx, frags.bary, inf.faces,
                src_ndc[s:s + 1].expand(N, -1, -1),
                None if vis is None else vis[s:s + 1].expand(N, -1),
                inf.model.flow_composer.bg_value)
            out.append(fl)
        return torch.stack(out, 1)

    def frame(self, theta: Tensor) -> Tensor:
        """(1, 85) -> (1, 3, H, W) in [-1, 1]."""
        inf, enc, t = self.inf, self.enc, self.timer
        with t('smpl'):
            ndc, _ = inf.project(theta.to(inf.device))
        with t('rasterize'):
            frags = inf.rasterize(ndc)
        with t('flow'):
            flows = self.flows(frags)
        with t('cond+warp'):
            cond = inf.model._cond(frags)
            warped = inf.model.warp(enc['img0'], flows[:, 0])
            tsf_inputs = torch.cat([warped, cond], 1)
        with t('G_TSF+compose'):
            out = inf.model.generator.decode_targets(tsf_inputs, flows,
                                                     enc['cache'], enc['bg'])
        return out['tsf_img']

    @torch.no_grad()
    def run(self, thetas: Any,
            sink: Callable[[List[np.ndarray], int], None]) -> int:
        """Same contract as :meth:`ImitationPipeline.run` (frames come one
        at a time)."""
        th = torch.as_tensor(np.asarray(thetas) if not isinstance(
            thetas, Tensor) else thetas, dtype=torch.float32)
        for i in range(th.shape[0]):
            img = self.frame(th[i:i + 1])
            with self.timer('emit'):
                sink(list(frames_to_uint8(img).cpu().numpy()), i)
        return th.shape[0]

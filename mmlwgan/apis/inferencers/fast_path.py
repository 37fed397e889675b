# Copyright (c) mmlwgan contributors. All rights reserved.
"""The optimised, batched motion-imitation pipeline.

Per target frame the Liquid Warping GAN must run G_TSF; everything else
(SMPL, rasterization, flow, condition map, I_syn, compositing, video
decoding / encoding) is overhead. :class:`ImitationPipeline` hides it: the
geometry of batch k+1 (the model's own ``target_frames_inputs``) and the
conversion / video encoding of batch k-1 run in worker threads while the
generator runs batch k (PyTorch and OpenCV release the GIL), G_TSF through
:class:`~mmlwgan.models.generators.FastTSF`. On CUDA, frames come back
through pinned memory with an event, so the copy overlaps too.

The release-way baseline it is measured against is
``tools/analysis_tools/release_baseline.py``. The pipeline gives the same
frames as the plain path within float tolerance
(``tests/test_apis/test_fast_path.py``).
"""
import queue
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import (Any, Callable, Dict, Iterable, Iterator, List,
                    Optional)

import numpy as np
import torch
from torch import Tensor

from mmlwgan.models.generators.fast_tsf import FastTSF

__all__ = ['ImitationPipeline', 'StageTimer', 'frames_to_uint8']


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


def frames_to_uint8(imgs: Tensor) -> Tensor:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) uint8 on the same device
    (the rounding of the inferencers' ``_as_uint8``)."""
    return ((imgs.detach().float().clamp(-1, 1) + 1) * 127.5 + 0.5).to(
        torch.uint8).permute(0, 2, 3, 1).contiguous()


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
        """(N, V, 3) target meshes -> the model's
        ``target_frames_inputs`` (rasterization, flows, cond, I_syn)."""
        with self.timer('geometry', ndc.shape[0]):
            return self.inf.model.target_frames_inputs(self.enc, ndc)

    def generate(self, geo: Dict[str, Tensor]) -> Tensor:
        """Generator inputs -> (N, 3, H, W) images in [-1, 1]."""
        enc, t = self.enc, self.timer
        n = geo['tsf_inputs'].shape[0]
        with t('G_TSF+compose', n):
            if self.tsf is not None:
                out = self.tsf(geo['tsf_inputs'], geo['flow'], enc['cache'],
                               enc['bg'])
            else:
                out = self.inf.model.generator.decode_targets(
                    geo['tsf_inputs'], geo['flow'], enc['cache'], enc['bg'])
        img = out['tsf_img']
        if self.front_warp:
            img = self.inf.paste_region(img, geo['warped'], out['tsf_mask'],
                                        geo['tgt_fragments'].face_idx,
                                        self.inf.front_faces(),
                                        geo['flow'][:, 0])
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

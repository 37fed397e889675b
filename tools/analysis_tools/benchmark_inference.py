# Copyright (c) mmlwgan contributors. All rights reserved.
"""Motion-imitation inference benchmark: our batched, overlapped path
against the release's way, and both against the G_TSF floor.

For every device / model / image size it measures, interleaved in rounds
(configurations alternate, so that a background load hits them alike; the
best round of each is kept):

* **ours**: :class:`~mmlwgan.apis.inferencers.fast_path.ImitationPipeline`
  at each ``--batch``: batched geometry (SMPL, rasterization, vectorised
  flow, condition map, I_syn) in a worker thread, G_TSF through
  :class:`~mmlwgan.models.generators.FastTSF` (inference mode,
  the device's best memory layout, merged heads, optional autocast /
  ``torch.compile``), conversion and mp4 encoding in another thread;
* **ours, serial**: the same without the threads (what overlap buys);
* **baseline**: :class:`release_baseline.ReleaseBaseline`,
  the release's algorithm the release's way from our own modules (batch 1,
  per-sample Python loop for the flow, source features encoded once, plain
  NCHW fp32 modules, every stage sequential), mp4 encoding included;
* **G_TSF floor**: FastTSF alone on precomputed inputs, same batch and
  precision as ours: what the generator itself costs.

On the CPU our inferencers make glibc keep freed memory for reuse
(:func:`mmlwgan.utils.retain_freed_memory`, process-wide and permanent),
which saves re-faulting every activation's pages each frame; the release's
process does not. So the baseline row runs in a child process with
glibc's defaults (:class:`PristineBaseline`, driven between our rounds),
and a second row, **baseline + our malloc setting**, runs the same loop in
this process: ours over that row is what the rest of the design gains.
``MMLWGAN_RETAIN_FREED_MEMORY=0`` turns the setting off (then the baseline
runs in this process and that row is not shown).

It prints frames/s, peak memory (CPU: the process's peak RSS, reset before
each run; CUDA: ``torch.cuda.max_memory_allocated``), ours / baseline,
ours / floor, the largest pixel difference between our frames and the
baseline's, and a per-stage breakdown (HMR, SMPL, rasterize, flow, I_syn,
G_TSF, compose, video decode / encode; geometry also with an SMPL-sized
mesh of 6,890 vertices / 13,776 faces). Networks are randomly initialised
(speed does not depend on the weights); the body is the synthetic
SMPL-format one (3,362 vertices). Training iterations/s, personalisation
and the lite generator's fidelity are ``benchmark_training.py``'s; what
both share is in ``benchmark_utils.py``.

Timings on a shared machine are distorted by other processes: compare the
ratios of one run (the load average is printed).

Examples:
    # CPU, 256 px, full and lite generators (about 3 minutes on 2 cores)
    python tools/analysis_tools/benchmark_inference.py --sizes 256 --batch 1 2
    # CPU 128 px, plus bf16 autocast (a numerical change: PSNR printed)
    python tools/analysis_tools/benchmark_inference.py --sizes 128 \\
        --amp none bf16
    # GPU: 256 and 512 px batched, torch.compile
    python tools/analysis_tools/benchmark_inference.py --device cuda \\
        --sizes 256 512 --batch 8 32 64 --frames 256 --compile
"""
import gc
import math
import os
import os.path as osp
import sys
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

# the sibling modules (benchmark_utils, release_baseline,
# benchmark_geometry), also when this file is loaded by path (tests);
# benchmark_utils first: it sets OMP_WAIT_POLICY before torch is loaded
HERE = osp.dirname(osp.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
from benchmark_utils import (  # noqa: E402
    AMP_DTYPES, GENERATORS, add_common_args, best_time, build_hmr,
    build_inferencer, cuda_missing, finish_args, load_average, make_inputs,
    make_parser, print_end, print_goals, setup, sync, timed_call)

import numpy as np  # noqa: E402
import torch  # noqa: E402


# ----------------------------------------------------------------------
# end-to-end runs
# ----------------------------------------------------------------------
def read_video(path: str) -> List[np.ndarray]:
    """All frames of a video, uint8 RGB."""
    from mmlwgan.datasets.video_io import iter_video_frames
    return list(iter_video_frames(path))


class VideoSink:
    """Write frames to an mp4 (``AtomicVideoWriter``), optionally keeping
    them."""

    def __init__(self, path: str, keep: bool = False) -> None:
        from mmlwgan.utils import AtomicVideoWriter
        self.writer = AtomicVideoWriter(path, fps=30)
        self.keep = keep
        self.frames: List[np.ndarray] = []

    def __enter__(self) -> 'VideoSink':
        self.writer.__enter__()
        return self

    def __call__(self, frames: Sequence[np.ndarray], start: int) -> None:
        for f in frames:
            self.writer.write(f)
        if self.keep:
            self.frames.extend(frames)

    def __exit__(self, *exc) -> Any:
        return self.writer.__exit__(*exc)


class Case:
    """One timed configuration."""

    def __init__(self, name: str, kind: str, batch: int,
                 fn: Callable[[bool], Any], frames: int,
                 amp: str = 'none') -> None:
        self.name, self.kind, self.batch, self.amp = name, kind, batch, amp
        self.fn = fn
        self.frames = frames
        self.times: List[float] = []
        self.cpu_times: List[float] = []
        self.mem = float('nan')
        self.out: Any = None

    @property
    def best(self) -> float:
        return min(self.times) if self.times else float('nan')

    @property
    def fps(self) -> float:
        return self.frames / self.best

    @property
    def cpu_ms(self) -> float:
        """Best process CPU time per frame (all threads), ms."""
        return 1e3 * min(self.cpu_times) / self.frames


def hmr_thetas(hmr, frames: Sequence[np.ndarray], ref_theta: np.ndarray,
               src_theta: np.ndarray, device: torch.device) -> np.ndarray:
    """Run HMR on reference frames (its cost) and return the known target
    thetas (random HMR weights would give meaningless bodies, whose
    rasterization cost is not representative)."""
    from mmlwgan.apis.inferencers import compose_target_thetas
    from mmlwgan.models.body import prepare_hmr_inputs
    hmr(prepare_hmr_inputs(list(frames), device=device))
    return compose_target_thetas(src_theta[0], ref_theta, 'source')


def release_way_run(inf, enc, tgt: np.ndarray, ins: Dict[str, Any], hmr,
                    device: torch.device, path: str, keep: bool,
                    first: Optional[int] = None, timer=None
                    ) -> List[np.ndarray]:
    """The baseline: the release's loop (one frame at a time, decode + HMR
    per frame with ``hmr``), frames written to ``path``; returns the frames
    when ``keep``."""
    from release_baseline import ReleaseBaseline

    from mmlwgan.apis.inferencers.fast_path import frames_to_uint8
    k = len(tgt) if first is None else first
    bl = ReleaseBaseline(inf, enc, timer)
    with VideoSink(path, keep=keep) as sink:
        if hmr is None:
            bl.run(tgt[:k], sink)
        else:
            from mmlwgan.datasets.video_io import iter_video_frames
            frames = iter_video_frames(ins['video'], k)
            try:  # decode + HMR one frame at a time
                for i, fr in enumerate(frames):
                    th = hmr_thetas(hmr, [fr], ins['ref_theta'][i:i + 1],
                                    ins['src_theta'], device)
                    with torch.no_grad():
                        img = bl.frame(torch.from_numpy(th))
                    sink(list(frames_to_uint8(img).cpu().numpy()), i)
            finally:
                frames.close()
    return sink.frames


class PristineBaseline:
    """The release-way baseline in a child process with glibc's default
    malloc behaviour (the release's process), driven from this one.

    Our inferencers make glibc keep freed memory (a process-wide setting that
    cannot be undone: glibc's dynamic mmap threshold stays off), so the
    baseline cannot be measured in this process as the release would run.
    The child builds the same inferencer (same seed, same weights), sources
    and inputs, then runs the baseline whenever asked, between our rounds,
    so background load still hits both alike; nothing runs concurrently.
    Requests and replies are pickles over the child's stdin / stdout (its
    prints go to stderr).
    """

    def __init__(self, spec: Dict[str, Any], tmp: str) -> None:
        import pickle
        import subprocess
        path = osp.join(tmp, f"baseline_spec_{spec['size']}.pkl")
        with open(path, 'wb') as f:
            pickle.dump(spec, f)
        env = dict(os.environ, MMLWGAN_RETAIN_FREED_MEMORY='0')
        self.proc = subprocess.Popen(
            [sys.executable, osp.abspath(__file__), '--baseline-server',
             path], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._recv()  # ready

    def _recv(self) -> Any:
        import pickle
        try:
            msg = pickle.load(self.proc.stdout)
        except EOFError:
            raise RuntimeError('the baseline process died (exit code '
                               f'{self.proc.wait()})') from None
        if isinstance(msg, BaseException):
            raise msg
        return msg

    def run(self, keep: bool, first: Optional[int] = None
            ) -> Tuple[float, float, float, List[np.ndarray]]:
        import pickle
        pickle.dump(('run', keep, first), self.proc.stdin)
        self.proc.stdin.flush()
        return self._recv()

    def stage_times(self) -> Dict[str, float]:
        import pickle
        pickle.dump(('stages', ), self.proc.stdin)
        self.proc.stdin.flush()
        return self._recv()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001
                self.proc.kill()


def baseline_server(spec_path: str) -> None:
    """Child side of :class:`PristineBaseline`."""
    import pickle
    out = os.fdopen(os.dup(1), 'wb')
    os.dup2(2, 1)  # anything printed goes to stderr
    inp = sys.stdin.buffer
    try:
        with open(spec_path, 'rb') as f:
            spec = pickle.load(f)
        torch.set_num_threads(spec['threads'])
        from mmlwgan.apis.inferencers.fast_path import StageTimer
        from mmlwgan.utils import register_all_modules
        register_all_modules(init_default_scope=False)
        device = torch.device(spec['device'])
        inf = build_inferencer(spec['model'], spec['size'],
                               spec['smpl_path'], device)
        ins = spec['ins']
        with torch.inference_mode():
            enc = inf.encode_sources(
                inf.prepare_sources(ins['src_img'], ins['src_theta']))
        hmr = build_hmr(device) if spec['hmr'] else None
        timer = StageTimer(sync=True)
        path = osp.join(osp.dirname(spec_path), 'baseline_child.mp4')
        pickle.dump('ready', out)
        out.flush()
    except BaseException as e:  # noqa: BLE001
        pickle.dump(RuntimeError(f'baseline process: {e!r}'), out)
        out.flush()
        return
    while True:
        try:
            cmd = pickle.load(inp)
        except EOFError:
            return
        try:
            if cmd[0] == 'stages':
                reply = timer.per_item_ms()
            else:
                _, keep, first = cmd
                reply = timed_call(lambda: release_way_run(
                    inf, enc, spec['tgt'], ins, hmr, device, path, keep,
                    first, timer if keep else None), device)
        except BaseException as e:  # noqa: BLE001
            reply = RuntimeError(f'baseline process: {e!r}')
        pickle.dump(reply, out)
        out.flush()


def bench_e2e(args, device: torch.device, model: str, size: int,
              smpl_path: str, tmp: str) -> Dict[str, Any]:
    from mmlwgan.apis.inferencers import compose_target_thetas
    from mmlwgan.apis.inferencers.fast_path import (ImitationPipeline,
                                                    StageTimer)
    from mmlwgan.models.generators import FastTSF
    n = args.frames or {64: 16, 128: 16, 256: 8}.get(size, 2)
    if device.type == 'cuda' and not args.frames:
        n = max(args.batch) * 4
    batches = [b for b in args.batch if b <= n]
    ins = make_inputs(smpl_path, size, n, tmp)
    inf = build_inferencer(model, size, smpl_path, device)
    gen = inf.model.generator
    tgt = compose_target_thetas(ins['src_theta'][0], ins['ref_theta'],
                                'smooth')
    hmr = build_hmr(device) if args.hmr else None
    with torch.inference_mode():
        state = inf.prepare_sources(ins['src_img'], ins['src_theta'])
        enc = inf.encode_sources(state)
    fasts = {}
    for amp in args.amp_list(device):
        fasts[amp] = FastTSF(gen, amp_dtype=AMP_DTYPES[amp],
                             compile=args.compile,
                             compile_mode=args.compile_mode)

    cases: List[Case] = []
    base_timer = StageTimer(sync=True)

    from mmlwgan.utils import freed_memory_retained
    pristine = None
    if device.type == 'cpu' and freed_memory_retained():
        pristine = PristineBaseline(
            dict(device=str(device), model=model, size=size,
                 smpl_path=smpl_path, ins=ins, tgt=tgt, hmr=args.hmr,
                 threads=torch.get_num_threads()), tmp)

    def run_baseline(timed: bool, first: Optional[int] = None) -> Any:
        return release_way_run(inf, enc, tgt, ins, hmr, device,
                               osp.join(tmp, 'baseline.mp4'), timed,
                               n if first is None else first,
                               base_timer if timed and pristine is None
                               else None)

    def ours_batches(b: int, k: int):
        """Target theta batches; with --hmr, decoded from the reference
        video and run through HMR batch by batch (in the feeder thread)."""
        if hmr is None:
            for s in range(0, k, b):
                yield torch.from_numpy(tgt[s:s + b])
            return
        from itertools import islice

        from mmlwgan.datasets.video_io import iter_video_frames
        video = iter_video_frames(ins['video'], k)
        try:
            for s in range(0, k, b):
                frames = list(islice(video, min(b, k - s)))
                with torch.inference_mode():
                    th = hmr_thetas(hmr, frames, ins['ref_theta'][s:s + b],
                                    ins['src_theta'], device)
                yield torch.from_numpy(th)
        finally:
            video.close()

    def run_ours(b: int, amp: str, overlap: bool, timed: bool,
                 first: Optional[int] = None) -> Any:
        k = n if first is None else first
        pipe = ImitationPipeline(inf, enc, b, fast=fasts[amp],
                                 overlap=overlap)
        path = osp.join(tmp, f'ours_{b}_{amp}.mp4')
        with VideoSink(path, keep=timed) as sink:
            pipe.run(ours_batches(b, k), sink)
        return sink.frames

    # precomputed generator inputs for the floor
    geo_cache: Dict[int, List[Dict[str, torch.Tensor]]] = {}

    def floor_inputs(b: int) -> List[Dict[str, torch.Tensor]]:
        if b not in geo_cache:
            pipe = ImitationPipeline(inf, enc, b, fast=False,
                                     overlap=False)
            with torch.inference_mode():
                geo_cache[b] = [pipe.geometry(th)
                                for th in pipe.batches(tgt)]
        return geo_cache[b]

    def run_floor(b: int, amp: str, timed: bool,
                  first: Optional[int] = None) -> Any:
        geos = floor_inputs(b)[:1 if first is not None else None]
        fast = fasts[amp]
        with torch.inference_mode():
            for g in geos:
                fast(g['tsf_inputs'], g['flow'], enc['cache'], enc['bg'])
        sync(device)

    if pristine is not None:
        cases.append(Case('baseline (release way, batch 1)', 'baseline', 1,
                          pristine.run, n))
        cases[-1].remote = True
        cases.append(Case('baseline + our malloc setting', 'baseline_ra', 1,
                          run_baseline, n))
    else:
        cases.append(Case('baseline (release way, batch 1)', 'baseline', 1,
                          run_baseline, n))
    for amp in fasts:
        for b in batches:
            cases.append(Case(f'ours batch {b}' + (
                f' {amp}' if amp != 'none' else ''), 'ours', b,
                lambda timed, first=None, b=b, amp=amp: run_ours(
                    b, amp, True, timed, first), n, amp))
            cases.append(Case(f'G_TSF floor batch {b}' + (
                f' {amp}' if amp != 'none' else ''), 'floor', b,
                lambda timed, first=None, b=b, amp=amp: run_floor(
                    b, amp, timed, first), n, amp))
    if not args.no_serial:
        b, amp = batches[-1], list(fasts)[0]
        cases.append(Case(f'ours batch {b}, no overlap' + (
            f' {amp}' if amp != 'none' else ''), 'serial', b,
            lambda timed, first=None, b=b, amp=amp: run_ours(
                b, amp, False, timed, first), n, amp))

    # warm-up: one batch of each (oneDNN / cuDNN setup, compilation)
    t0 = time.perf_counter()
    for c in cases:
        c.fn(False, first=c.batch)
    warm = time.perf_counter() - t0
    for rnd in range(args.repeats):
        for c in cases:
            if getattr(c, 'remote', False):
                dt, cpu, mib, out = c.fn(rnd == 0)
            else:
                # a retained heap is part of our footprint: not trimmed
                dt, cpu, mib, out = timed_call(
                    lambda: c.fn(rnd == 0), device,
                    trim=not freed_memory_retained())
            c.cpu_times.append(cpu)
            c.times.append(dt)
            c.mem = mib if math.isnan(c.mem) else max(c.mem, mib)
            if rnd == 0:
                c.out = out
    if pristine is not None:
        for k, v in pristine.stage_times().items():  # ms per frame
            base_timer.total[k] = v / 1e3
            base_timer.count[k] = 1
        pristine.close()
    base = cases[0]
    ref = np.stack(base.out) if base.out else None
    for c in cases:
        if c.kind in ('ours', 'serial') and c.out and ref is not None:
            got = np.stack(c.out).astype(np.int16)
            diff = np.abs(got - ref.astype(np.int16))
            mse = float(np.mean(diff.astype(np.float64)**2))
            c.maxdiff = int(diff.max())
            c.psnr = float('inf') if mse == 0 else 10 * math.log10(
                255**2 / mse)
        c.out = None
    res = dict(device=device.type, model=model, size=size, frames=n,
               cases=cases, warmup_s=warm, base_timer=base_timer,
               compile_errors={a: f.compile_error for a, f in fasts.items()
                               if f.compile_error})
    print_e2e(args, res)
    if not args.no_breakdown:
        res['stages'] = bench_stages(args, device, inf, enc, tgt, ins,
                                     batches[-1], list(fasts.values())[0],
                                     hmr or build_hmr(device), base_timer,
                                     tmp, size)
    # free them (the cases' closures share these cells)
    inf = enc = fasts = geo_cache = None
    gc.collect()
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return res


def print_e2e(args, res: Dict[str, Any]) -> None:
    cases: List[Case] = res['cases']
    base = cases[0]
    floors = {(c.batch, c.amp): c for c in cases if c.kind == 'floor'}
    mem_name = 'peak MiB' + (' (CUDA)' if res['device'] == 'cuda' else
                             ' (RSS)')
    print(f"\n== {res['device']} | {res['model']} generator | "
          f"{res['size']} px | {res['frames']} frames | best of "
          f"{args.repeats} round(s) | load avg {load_average()}"
          + (' | e2e includes reference decode + HMR' if args.hmr else ''))
    hdr = (f"{'configuration':<34}{'frames/s':>10}{'ms/frame':>10}"
           f"{'vs baseline':>13}{'vs floor':>10}{'CPU ms/fr':>11}"
           f"{mem_name:>18}  {'max|diff| (PSNR)':<16}")
    print(hdr)
    print('-' * len(hdr))
    for c in cases:
        vs_base = c.fps / base.fps if c.kind != 'baseline' else 1.0
        fl = floors.get((c.batch, c.amp))
        vs_floor = (c.best / fl.best) if (fl is not None and c.kind in (
            'ours', 'serial')) else float('nan')
        diff = getattr(c, 'maxdiff', None)
        dtxt = '' if diff is None else f'{diff}'
        if diff is not None and c.amp != 'none':
            dtxt += f' ({c.psnr:.1f} dB)'
        print(f'{c.name:<34}{c.fps:>10.2f}{1e3 * c.best / c.frames:>10.1f}'
              f'{vs_base:>12.2f}x'
              + (f'{vs_floor:>9.2f}x' if not math.isnan(vs_floor) else
                 f"{'':>10}")
              + f'{c.cpu_ms:>11.0f}{c.mem:>18.0f}  {dtxt:<16}')
    res['summaries'] = {}
    for amp in dict.fromkeys(c.amp for c in cases if c.kind == 'ours'):
        ours = [c for c in cases if c.kind == 'ours' and c.amp == amp]
        best = min(ours, key=lambda c: c.best)
        fl = floors[(best.batch, best.amp)]
        summary = dict(
            ours_fps=best.fps, baseline_fps=base.fps,
            ratio=best.fps / base.fps, floor_fps=fl.fps,
            ratio_cpu=base.cpu_ms / best.cpu_ms,
            over_floor=best.best / fl.best, batch=best.batch, amp=best.amp,
            maxdiff=getattr(best, 'maxdiff', None),
            psnr=getattr(best, 'psnr', None))
        same = [c for c in cases if c.kind == 'baseline_ra']
        if same:
            summary['ratio_same_malloc'] = best.fps / same[0].fps
        res['summaries'][amp] = summary
        if amp == 'none' or 'summary' not in res:
            res['summary'] = summary
        print(f"ours {best.fps:.2f} frames/s (batch {best.batch}"
              + (f', {best.amp}' if best.amp != 'none' else '')
              + f') | baseline {base.fps:.2f} frames/s | ratio '
              f"{best.fps / base.fps:.2f}x | ours / G_TSF floor "
              f"{best.best / fl.best:.3f} (floor {fl.fps:.2f} frames/s) | "
              f"CPU time per frame, baseline / ours "
              f"{base.cpu_ms / best.cpu_ms:.2f}x"
              + (f" | vs the baseline with our malloc setting "
                 f"{summary['ratio_same_malloc']:.2f}x"
                 if 'ratio_same_malloc' in summary else ''))
    print(f"warm-up {res['warmup_s']:.1f} s")
    for amp, err in res['compile_errors'].items():
        print(f'torch.compile failed ({amp}), eager was used: {err[:200]}')


# ----------------------------------------------------------------------
# per-stage breakdown
# ----------------------------------------------------------------------
def bench_stages(args, device, inf, enc, tgt, ins, b, fast, hmr,
                 base_timer, tmp, size) -> Dict[str, Tuple[float, float]]:
    """ms per frame of every stage: ours (batch b) and the release way
    (batch 1)."""
    from benchmark_geometry import smpl_sized_mesh
    from release_baseline import ReleaseBaseline, compose_flow_loop

    from mmlwgan.apis.inferencers.fast_path import (ImitationPipeline,
                                                    frames_to_uint8)
    from mmlwgan.models.body import prepare_hmr_inputs
    from mmlwgan.models.flows import compose_flow
    from mmlwgan.utils import AtomicVideoWriter
    reps = args.stage_reps
    th_b = torch.from_numpy(tgt[:b]).to(device)
    th_1 = th_b[:1]
    pipe = ImitationPipeline(inf, enc, b, fast=fast, overlap=False)
    bl = ReleaseBaseline(inf, enc)
    rows: Dict[str, Tuple[float, float]] = {}

    def per(fn, k):
        return 1e3 * best_time(fn, device, reps) / k

    with torch.inference_mode():
        frames_b = [ins['ref_imgs'][i % len(ins['ref_imgs'])]
                    for i in range(b)]
        rows['HMR (224 px crop)'] = (
            per(lambda: hmr(prepare_hmr_inputs(frames_b, device=device)), b),
            per(lambda: hmr(prepare_hmr_inputs(frames_b[:1],
                                               device=device)), 1))
        rows['SMPL + projection'] = (per(lambda: inf.project(th_b), b),
                                     per(lambda: inf.project(th_1), 1))
        ndc_b, _ = inf.project(th_b)
        ndc_1 = ndc_b[:1]
        rows['rasterize'] = (per(lambda: inf.rasterize(ndc_b), b),
                             per(lambda: inf.rasterize(ndc_1), 1))
        fr_b, fr_1 = inf.rasterize(ndc_b), inf.rasterize(ndc_1)
        model, src_geo = inf.model, enc['geo']
        src_args = (src_geo['src_ndc'], inf.faces, src_geo['src_visible'])
        rows['flow (vectorised | loop)'] = (
            per(lambda: model.flow_composer.compose(fr_b, *src_args), b),
            per(lambda: bl.flows(fr_1, *src_args), 1))
        geo = pipe.geometry(th_b)

        def isyn(k):
            part = dict(flow=geo['flow'][:k], tgt_cond=model._cond(
                fr_b if k == b else fr_1))
            return model.target_inputs(enc['img0'], part)

        rows['cond map + I_syn'] = (per(lambda: isyn(b), b),
                                    per(lambda: isyn(1), 1))
        gen = model.generator
        rows['G_TSF (+LWB)'] = (
            per(lambda: fast(geo['tsf_inputs'], geo['flow'], enc['cache']),
                b),
            per(lambda: gen.decode_targets(geo['tsf_inputs'][:1],
                                           geo['flow'][:1], enc['cache']),
                1))
        out = fast(geo['tsf_inputs'], geo['flow'], enc['cache'])

        def compose(k):
            m, c = out['tsf_mask'][:k], out['tsf_color'][:k]
            img = m * enc['bg'] + (1 - m) * c
            return frames_to_uint8(img).cpu().numpy()

        rows['compose + to uint8'] = (per(lambda: compose(b), b),
                                      per(lambda: compose(1), 1))
    k = len(ins['ref_imgs'])
    dec = per(lambda: read_video(ins['video']), k)
    rows['video decode (cv2)'] = (dec, dec)
    frames_u8 = list(ins['ref_imgs'])

    def encode():
        with AtomicVideoWriter(osp.join(tmp, 'enc.mp4')) as w:
            for f in frames_u8:
                w.write(f)

    enc_ms = per(encode, k)
    rows['video encode (cv2 mp4v)'] = (enc_ms, enc_ms)
    # geometry with an SMPL-sized mesh (real SMPL: 6,890 / 13,776)
    verts, faces = smpl_sized_mesh()
    verts, faces = verts.to(device), faces.to(device)
    rast = inf.model.flow_composer.rasterizer
    with torch.inference_mode():
        jit = 0.02 * torch.randn(b, *verts.shape,
                                 generator=torch.Generator().manual_seed(0))
        tv = verts + jit.to(device)
        sv = (verts * verts.new_tensor([1.1, 0.95, 1.0]))[None]
        rows['rasterize, SMPL-sized mesh'] = (
            per(lambda: rast(tv, faces), b), per(lambda: rast(tv[:1], faces),
                                                 1))
        fs_b, fs_1 = rast(tv, faces), rast(tv[:1], faces)
        rows['flow, SMPL-sized mesh'] = (
            per(lambda: compose_flow(fs_b.face_idx, fs_b.bary, faces,
                                     sv.expand(b, -1, -1)), b),
            per(lambda: compose_flow_loop(fs_1.face_idx, fs_1.bary, faces,
                                          sv), 1))
    print(f'\nper-stage breakdown, ms/frame ({device.type}, {size} px; ours '
          f'at batch {b}, the release way at batch 1; best of {reps})')
    print(f"{'stage':<30}{'ours':>10}{'release way':>13}")
    for name, (a, r) in rows.items():
        print(f'{name:<30}{a:>10.2f}{r:>13.2f}')
    if base_timer.count:
        inside = base_timer.per_item_ms()
        print('inside the timed baseline run: ' + ', '.join(
            f'{k} {v:.1f}' for k, v in inside.items()))
    return rows


# ----------------------------------------------------------------------
# goals
# ----------------------------------------------------------------------
def goal_lines(results: List[Dict[str, Any]]) -> List[str]:
    """The inference goals this run measured."""
    lines = []

    def find(device, model, size):
        for r in results:
            if (r['device'], r['model'], r['size']) == (device, model, size):
                return r.get('summaries', {})
        return {}

    def tag(s):
        return '' if s['amp'] == 'none' else (
            f" [{s['amp']} autocast, {s['psnr']:.1f} dB vs the fp32 "
            'baseline]' if s.get('psnr') is not None else
            f" [{s['amp']} autocast]")

    for s in find('cpu', 'full', 256).values():
        lines.append(
            f"CPU 256 px full: ours / G_TSF floor {s['over_floor']:.3f} "
            f"(goal <= 1.15: "
            f"{'met' if s['over_floor'] <= 1.15 else 'NOT met'})"
            f"; ours / baseline {s['ratio']:.2f}x (goal >= 1.2: "
            f"{'met' if s['ratio'] >= 1.2 else 'NOT met'})" + tag(s)
            + (f"; {s['ratio_same_malloc']:.2f}x over the baseline given "
               'our malloc setting too' if 'ratio_same_malloc' in s else
               ''))
    for s in find('cpu', 'lite', 256).values():
        lines.append(f"CPU 256 px lite: {s['ours_fps']:.2f} frames/s (goal "
                     f">= 4: {'met' if s['ours_fps'] >= 4 else 'NOT met'})"
                     + tag(s))
    for s in find('cuda', 'full', 256).values():
        lines.append(
            f"GPU 256 px full: {s['ours_fps']:.0f} frames/s at batch "
            f"{s['batch']} (goal >= 1000: "
            f"{'met' if s['ours_fps'] >= 1000 else 'NOT met'}); "
            f"{s['ratio']:.1f}x the baseline (goal >= 10: "
            f"{'met' if s['ratio'] >= 10 else 'NOT met'})" + tag(s))
    return lines


# ----------------------------------------------------------------------
def parse_args(argv=None):
    parser = make_parser(__doc__)
    add_common_args(parser, 'precision(s) of ours (default: none on CPU, '
                    'bf16 on CUDA); several give one row each')
    parser.add_argument('--models', nargs='+', default=['full', 'lite'],
                        choices=GENERATORS,
                        help='generators: the release\'s full width, the '
                        'lite config, or a tiny one (tests)')
    parser.add_argument('--sizes', type=int, nargs='+', default=None,
                        help='image sizes (default: 128 256 on CPU, '
                        '256 512 on CUDA; 512 full width on CPU needs '
                        'minutes)')
    parser.add_argument('--batch', type=int, nargs='+', default=None,
                        help='batch sizes of ours (default: 1 2 on CPU, '
                        '8 32 64 on CUDA)')
    parser.add_argument('--frames', type=int, default=None,
                        help='frames per run (default: 16 at <= 128 px, '
                        '8 at 256, 2 above; 4x the largest batch on CUDA)')
    parser.add_argument('--repeats', type=int, default=2,
                        help='interleaved timing rounds (best kept)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile G_TSF (slow to compile on CPU)')
    parser.add_argument('--compile-mode', default=None,
                        help="torch.compile mode, e.g. 'max-autotune' "
                        "(GPU) or 'reduce-overhead' (CUDA graphs)")
    parser.add_argument('--hmr', action='store_true',
                        help='end to end from the reference video: decode '
                        'and HMR inside the timed runs')
    parser.add_argument('--no-serial', action='store_true',
                        help='skip the no-overlap row')
    parser.add_argument('--no-breakdown', action='store_true',
                        help='skip the per-stage breakdown')
    parser.add_argument('--stage-reps', type=int, default=3,
                        help='per-stage breakdown: timed runs of each '
                        'stage (best kept)')
    return finish_args(parser.parse_args(argv))


def main(argv=None) -> Dict[str, Any]:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ['--baseline-server']:  # PristineBaseline's child
        return baseline_server(argv[1])
    args = parse_args(argv)
    smpl_path, devices = setup(args)
    results: List[Dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix='mmlwgan-bench-') as tmp:
        for dev_name in devices:
            device = torch.device(dev_name)
            if cuda_missing(device):
                continue
            user_batch = args.batch
            if args.batch is None:
                args.batch = [8, 32, 64] if device.type == 'cuda' else [1, 2]
            sizes = args.sizes or ([256, 512] if device.type == 'cuda' else
                                   [128, 256])
            for model in args.models:
                for size in sizes:
                    if (device.type == 'cpu' and model == 'full'
                            and size >= 512 and not args.frames):
                        print(f'\n{dev_name} {model} {size} px: skipped '
                              '(~4 s/frame on a 2-core CPU; pass '
                              '--frames 2 --batch 1 to run it)')
                        continue
                    results.append(bench_e2e(args, device, model, size,
                                             smpl_path, tmp))
            args.batch = user_batch
    print_goals(goal_lines(results))
    print_end()
    return dict(results=results)


if __name__ == '__main__':
    main()

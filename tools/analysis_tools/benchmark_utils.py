# Copyright (c) mmlwgan contributors. All rights reserved.
"""What ``benchmark_inference.py`` and ``benchmark_training.py`` share.

Command-line options common to both (:func:`add_common_args`) and their
start-up (:func:`setup`: threads, registries, the synthetic SMPL-format body,
glibc's freed-memory setting, the device / threads banner), measurement
(:func:`sync`, :class:`PeakMemory`, :func:`best_time`, :func:`timed_call`,
:func:`load_average`), the models (:func:`generator_cfg`,
:func:`build_inferencer`, :func:`build_hmr`; networks randomly initialised,
speed does not depend on the weights), the synthetic inputs
(:func:`make_inputs`) and the goals summary (:func:`print_goals`).

Not a tool of its own: the two scripts import it from their folder.
"""
import argparse
import contextlib
import gc
import os
import os.path as osp
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

# On a shared machine, OpenMP threads that spin at barriers while their
# partner is descheduled make 2-thread runs several times slower (measured
# 5x on a loaded 2-core CPU); sleeping waits cost nothing measurable on an
# idle one. Set before torch (and its OpenMP runtime) is loaded: the scripts
# import this module before torch; an explicit OMP_WAIT_POLICY in the
# environment wins.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: widths of the 'tiny' model (tests, smoke runs)
TINY = dict(base_channels=4, num_downs=2, num_blocks=1)
AMP_DTYPES = {'none': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
GENERATORS = ['full', 'lite', 'tiny']


# ----------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------
def make_parser(doc: str) -> argparse.ArgumentParser:
    """A parser whose description is the first line of ``doc`` and whose
    epilog is the rest (the examples)."""
    return argparse.ArgumentParser(
        description=doc.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=doc.split('\n\n', 1)[1])


def add_common_args(parser: argparse.ArgumentParser,
                    amp_help: str) -> None:
    """``--device``, ``--amp``, ``--threads``, ``--cache-dir``."""
    parser.add_argument('--device', nargs='+', default=None,
                        help='devices (default: cpu, and cuda if present)')
    parser.add_argument('--amp', nargs='+', default=None,
                        choices=sorted(AMP_DTYPES), help=amp_help)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch\'s)')
    parser.add_argument('--cache-dir', default=osp.expanduser(
        '~/.cache/mmlwgan/synthetic_smpl'),
        help='where the synthetic SMPL-format body is generated once')


def finish_args(args: argparse.Namespace) -> argparse.Namespace:
    """Give ``args`` ``amp_list(device)``: ``--amp``, or by default bf16 on
    CUDA and none (fp32) on the CPU."""

    def amp_list(device: torch.device) -> List[str]:
        if args.amp:
            return list(args.amp)
        return ['bf16'] if device.type == 'cuda' else ['none']

    args.amp_list = amp_list
    return args


def setup(args: argparse.Namespace) -> Tuple[str, List[str]]:
    """Threads, registries, the synthetic body, glibc's freed-memory setting
    and the banner; returns ``(smpl_path, devices)``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmlwgan.synthetic import get_synthetic_smpl_path
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    smpl_path = get_synthetic_smpl_path(args.cache_dir)
    devices = args.device or (['cpu', 'cuda'] if torch.cuda.is_available()
                              else ['cpu'])
    retained = False
    if 'cpu' in devices:
        # what our inferencers do on the CPU (when built): glibc keeps freed
        # memory; the release-way baseline then runs in a child process
        from mmlwgan.utils import retain_freed_memory
        retained = retain_freed_memory()
    print(f'torch {torch.__version__} | threads {torch.get_num_threads()} '
          f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '')}) | "
          f'cpu {os.cpu_count()} cores [{cpu_flags()}] | load avg '
          f'{load_average()} | freed memory retained (ours): '
          f"{'yes' if retained else 'no'} | cuda "
          + (torch.cuda.get_device_name(0) if torch.cuda.is_available() else
             'none'))
    if torch.cuda.is_available():
        # fixed shapes: let cuDNN pick its fastest algorithms (ours and the
        # baseline alike)
        torch.backends.cudnn.benchmark = True
    return smpl_path, devices


def cuda_missing(device: torch.device) -> bool:
    """True (and says so) when ``device`` is CUDA and there is none."""
    if device.type == 'cuda' and not torch.cuda.is_available():
        print('cuda: not available, skipped')
        return True
    return False


def print_goals(lines: Sequence[str]) -> None:
    """The goals this run measured, if any."""
    if lines:
        print('\ngoals (this run):')
        for line in lines:
            print('  ' + line)


def print_end() -> None:
    print(f'\nload avg at the end {load_average()} (timings on a loaded '
          'machine are distorted; compare the ratios of one run)')


# ----------------------------------------------------------------------
# measurement
# ----------------------------------------------------------------------
def sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


class PeakMemory:
    """Peak memory of a block: CPU peak RSS (``VmHWM``, reset through
    ``/proc/self/clear_refs``; the process's lifetime peak where that is
    not possible) or CUDA ``max_memory_allocated``, in MiB."""

    def __init__(self, device: torch.device, trim: bool = True) -> None:
        self.device = device
        self.trim = trim
        self.mib = float('nan')
        self.resettable = True

    @staticmethod
    def _vm(key: str) -> Optional[float]:
        try:
            with open('/proc/self/status') as f:
                for line in f:
                    if line.startswith(key):
                        return float(line.split()[1]) / 1024
        except OSError:
            pass
        return None

    def __enter__(self) -> 'PeakMemory':
        if self.device.type == 'cuda':
            sync(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            if self.trim:
                try:  # give freed heap pages back first (glibc)
                    import ctypes
                    ctypes.CDLL('libc.so.6').malloc_trim(0)
                except (OSError, AttributeError):
                    pass
            try:
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')
            except OSError:
                self.resettable = False
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == 'cuda':
            sync(self.device)
            self.mib = torch.cuda.max_memory_allocated(self.device) / 2**20
        else:
            hwm = self._vm('VmHWM')
            if hwm is None:
                import resource
                hwm = resource.getrusage(
                    resource.RUSAGE_SELF).ru_maxrss / 1024
                self.resettable = False
            self.mib = hwm


def best_time(fn: Callable[[], Any], device: torch.device,
              reps: int = 3, warmup: int = 1) -> float:
    """Best wall time of ``fn`` over ``reps`` runs (seconds)."""
    for _ in range(warmup):
        fn()
    best = float('inf')
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return best


def timed_call(fn: Callable[[], Any], device: torch.device,
               trim: bool = True) -> Tuple[float, float, float, Any]:
    """(wall s, process CPU s, peak MiB, result) of ``fn()``."""
    gc.collect()
    with PeakMemory(device, trim=trim) as pm:
        sync(device)
        t, cpu = time.perf_counter(), time.process_time()
        out = fn()
        sync(device)
        dt = time.perf_counter() - t
        cpu = time.process_time() - cpu
    return dt, cpu, pm.mib, out


def cpu_flags() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                    keep = [x for x in ('avx2', 'avx512f', 'avx512_bf16',
                                        'amx_bf16', 'amx_tile')
                            if x in flags]
                    return ' '.join(keep)
    except OSError:
        pass
    return '?'


def load_average() -> str:
    try:
        return '%.2f %.2f %.2f' % os.getloadavg()
    except OSError:
        return '?'


# ----------------------------------------------------------------------
# models and inputs
# ----------------------------------------------------------------------
def generator_cfg(model: str) -> dict:
    """The generator config of ``'full'`` (the release's), ``'lite'``
    (configs/_base_/models/lwgan_lite.py) or ``'tiny'``."""
    from mmengine.config import Config
    if model == 'full':
        return Config.fromfile(osp.join(
            ROOT, 'configs/_base_/models/lwgan_generator.py')).generator
    if model == 'lite':
        return Config.fromfile(osp.join(
            ROOT, 'configs/_base_/models/lwgan_lite.py')).generator_lite
    if model == 'tiny':
        unet = dict(type='ResUnetGenerator', in_channels=6, **TINY)
        return dict(type='LWBGenerator',
                    bg_net=dict(type='ResNetGenerator', in_channels=4,
                                **TINY),
                    src_net=unet, tsf_net=dict(unet),
                    fusion=dict(type='LiquidWarpingBlock',
                                align_corners=False))
    raise ValueError(f'unknown model {model!r}')


def build_inferencer(model: str, size: int, smpl_path: str,
                     device: torch.device):
    """A :class:`~mmlwgan.apis.MotionImitationInferencer` of a randomly
    initialised ``model`` (seed 0) at ``size`` px."""
    from mmlwgan.apis import MotionImitationInferencer
    from mmlwgan.registry import MODELS
    torch.manual_seed(0)
    net = MODELS.build(
        dict(type='LiquidWarpingGAN', generator=generator_cfg(model),
             body_model=dict(type='SMPL', model_path=smpl_path),
             rasterizer=dict(type='MeshRasterizer', image_size=size)))
    return MotionImitationInferencer(net.eval(), device=str(device),
                                     show_progress=False)


def build_hmr(device: torch.device):
    """The release's HMR (configs/_base_/models/hmr.py), random (seed 0)."""
    from mmengine.config import Config

    from mmlwgan.registry import MODELS
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/models/hmr.py'))
    torch.manual_seed(0)
    with contextlib.redirect_stdout(None):
        hmr = MODELS.build(cfg.hmr)
    return hmr.to(device).eval()


def make_inputs(smpl_path: str, size: int, num_frames: int, tmp: str
                ) -> Dict[str, Any]:
    """A rendered source person (rest pose) and a reference video of
    another person dancing, with the SMPL parameters of both."""
    import cv2

    from mmlwgan.synthetic.motions import make_motion
    from mmlwgan.synthetic.batch import render_patterned_person
    from mmlwgan.visualization import BodyRenderer
    renderer = BodyRenderer(dict(type='SMPL', model_path=smpl_path),
                            image_size=size)
    src_img, src_theta = render_patterned_person(
        renderer, make_motion('rest', 1), torch.zeros(1, 10), seed=0)
    ref_imgs, ref_theta = render_patterned_person(
        renderer, make_motion('dance', num_frames), torch.full((1, 10), 0.5),
        seed=7)
    video = osp.join(tmp, f'reference_{size}.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 30,
                             (size, size))
    for f in ref_imgs:
        writer.write(np.ascontiguousarray(f[..., ::-1]))
    writer.release()
    return dict(src_img=src_img[0], src_theta=src_theta, ref_imgs=ref_imgs,
                ref_theta=ref_theta, video=video)

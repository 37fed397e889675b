# Copyright (c) mmlwgan contributors. All rights reserved.
"""Benchmark the geometry core: rasterization and flow composition.

Prints milliseconds per frame for an SMPL-sized closed mesh (6,890 vertices,
13,776 faces) covering a person-sized part of the image, at batch 1 and 8, on
CPU and (when present) CUDA, for every rasterizer backend that imports.

Example:
    python tools/analysis_tools/benchmark_geometry.py --size 256 --batch 1 8
"""
import argparse
import math
import time

import torch

from mmlwgan.models.flows import FlowComposer, compose_flow
from mmlwgan.models.renderers import MeshRasterizer


def smpl_sized_mesh(rings: int = 84, cols: int = 82):
    """A closed genus-0 mesh with SMPL's counts: 2 + rings * cols = 6,890
    vertices and 2 * rings * cols = 13,776 faces, shaped like a standing
    person (tall ellipsoid with a waist) in NDC, z in [0.3, 0.7]."""
    theta = torch.linspace(0, math.pi, rings + 2)[1:-1]  # polar, no poles
    phi = torch.arange(cols) * (2 * math.pi / cols)
    t, p = torch.meshgrid(theta, phi, indexing='ij')
    waist = 1.0 - 0.25 * torch.exp(-((t - math.pi / 2) / 0.3) ** 2)
    x = 0.28 * torch.sin(t) * torch.cos(p) * waist
    z = 0.5 + 0.15 * torch.sin(t) * torch.sin(p)
    y = 0.85 * torch.cos(t)
    ring_verts = torch.stack([x, y, z], -1).reshape(-1, 3)
    poles = torch.tensor([[0.0, 0.85, 0.5], [0.0, -0.85, 0.5]])
    verts = torch.cat([ring_verts, poles])
    top, bottom = rings * cols, rings * cols + 1
    idx = torch.arange(rings * cols).reshape(rings, cols)
    nxt = torch.roll(idx, -1, dims=1)
    a, b = idx[:-1], nxt[:-1]
    c, d = idx[1:], nxt[1:]
    quads = torch.cat([torch.stack([a, c, b], -1).reshape(-1, 3),
                       torch.stack([b, c, d], -1).reshape(-1, 3)])
    cap_top = torch.stack([torch.full((cols,), top), idx[0], nxt[0]], -1)
    cap_bot = torch.stack([torch.full((cols,), bottom), nxt[-1], idx[-1]], -1)
    faces = torch.cat([quads, cap_top, cap_bot])
    return verts, faces


def timeit(fn, device, warmup=2, iters=5):
    for _ in range(warmup):
        fn()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    if device.type == 'cuda':
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) / iters


def backends():
    names = ['torch']
    try:
        import pytorch3d  # noqa: F401
        names.append('pytorch3d')
    except ImportError:
        pass
    return names


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--batch', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--device', nargs='+', default=None,
                        help='devices (default: cpu, and cuda if present)')
    args = parser.parse_args(argv)
    devices = args.device or (['cpu', 'cuda'] if torch.cuda.is_available()
                              else ['cpu'])
    verts, faces = smpl_sized_mesh()
    print(f'mesh: {verts.shape[0]} vertices, {faces.shape[0]} faces; '
          f'image {args.size}x{args.size}; torch {torch.__version__}; '
          f'threads {torch.get_num_threads()}')
    header = (f"{'device':<8}{'backend':<11}{'batch':>6}{'raster ms/fr':>14}"
              f"{'compose ms/fr':>15}{'composer ms/fr':>16}")
    print(header)
    print('-' * len(header))
    for dev_name in devices:
        dev = torch.device(dev_name)
        for backend in backends():
            raster = MeshRasterizer(args.size, backend=backend).to(dev)
            composer = FlowComposer(raster).to(dev)
            f = faces.to(dev)
            for b in args.batch:
                gen = torch.Generator().manual_seed(b)
                jitter = 0.02 * torch.randn(b, *verts.shape, generator=gen)
                tgt = (verts + jitter).to(dev)
                src = (verts * torch.tensor([1.1, 0.95, 1.0]) + jitter).to(dev)
                with torch.inference_mode():
                    frag = raster(tgt, f)
                    t_r = timeit(lambda: raster(tgt, f), dev, iters=args.iters)
                    t_c = timeit(lambda: compose_flow(
                        frag.face_idx, frag.bary, f, src), dev,
                        iters=args.iters)
                    t_all = timeit(lambda: composer(src, tgt, f), dev,
                                   iters=args.iters)
                print(f'{dev_name:<8}{backend:<11}{b:>6}{1e3 * t_r / b:>14.2f}'
                      f'{1e3 * t_c / b:>15.2f}{1e3 * t_all / b:>16.2f}')
    print('raster: one MeshRasterizer call; compose: compose_flow from the '
          'target fragments; composer: FlowComposer (rasterize source and '
          'target, compose).')


if __name__ == '__main__':
    main()

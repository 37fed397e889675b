# Copyright (c) mmlwgan contributors. All rights reserved.
"""Reference fixtures of the released Liquid Warping GAN's geometry.

Runs the geometry of the original release (svip-lab/impersonator, commit
:data:`RELEASE_COMMIT`) on a few posed synthetic bodies at 64 px and writes,
per source/target pair, what the release computes: the face index and
weight maps (``fim`` / ``wim``), the UV condition maps, the transformation
flow ``T``, the masks and the warped source image. The tests
(``tests/test_models/test_release_geometry.py``) compare mmlwgan's geometry
with them.

How the release is run
----------------------
The release's **own Python** is executed, read from its git history (``git
show <commit>:<path>``) into a temporary folder and imported from there:

* ``networks/batch_smpl.py`` (``SMPL``) and ``networks/hmr.py``
  (``HumanModelRecovery.get_details``): vertices of the thetas;
* ``models/impersonator_trainer.py`` (``BodyRecoveryFlow.forward``, the
  training geometry: ``render_fim_wim`` of source and target, the y flip of
  the source face points, ``encode_fim``, ``cal_bc_transform``,
  ``F.grid_sample``, ``util.morph``);
* ``utils/nmr.py`` (``SMPLRenderer``), ``utils/mesh.py`` (``create_mapping``
  / ``load_obj``: the ``uv_seg`` map_fn), ``utils/util.py`` (``morph``),
  ``networks/networks.py``, ``networks/facenet.py``, ``models/models.py``
  (imported by the above);
* the vendored neural_renderer's Python: ``look_at.py``,
  ``vertices_to_faces.py`` and ``rasterize.py`` (``rasterize_rgbad``:
  buffers, the ``RasterizeFunction`` and the row flip afterwards).

Stand-ins, and only these:

* the compiled extension ``neural_renderer.cuda.rasterize``: its
  ``forward_face_index_map`` is :func:`forward_face_index_map` below, a CPU
  port of ``forward_face_index_map_cuda`` and its two kernels of
  ``rasterize_cuda_kernel.cu`` (pixel centres ``(2 i + 1 - is) / is``, the
  edge-inclusive inside test, the back-face test, ``face_inv`` weights in
  pixel space clamped to [0, 1] and renormalised, ``1 / z`` depth, near /
  far, nearest face with the first index on ties). It computes in float32
  in the kernel's operation order; nvcc may fuse some multiply-adds of
  ``face_inv`` and of the weights (``--fmad=true``), which changes weights
  by float32 rounding only (~1e-7), not the inside or back-face tests;
* the neural_renderer package ``__init__`` (only the modules above are
  imported: the others are not on the geometry path);
* CUDA: ``torch.cuda.IntTensor`` / ``FloatTensor`` allocate on the CPU and
  ``Tensor.cuda()`` is a no-op, while the release runs;
* **torch 1.2** semantics: the release ran on torch 1.2, whose
  ``F.grid_sample`` had no ``align_corners`` argument and behaved as
  ``align_corners=True``; while the release runs, ``F.grid_sample`` without
  the argument is ``align_corners=True`` (``syn_img = F.grid_sample(src_img,
  T)`` in ``BodyRecoveryFlow.forward``). ``F.interpolate`` is not on this
  path (the release's generator passes ``align_corners=True`` to it
  explicitly; torch 1.2's default was False, as today's);
* ``ipdb`` (imported, never used) and ``h5py`` (imported by ``hmr.py`` for
  the mean theta file, not used) are empty modules;
* ``BodyRecoveryFlow.__init__`` loads pretrained HMR weights: instead its
  ``_hmr`` is the release's ``HumanModelRecovery`` with random network
  weights (only its SMPL is used: the thetas are given) and its ``_render``
  comes from the release's own ``_create_render``. The release's assets
  (``smpl_faces.npy``, ``mapper.txt``, ``head.json`` /
  ``front_facial.json``) are written for the synthetic body into the
  temporary working folder: the faces, an OBJ ``mapper.txt`` with the body's
  per-vertex UVs (``vt`` stored as ``1 - v``: the release flips it back when
  it reads the file) and empty head / front face lists (only used for the
  renderer's unused ``back_map_fn``).

Inputs: the project's synthetic SMPL-format body (``make_synthetic_smpl()``
defaults, written as a plain pickle for the release's loader), posed with
:mod:`mmlwgan.synthetic.motions`, release thetas ``cam (3) + pose (72) + shape
(10)`` with weak-perspective cameras (the release's
``orthographic_proj_withz_idrot``), and a source image rendered with
mmlwgan's renderer (:func:`~mmlwgan.synthetic.batch.
render_patterned_person`; it is an input only, stored in the fixture).

Output: ``<out>/<pair>.npz`` per pair (see :data:`PAIRS`), with keys

* ``theta_src`` / ``theta_tgt`` (85,) float32; ``src_img`` (H, W, 3) uint8
  (the release got ``src_img / 255 * 2 - 1``);
* ``src_fim`` / ``tgt_fim`` (H, W) int32 (-1 background) and ``src_wim`` /
  ``tgt_wim`` (H, W, 3) float32, as ``render_fim_wim`` returns them;
* ``T`` (H, W, 2) float32, ``cal_bc_transform``'s flow (x, y; -2 off the
  body), sampled by the release with ``align_corners=True``;
* ``src_cond`` / ``tgt_cond`` (3, H, W) float32 (``encode_fim``,
  ``uv_seg``);
* ``src_crop_mask`` / ``tsf_crop_mask`` (``morph(bg, 3, 'erode')``) and
  ``src_bg_mask`` (``morph(bg, 15, 'erode')``), (H, W) uint8;
* ``syn_img`` (3, H, W) float32: the warped source image;
* ``body_fingerprint`` (float64): a few sums of the synthetic body's
  arrays (tests check the body has not changed since);
* metadata strings: ``release_repo``, ``release_commit``, ``torch12_note``,
  ``command``, ``generator`` (this script), ``pair``.

Command that made ``tests/data/release_geometry`` (``--release``: any git
repository holding the release commit, bare or not; they were made from a
mirror of https://github.com/svip-lab/impersonator at
b041dd415157c1e7f5b46e579a1ad4dffabb2e66, in about a minute on 2 CPU
cores)::

    python tools/misc/make_release_geometry_fixtures.py \\
        --release PATH/TO/impersonator --out tests/data/release_geometry

The output is deterministic, byte for byte (fixed zip timestamps): with
``MMLWGAN_RELEASE_REPO=PATH/TO/impersonator``,
``tests/test_tools/test_release_geometry_fixtures.py`` regenerates the
fixtures and compares them with the committed ones.
"""
import argparse
import contextlib
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import types
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))

RELEASE_REPO = 'https://github.com/svip-lab/impersonator'
#: The release commit the fixtures were made from.
RELEASE_COMMIT = 'b041dd415157c1e7f5b46e579a1ad4dffabb2e66'
IMAGE_SIZE = 64
TORCH12_NOTE = (
    'The release ran on torch 1.2: F.grid_sample had no align_corners '
    'argument and behaved as align_corners=True; it was run so here '
    '(syn_img = F.grid_sample(src_img, T) reads T with align_corners=True). '
    'F.interpolate is not on this path.')
COMMAND = ('python tools/misc/make_release_geometry_fixtures.py --release '
           '<git repository of svip-lab/impersonator> --out '
           'tests/data/release_geometry')

#: Release files run as they are: module path in the temporary tree ->
#: path in the release repository.
RELEASE_FILES = {
    'utils/__init__.py': 'utils/__init__.py',
    'utils/util.py': 'utils/util.py',
    'utils/mesh.py': 'utils/mesh.py',
    'utils/nmr.py': 'utils/nmr.py',
    'networks/__init__.py': 'networks/__init__.py',
    'networks/batch_smpl.py': 'networks/batch_smpl.py',
    'networks/hmr.py': 'networks/hmr.py',
    'networks/networks.py': 'networks/networks.py',
    'networks/facenet.py': 'networks/facenet.py',
    'models/__init__.py': 'models/__init__.py',
    'models/models.py': 'models/models.py',
    'models/impersonator_trainer.py': 'models/impersonator_trainer.py',
    'neural_renderer/look_at.py':
    'thirdparty/neural_renderer/neural_renderer/look_at.py',
    'neural_renderer/vertices_to_faces.py':
    'thirdparty/neural_renderer/neural_renderer/vertices_to_faces.py',
    'neural_renderer/rasterize.py':
    'thirdparty/neural_renderer/neural_renderer/rasterize.py',
}
#: Stand-in files (see the module docstring).
STAND_IN_FILES = {
    'neural_renderer/__init__.py':
    '# stand-in: the release package __init__ limited to the geometry path\n'
    'from .look_at import look_at\n'
    'from .vertices_to_faces import vertices_to_faces\n'
    'from .rasterize import (rasterize_rgbad, rasterize_face_index_map,\n'
    '                        rasterize_face_index_map_and_weight_map,\n'
    '                        rasterize_weight_map, Rasterize)\n',
    'ipdb.py': '# stand-in: imported by the release, never used\n',
    'h5py.py': '# stand-in: imported by networks/hmr.py, not used here\n',
}
RELEASE_TOP_MODULES = ('utils', 'networks', 'models', 'neural_renderer',
                       'ipdb', 'h5py')

#: The source / target pairs. Each side: a motion of
#: :mod:`mmlwgan.synthetic.motions` and its frame (of :data:`NUM_FRAMES`), the
#: camera fitted to that mesh (margin 0.2) times ``scale`` and moved by
#: ``shift`` (NDC); per pair the shape (betas) and the source texture seed.
PAIRS = (
    dict(name='rest_to_walk',
         src=dict(motion='rest', frame=0),
         tgt=dict(motion='walk', frame=7, shift=(0.10, 0.0)),
         betas=(0.0, ) * 10, seed=1),
    dict(name='wave_to_squat_offcentre',
         src=dict(motion='wave', frame=10, scale=0.85, shift=(-0.15, 0.10)),
         tgt=dict(motion='squat', frame=13, scale=0.80, shift=(0.20, -0.05)),
         betas=(0.8, -0.5, 0.3, 0.0, 0.4, 0.0, -0.3, 0.0, 0.5, 0.2), seed=2),
    dict(name='side_to_back',
         src=dict(motion='turn_around', frame=10),
         tgt=dict(motion='turn_around', frame=20, scale=0.9),
         betas=(-0.4, 0.6, 0.0, 0.3, 0.0, 0.5, 0.0, 0.2, 0.0, -0.3), seed=3),
    dict(name='dance_large_shape',
         src=dict(motion='dance', frame=5, scale=1.05, shift=(0.05, 0.05)),
         tgt=dict(motion='dance', frame=30, scale=0.95, shift=(-0.1, 0.0)),
         betas=(1.2, 1.0, -0.6, 0.8, -0.5, 0.7, 0.4, -0.4, 1.0, 0.6), seed=4),
)
NUM_FRAMES = 40


# ---------------------------------------------------------------------------
# CPU port of neural_renderer's forward_face_index_map (rasterize_cuda_kernel)
# ---------------------------------------------------------------------------
def _kernel_1_face_inv(faces: np.ndarray, image_size: int) -> np.ndarray:
    """``forward_face_index_map_cuda_kernel_1`` for one mesh.

    Args:
        faces (np.ndarray): (F, 9) float32, ``[x0 y0 z0 x1 y1 z1 x2 y2 z2]``.
        image_size (int): ``is``.

    Returns:
        np.ndarray: (F, 9) float32 ``face_inv`` (zeros for back faces, which
        the kernel leaves unwritten).
    """
    f32 = np.float32
    size = f32(image_size)
    # p[num][dim] = 0.5 * (face[3 * num + dim] * is + is - 1): float ops,
    # then the (exact) halving
    p = (faces.reshape(-1, 3, 3)[:, :, :2] * size + size - f32(1)) * f32(0.5)
    p0x, p0y = p[:, 0, 0], p[:, 0, 1]
    p1x, p1y = p[:, 1, 0], p[:, 1, 1]
    p2x, p2y = p[:, 2, 0], p[:, 2, 1]
    inv = np.stack([
        p1y - p2y, p2x - p1x, p1x * p2y - p2x * p1y,
        p2y - p0y, p0x - p2x, p2x * p0y - p0x * p2y,
        p0y - p1y, p1x - p0x, p0x * p1y - p1x * p0y
    ], 1).astype(f32)
    den = (p2x * (p0y - p1y) + p0x * (p1y - p2y)) + p1x * (p2y - p0y)
    with np.errstate(divide='ignore', invalid='ignore'):
        inv = inv / den[:, None]
    back = _backside(faces)
    inv[back] = 0
    return inv


def _backside(faces: np.ndarray) -> np.ndarray:
    """``(face[7] - face[1]) * (face[3] - face[0]) < (face[4] - face[1]) *
    (face[6] - face[0])``: the kernels' back-face test, (F,) bool."""
    f = faces
    return (f[:, 7] - f[:, 1]) * (f[:, 3] - f[:, 0]) < \
        (f[:, 4] - f[:, 1]) * (f[:, 6] - f[:, 0])


def _kernel_2_mesh(faces: np.ndarray, face_inv: np.ndarray, image_size: int,
                   near: np.float32, far: np.float32,
                   rows_per_chunk: int = 4) -> Tuple[np.ndarray, ...]:
    """``forward_face_index_map_cuda_kernel_2`` for one mesh, all pixels.

    The kernel loops over the faces in order and keeps a face when
    ``zp < depth_min`` (``depth_min`` starts at ``far``): the nearest face
    wins and ties go to the first (smallest) index, i.e. ``argmin``.

    Returns:
        tuple: face index (is, is) int32 (-1: none), weights (is, is, 3)
        float32, depth (is, is) float32 (``far``: none), face_inv (is, is,
        9) float32 of the winning face (zeros: none); rows as the kernel
        indexes them (before the Python wrapper's flip).
    """
    f32 = np.float32
    size = image_size
    nf = faces.shape[0]
    fim = np.full((size, size), -1, np.int32)
    wim = np.zeros((size, size, 3), f32)
    depth = np.full((size, size), far, f32)
    inv_map = np.zeros((size, size, 9), f32)
    if nf == 0:
        return fim, wim, depth, inv_map
    back = _backside(faces)
    x0, y0, z0 = faces[:, 0], faces[:, 1], faces[:, 2]
    x1, y1, z1 = faces[:, 3], faces[:, 4], faces[:, 5]
    x2, y2, z2 = faces[:, 6], faces[:, 7], faces[:, 8]
    cols = np.arange(size)
    # const scalar_t xp = (2. * xi + 1 - is) / is: double, stored as float
    xp_all = ((2.0 * cols + 1 - size) / size).astype(f32)
    for r0 in range(0, size, rows_per_chunk):
        rows = np.arange(r0, min(r0 + rows_per_chunk, size))
        yi, xi = np.meshgrid(rows, cols, indexing='ij')
        yi, xi = yi.reshape(-1), xi.reshape(-1)
        yp = ((2.0 * yi + 1 - size) / size).astype(f32)[:, None]
        xp = xp_all[xi][:, None]
        outside = (((yp - y0) * (x1 - x0) < (xp - x0) * (y1 - y0)) |
                   ((yp - y1) * (x2 - x1) < (xp - x1) * (y2 - y1)) |
                   ((yp - y2) * (x0 - x2) < (xp - x2) * (y0 - y2)))
        cand = ~outside & ~back
        # w = face_inv * (xi, yi, 1): float ops, ((a * xi) + (b * yi)) + c
        xf = xi.astype(f32)[:, None]
        yf = yi.astype(f32)[:, None]
        w = [(face_inv[:, 3 * k] * xf + face_inv[:, 3 * k + 1] * yf) +
             face_inv[:, 3 * k + 2] for k in range(3)]
        # w[k] = min(max(w[k], 0.), 1.): CUDA's fmax / fmin (NaN -> other)
        w = [np.fmin(np.fmax(wk, f32(0)), f32(1)) for wk in w]
        with np.errstate(divide='ignore', invalid='ignore'):
            w_sum = (w[0] + w[1]) + w[2]
            w = [wk / w_sum for wk in w]
            # zp = 1. / (w0 / z0 + w1 / z1 + w2 / z2): float sum, double
            # reciprocal stored as float
            s = (w[0] / z0 + w[1] / z1) + w[2] / z2
            zp = (1.0 / s.astype(np.float64)).astype(f32)
        # continue if zp <= near || far <= zp; keep if zp < depth_min (=far)
        keep = cand & ~(zp <= near) & ~(far <= zp) & (zp < far)
        key = np.where(keep, zp, f32(np.inf))
        best = key.argmin(1)  # first minimum: the kernel's strict '<'
        hit = keep[np.arange(len(best)), best]
        pix_r, pix_c = yi[hit], xi[hit]
        idx = best[hit]
        sel = np.nonzero(hit)[0]
        fim[pix_r, pix_c] = idx.astype(np.int32)
        depth[pix_r, pix_c] = zp[sel, idx]
        for k in range(3):
            wim[pix_r, pix_c, k] = w[k][sel, idx]
        inv_map[pix_r, pix_c] = face_inv[idx]
    return fim, wim, depth, inv_map


def forward_face_index_map(faces, face_index_map, weight_map, depth_map,
                           face_inv_map, faces_inv, image_size, near, far,
                           return_rgb, return_alpha, return_depth):
    """Stand-in for the compiled ``neural_renderer.cuda.rasterize.
    forward_face_index_map`` (``forward_face_index_map_cuda``): runs kernel 1
    (``faces_inv``) and kernel 2 (per pixel: nearest front face) on the CPU
    and fills the given buffers in place, like the CUDA version.

    Args:
        faces (Tensor): (B, F, 3, 3) float32 face vertices after look_at.
        face_index_map, weight_map, depth_map, face_inv_map, faces_inv:
            the output buffers ``rasterize.py`` allocated.
        image_size (int), near (float), far (float): as passed (the C++
            signature takes ``float near, float far``).
        return_rgb, return_alpha, return_depth: flags (``face_inv_map`` is
            written only with ``return_depth``, as in the kernel).

    Returns:
        list: ``[face_index_map, weight_map, depth_map, face_inv_map]``.
    """
    import torch
    if faces.dtype != torch.float32:
        raise TypeError('the port follows the float32 kernel, got '
                        f'{faces.dtype}')
    arr = faces.detach().cpu().contiguous().numpy().reshape(
        faces.shape[0], faces.shape[1], 9)
    near32, far32 = np.float32(near), np.float32(far)
    for b in range(arr.shape[0]):
        inv = _kernel_1_face_inv(arr[b], int(image_size))
        faces_inv[b].copy_(torch.from_numpy(inv.reshape(-1, 3, 3)))
        fim, wim, depth, inv_map = _kernel_2_mesh(arr[b], inv,
                                                  int(image_size), near32,
                                                  far32)
        hit = torch.from_numpy(fim >= 0)
        face_index_map[b][hit] = torch.from_numpy(fim)[hit]
        weight_map[b][hit] = torch.from_numpy(wim)[hit]
        depth_map[b][hit] = torch.from_numpy(depth)[hit]
        if return_depth:
            face_inv_map[b][hit] = torch.from_numpy(inv_map).view(
                *inv_map.shape[:2], 3, 3)[hit]
    return [face_index_map, weight_map, depth_map, face_inv_map]


def _not_ported(name):

    def fn(*args, **kwargs):
        raise NotImplementedError(
            f'neural_renderer.cuda.rasterize.{name} is not on the geometry '
            'path and was not ported')

    return fn


def _cuda_rasterize_stand_in() -> types.ModuleType:
    mod = types.ModuleType('neural_renderer.cuda.rasterize')
    mod.__doc__ = ('CPU stand-in of the compiled extension (see '
                   'tools/misc/make_release_geometry_fixtures.py)')
    mod.forward_face_index_map = forward_face_index_map
    for name in ('forward_texture_sampling', 'backward_pixel_map',
                 'backward_textures', 'backward_depth_map'):
        setattr(mod, name, _not_ported(name))
    return mod


# ---------------------------------------------------------------------------
# Running the release
# ---------------------------------------------------------------------------
def _git_show(repo: str, commit: str, path: str) -> str:
    return subprocess.run(['git', '-C', repo, 'show', f'{commit}:{path}'],
                          check=True, capture_output=True,
                          text=True).stdout


def resolve_commit(repo: str, commit: str) -> str:
    return subprocess.run(
        ['git', '-C', repo, 'rev-parse', '--verify', f'{commit}^{{commit}}'],
        check=True, capture_output=True, text=True).stdout.strip()


def extract_release(repo: str, commit: str, folder: str) -> None:
    """Write the release files and the stand-ins into ``folder``."""
    for dst, src in RELEASE_FILES.items():
        path = osp.join(folder, dst)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(_git_show(repo, commit, src))
    for dst, text in STAND_IN_FILES.items():
        path = osp.join(folder, dst)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)


def _cpu_tensor_factory(dtype):
    """``torch.cuda.<Type>Tensor(*sizes)`` / ``(data)`` on the CPU."""
    import torch

    def factory(*args):
        if all(isinstance(a, int) for a in args):
            return torch.empty(args, dtype=dtype)
        return torch.tensor(args[0], dtype=dtype)

    return factory


@contextlib.contextmanager
def release_environment(folder: str):
    """Import path, stand-ins and torch 1.2 / CPU behaviour while the release
    runs; everything is restored afterwards."""
    import torch
    import torch.nn.functional as F
    clash = [m for m in RELEASE_TOP_MODULES if m in sys.modules]
    if clash:
        raise RuntimeError(f'modules {clash} are already imported: run this '
                           'script in a fresh interpreter')
    missing = object()
    saved = dict(
        tensor_cuda=torch.Tensor.__dict__.get('cuda', missing),
        int_tensor=torch.cuda.IntTensor,
        float_tensor=torch.cuda.FloatTensor,
        grid_sample=F.grid_sample)
    grid_sample = saved['grid_sample']

    def grid_sample_torch12(input, grid, mode='bilinear',
                            padding_mode='zeros'):
        # torch 1.2's signature and behaviour (align_corners=True)
        return grid_sample(input, grid, mode=mode, padding_mode=padding_mode,
                           align_corners=True)

    sys.path.insert(0, folder)
    cuda = types.ModuleType('neural_renderer.cuda')
    cuda.rasterize = _cuda_rasterize_stand_in()
    sys.modules['neural_renderer.cuda'] = cuda
    sys.modules['neural_renderer.cuda.rasterize'] = cuda.rasterize
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    torch.cuda.IntTensor = _cpu_tensor_factory(torch.int32)
    torch.cuda.FloatTensor = _cpu_tensor_factory(torch.float32)
    F.grid_sample = grid_sample_torch12
    try:
        yield
    finally:
        F.grid_sample = saved['grid_sample']
        torch.cuda.IntTensor = saved['int_tensor']
        torch.cuda.FloatTensor = saved['float_tensor']
        if saved['tensor_cuda'] is missing:
            del torch.Tensor.cuda
        else:
            torch.Tensor.cuda = saved['tensor_cuda']
        sys.path.remove(folder)
        for name in list(sys.modules):
            if name.split('.')[0] in RELEASE_TOP_MODULES:
                del sys.modules[name]


def write_release_assets(body: Dict, folder: str) -> Dict[str, str]:
    """The release's ``assets/pretrains`` files for the synthetic body (see
    the module docstring). Returns their paths (relative to ``folder``, the
    working directory of the run, as the release's defaults are)."""
    import json

    from mmlwgan.synthetic.body_files import save_synthetic_smpl
    pre = osp.join(folder, 'assets', 'pretrains')
    os.makedirs(pre, exist_ok=True)
    faces = np.asarray(body['f'], np.int64)
    np.save(osp.join(pre, 'smpl_faces.npy'), faces.astype(np.int32))
    vt = np.asarray(body['vt'], np.float64)
    ft = np.asarray(body['ft'], np.int64)
    lines = [f'v {x!r} {y!r} {z!r}' for x, y, z in
             np.asarray(body['v_template'], np.float64).tolist()]
    # OBJ v is up: the release's get_f2vts / create_uvsampler flip it back
    lines += [f'vt {u!r} {1.0 - v!r}' for u, v in vt.tolist()]
    lines += ['f ' + ' '.join(f'{a}/{b}/{a}' for a, b in zip(fv, tv))
              for fv, tv in zip((faces + 1).tolist(), (ft + 1).tolist())]
    with open(osp.join(pre, 'mapper.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    for name in ('head.json', 'front_facial.json'):
        with open(osp.join(pre, name), 'w') as f:
            json.dump(dict(face=[]), f)
    smpl = osp.join(pre, 'smpl_model.pkl')
    save_synthetic_smpl(smpl, fmt='pkl', chumpy_like=False)
    return dict(smpl_model=osp.join('assets', 'pretrains', 'smpl_model.pkl'),
                uv_mapping=osp.join('assets', 'pretrains', 'mapper.txt'))


class ReleaseGeometry:
    """The release's ``BodyRecoveryFlow`` (training geometry) on the CPU.

    Must be used inside :func:`release_environment`, with the working
    directory holding the assets of :func:`write_release_assets`.
    """

    def __init__(self, smpl_model: str, uv_mapping: str,
                 image_size: int = IMAGE_SIZE) -> None:
        import torch
        from models.impersonator_trainer import BodyRecoveryFlow
        from networks.hmr import HumanModelRecovery
        opt = argparse.Namespace(
            image_size=image_size, map_name='uv_seg', uv_mapping=uv_mapping,
            tex_size=3, bg_both=False, smpl_model=smpl_model, hmr_model=None)
        flow = BodyRecoveryFlow.__new__(BodyRecoveryFlow)
        torch.nn.Module.__init__(flow)
        flow._name = 'BodyRecoveryFlow'
        flow._opt = opt
        # _init_create_networks without the pretrained HMR weights (unused)
        flow._hmr = HumanModelRecovery(smpl_pkl_path=smpl_model)
        flow._hmr.eval()
        flow._render = flow._create_render()
        self.flow = flow.eval()
        self.records: List = []
        render_fim_wim = flow._render.render_fim_wim

        def recording(cam, vertices, faces=None):
            out = render_fim_wim(cam, vertices, faces)
            self.records.append((out[1].clone(), out[2].clone()))
            return out

        flow._render.render_fim_wim = recording

    def __call__(self, src_img, theta_src, theta_tgt) -> Dict[str, np.ndarray]:
        """One pair (batch of 1: ``nr.look_at`` calls ``torch.cross``
        without ``dim``, which picks the batch axis for a batch of 3).

        Args:
            src_img (np.ndarray): (H, W, 3) uint8.
            theta_src, theta_tgt (np.ndarray): (85,).
        """
        import torch
        img = torch.from_numpy(src_img).permute(2, 0, 1)[None].float()
        img = img / 255.0 * 2 - 1
        self.records.clear()
        with torch.no_grad():
            (input_G_src_bg, _, input_G_src, input_G_tsf, T, src_crop_mask,
             tsf_crop_mask, _, _) = self.flow(
                 img, torch.zeros_like(img),
                 torch.from_numpy(theta_src)[None].float(),
                 torch.from_numpy(theta_tgt)[None].float())
        (src_fim, src_wim), (tgt_fim, tgt_wim) = self.records

        def np1(x):
            return x[0].cpu().numpy()

        return dict(
            src_fim=np1(src_fim).astype(np.int32),
            src_wim=np1(src_wim).astype(np.float32),
            tgt_fim=np1(tgt_fim).astype(np.int32),
            tgt_wim=np1(tgt_wim).astype(np.float32),
            T=np1(T).astype(np.float32),
            src_cond=np1(input_G_src[:, 3:]).astype(np.float32),
            tgt_cond=np1(input_G_tsf[:, 3:]).astype(np.float32),
            syn_img=np1(input_G_tsf[:, :3]).astype(np.float32),
            src_crop_mask=np1(src_crop_mask)[0].astype(np.uint8),
            tsf_crop_mask=np1(tsf_crop_mask)[0].astype(np.uint8),
            src_bg_mask=np1(input_G_src_bg[:, 3:])[0].astype(np.uint8))


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------
def body_fingerprint(body: Dict) -> np.ndarray:
    """A few sums of the synthetic body's geometry arrays (float64), to tell
    whether the body the fixtures were made with has changed."""
    v = np.asarray(body['v_template'], np.float64)
    idx = np.arange(1, len(np.asarray(body['f'])) + 1, dtype=np.float64)
    return np.array([
        v.shape[0], len(body['f']),
        *v.sum(0), np.abs(v).sum(),
        float((np.asarray(body['f'], np.float64) * idx[:, None]).sum()),
        float(np.asarray(body['vt'], np.float64).sum()),
        float(np.abs(np.asarray(body['shapedirs'], np.float64)).sum()),
        float((np.asarray(body['weights'], np.float64) *
               np.arange(24)).sum()),
        float(np.asarray(body['J_regressor'], np.float64).sum()),
    ])


def _pose(spec: Dict) -> np.ndarray:
    from mmlwgan.synthetic.motions import make_motion
    return make_motion(spec['motion'], NUM_FRAMES)[spec['frame']].astype(
        np.float64)


def make_inputs(pair: Dict, renderer) -> Dict[str, np.ndarray]:
    """Thetas of the pair and the source image (rendered by mmlwgan)."""
    import torch

    from mmlwgan.synthetic.batch import render_patterned_person
    from mmlwgan.visualization import fit_weak_perspective_camera
    betas = torch.tensor([pair['betas']], dtype=torch.float32)
    thetas = []
    for spec in (pair['src'], pair['tgt']):
        pose = torch.from_numpy(_pose(spec)).float()[None]
        verts = renderer.posed_vertices(pose, betas)
        cam = fit_weak_perspective_camera(verts, 0.2)[0]
        s = cam[0] * spec.get('scale', 1.0)
        shift = torch.tensor(spec.get('shift', (0.0, 0.0)))
        cam = torch.cat([s[None], cam[1:] + shift / s])
        thetas.append(torch.cat([cam, pose[0], betas[0]]))
    img, _ = render_patterned_person(renderer, thetas[0][None, 3:75], betas,
                                     seed=pair['seed'],
                                     cam=thetas[0][None, :3])
    return dict(theta_src=thetas[0].numpy().astype(np.float32),
                theta_tgt=thetas[1].numpy().astype(np.float32),
                src_img=img[0])


def save_npz(path: str, arrays: Dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed zip timestamps, so that the same
    arrays give the same bytes (a regenerated fixture shows no diff)."""
    import io
    import zipfile
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(arrays[key]),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(key + '.npy', date_time=(1980, 1, 1, 0,
                                                            0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buf.getvalue())


def generate(release: str, out: str, commit: str = RELEASE_COMMIT,
             pairs: Sequence[Dict] = PAIRS) -> List[str]:
    """Make the fixtures; returns the written paths."""
    import torch

    from mmlwgan.synthetic.body import make_synthetic_smpl
    from mmlwgan.utils import register_all_modules
    from mmlwgan.visualization import BodyRenderer
    commit = resolve_commit(release, commit)
    register_all_modules(init_default_scope=False)
    body = make_synthetic_smpl()
    work = tempfile.mkdtemp(prefix='release_geometry_')
    cwd = os.getcwd()
    out = osp.abspath(out)
    os.makedirs(out, exist_ok=True)
    written = []
    try:
        smpl_npz = osp.join(work, 'SMPL_NEUTRAL.npz')
        from mmlwgan.synthetic.body_files import save_synthetic_smpl
        save_synthetic_smpl(smpl_npz, fmt='npz')
        renderer = BodyRenderer(dict(type='SMPL', model_path=smpl_npz),
                                image_size=IMAGE_SIZE)
        with torch.no_grad():
            inputs = [make_inputs(pair, renderer) for pair in pairs]
        code = osp.join(work, 'release')
        extract_release(release, commit, code)
        assets = write_release_assets(body, work)
        os.chdir(work)  # the release's default asset paths are relative
        with release_environment(code):
            geometry = ReleaseGeometry(**assets)
            results = [
                geometry(x['src_img'], x['theta_src'], x['theta_tgt'])
                for x in inputs
            ]
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)
    fingerprint = body_fingerprint(body)
    for pair, x, res in zip(pairs, inputs, results):
        path = osp.join(out, f"{pair['name']}.npz")
        save_npz(
            path, dict(
                **x, **res, body_fingerprint=fingerprint,
                release_repo=np.array(RELEASE_REPO),
                release_commit=np.array(commit),
                torch12_note=np.array(TORCH12_NOTE),
                command=np.array(COMMAND),
                generator=np.array(
                    'tools/misc/make_release_geometry_fixtures.py'),
                pair=np.array(pair['name'])))
        written.append(path)
    return written


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Write reference fixtures of the release's geometry "
        '(fim, wim, cond maps, T, masks, warped source) for the synthetic '
        'body, running the release\'s own Python with a CPU port of its '
        'rasterization kernel.')
    parser.add_argument(
        '--release', required=True,
        help='git repository (bare or not) holding svip-lab/impersonator')
    parser.add_argument('--commit', default=RELEASE_COMMIT,
                        help='release commit (default: %(default)s)')
    parser.add_argument('--out', default='tests/data/release_geometry',
                        help='output folder (default: %(default)s)')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> List[str]:
    args = parse_args(argv)
    paths = generate(args.release, args.out, args.commit)
    for path in paths:
        print(f'{path}: {osp.getsize(path) / 1024:.1f} KiB')
    return paths


if __name__ == '__main__':
    main()

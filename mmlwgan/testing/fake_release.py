# Copyright (c) mmlwgan contributors. All rights reserved.
"""A stand-in for the Liquid Warping GAN release's assets, for tests.

The release's files (``pretrains.zip`` and ``checkpoints.zip``) are not
redistributable and not shipped. :func:`write_fake_release` writes a folder
with the same file names, layout and tensor names and shapes, every tensor
in the order of the reference listings (``tests/data/official_checkpoints``),
filled with seeded random values:

.. code-block:: text

    ROOT/assets/pretrains/hmr_tf2pt.pth            HMR + SMPL buffers (hmr.txt)
    ROOT/assets/pretrains/smpl_faces.npy           (13776, 3) SMPL triangles
    ROOT/assets/pretrains/mapper.txt               OBJ: v / vt / f v/vt/vn
    ROOT/assets/pretrains/smpl_part_info.json      {part: {'face': [...]}}
    ROOT/assets/pretrains/sphere20a_20171020.pth   SphereFace (sphere20a.txt)
    ROOT/assets/checkpoints/lwb_imper_fashion_place/net_epoch_30_id_G.pth
    ROOT/assets/checkpoints/lwb_imper_fashion_place/net_epoch_30_id_D.pth

Network weights are random at a scale that keeps activations finite
(``1 / sqrt(fan_in)``; norm layers near identity). Two groups are not
white noise, so that the whole pipeline runs on them: the SMPL buffers
of the HMR file are a plausible body (an SMPL-format body such as the
project's synthetic one, its vertices repeated up to SMPL's 6890 and its
triangles up to 13776, in TF-HMR's layout), and HMR's ``mean_theta`` is a
person facing the camera (its last layer is scaled down, so its predictions
stay near it). Nothing here is a trained model.
"""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Optional

import numpy as np
import torch

__all__ = ['write_fake_release', 'default_listing_dir', 'SMPL_NUM_FACES',
           'RELEASE_GENERATOR_DIR']

#: triangles of the SMPL mesh (not in the listings: smpl_faces.npy)
SMPL_NUM_FACES = 13776
#: the release's default generator folder (``options/base_options.py``)
RELEASE_GENERATOR_DIR = 'lwb_imper_fashion_place'

_LISTINGS = dict(lwb='generator_lwb.txt',
                 concat='generator_concat_baseline.txt',
                 discriminator='discriminator_patch.txt', hmr='hmr.txt',
                 sphereface='sphere20a.txt')


def default_listing_dir() -> str:
    """``tests/data/official_checkpoints`` of the source tree."""
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    return osp.join(root, 'tests', 'data', 'official_checkpoints')


def _fake_tensor(name: str, shape, gen: torch.Generator) -> torch.Tensor:
    if name.endswith('num_batches_tracked'):
        return torch.tensor(int(torch.randint(1, 10**6, (), generator=gen)))
    if name.endswith('running_var'):
        return torch.rand(shape, generator=gen) * 0.5 + 0.75
    if name.endswith('running_mean'):
        return torch.randn(shape, generator=gen) * 0.1
    if len(shape) <= 1:
        noise = torch.randn(shape, generator=gen)
        return 1 + 0.1 * noise if name.endswith('weight') else 0.05 * noise
    fan_in = int(np.prod(shape[1:]))
    return torch.randn(shape, generator=gen) / float(np.sqrt(fan_in))


def _fake_state_dict(listing: str, gen: torch.Generator,
                     skip_prefix: Optional[str] = None) -> 'OrderedDict':
    from mmlwgan.models.converters import load_shape_listing
    out = OrderedDict()
    for name, shape in load_shape_listing(listing).items():
        if skip_prefix and name.startswith(skip_prefix):
            continue
        out[name] = _fake_tensor(name, shape, gen)
    return out


def _embed_body(body: Dict[str, np.ndarray], num_verts: int,
                num_faces: int) -> Dict[str, np.ndarray]:
    """An SMPL-format body with ``num_verts`` vertices and ``num_faces``
    triangles: vertex ``i`` repeats vertex ``i % V`` of ``body``; triangles
    are the body's on each whole copy, cycled up to ``num_faces``."""
    src_v = body['v_template'].shape[0]
    if src_v > num_verts:
        raise ValueError(f'the body has {src_v} vertices, more than '
                         f'{num_verts}')
    idx = np.arange(num_verts) % src_v
    first = idx == np.arange(num_verts)  # the original copy
    faces = body['f'].astype(np.int64)
    blocks = [faces + c * src_v for c in range(num_verts // src_v)]
    cycle = np.arange(num_faces) % (len(blocks) * len(faces))
    f_all = np.concatenate(blocks)[cycle]
    ft = body.get('ft', faces)
    ft_all = np.concatenate([ft] * len(blocks))[cycle]
    face_src = cycle % len(faces)

    def regressor(mat):  # (J, V) -> (num_verts, J), the original copy only
        out = np.zeros((num_verts, mat.shape[0]), np.float32)
        out[first] = mat.T
        return out

    out = dict(
        v_template=body['v_template'][idx].astype(np.float32),
        shapedirs=body['shapedirs'][idx].astype(np.float32),
        posedirs=body['posedirs'][idx].astype(np.float32),
        weights=body['weights'][idx].astype(np.float32),
        J_regressor=regressor(np.asarray(body['J_regressor'], np.float32)),
        f=f_all, ft=ft_all, face_src=face_src)
    if 'joint_regressor_extra' in body:
        out['joint_regressor'] = regressor(
            np.asarray(body['joint_regressor_extra'], np.float32))
    return out


def _hmr_smpl_buffers(emb: Dict[str, np.ndarray],
                      listing: 'OrderedDict') -> 'OrderedDict':
    """TF-HMR's layout: (K, 3V) with index ``3 v + c``; (V, J) regressors."""
    def flat(arr):  # (V, 3, K) -> (K, 3V)
        return arr.transpose(2, 0, 1).reshape(arr.shape[2], -1)

    arrays = dict(v_template=emb['v_template'],
                  shapedirs=flat(emb['shapedirs']),
                  posedirs=flat(emb['posedirs']),
                  J_regressor=emb['J_regressor'], weights=emb['weights'],
                  joint_regressor=emb.get('joint_regressor'))
    out = OrderedDict()
    for name, shape in listing.items():
        if not name.startswith('smpl.'):
            continue
        arr = arrays.get(name[len('smpl.'):])
        if arr is None or tuple(arr.shape) != tuple(shape):
            raise ValueError(f'cannot fill {name} {shape} from the body '
                             f'(got {None if arr is None else arr.shape})')
        out[name] = torch.from_numpy(np.ascontiguousarray(arr))
    return out


def _write_mapper(path: str, emb: Dict[str, np.ndarray],
                  vt: np.ndarray) -> None:
    """An OBJ like the release's mapper.txt (``vt`` with v up: the loader
    flips it back)."""
    lines = ['# fake mapper.txt (mmlwgan.testing.fake_release)']
    lines += [f'v {x:.6f} {y:.6f} {z:.6f}' for x, y, z in emb['v_template']]
    lines += [f'vt {u:.6f} {1.0 - v:.6f}' for u, v in vt]
    for f, t in zip(emb['f'] + 1, emb['ft'] + 1):
        lines.append('f ' + ' '.join(f'{a}/{b}/{a}' for a, b in zip(f, t)))
    with open(path, 'w') as fh:
        fh.write('\n'.join(lines) + '\n')


def write_fake_release(root: str,
                       body_model: str,
                       listing_dir: Optional[str] = None,
                       seed: int = 0,
                       variant: str = 'lwb',
                       discriminator: bool = True,
                       sphereface: bool = True,
                       part_info: bool = True,
                       generator_dir: str = RELEASE_GENERATOR_DIR,
                       epoch: int = 30) -> Dict[str, str]:
    """Write a fake release assets folder under ``root`` (see the module).

    Args:
        root (str): output folder (``ROOT/assets/...`` is written).
        body_model (str): an SMPL-format body file (``.npz`` / ``.pkl``,
            e.g. the synthetic body of
            :func:`mmlwgan.synthetic.get_synthetic_smpl_path`) giving the SMPL
            buffers, faces, UVs and parts.
        listing_dir (str, optional): folder of the reference listings.
            Defaults to :func:`default_listing_dir`.
        seed (int): seed of the random weights.
        variant (str): ``'lwb'`` or ``'concat'`` (the W_C generator).
        discriminator, sphereface, part_info (bool): write those files.
        generator_dir (str): folder name of the generator under
            ``assets/checkpoints``.
        epoch (int): epoch in the generator's file name.

    Returns:
        dict[str, str]: paths by role (``'assets'``, ``'generator'``,
        ``'discriminator'``, ``'hmr'``, ``'smpl_faces'``, ``'mapper'``,
        ``'part_info'``, ``'sphereface'``).
    """
    from mmlwgan.models.body import load_smpl_model_data
    from mmlwgan.models.converters import load_shape_listing
    listing_dir = listing_dir or default_listing_dir()
    gen = torch.Generator().manual_seed(seed)
    assets = osp.join(root, 'assets')
    pretrains = osp.join(assets, 'pretrains')
    ckpt_dir = osp.join(assets, 'checkpoints', generator_dir)
    os.makedirs(pretrains, exist_ok=True)
    os.makedirs(ckpt_dir, exist_ok=True)
    paths = dict(assets=assets)

    # HMR (+ the SMPL buffers of a plausible body)
    hmr_listing = load_shape_listing(osp.join(listing_dir, _LISTINGS['hmr']))
    num_verts = hmr_listing['smpl.v_template'][0]
    body = load_smpl_model_data(body_model)
    emb = _embed_body(body, num_verts, SMPL_NUM_FACES)
    hmr = _fake_state_dict(osp.join(listing_dir, _LISTINGS['hmr']), gen,
                           skip_prefix='smpl.')
    theta = torch.zeros(hmr['regressor.mean_theta'].shape)
    theta[0], theta[3] = 0.9, np.pi  # scale, root rotation: facing us
    hmr['regressor.mean_theta'] = theta
    for key in ('regressor.fc_blocks.fc3.weight',
                'regressor.fc_blocks.fc3.bias'):
        hmr[key] = hmr[key] * 1e-3  # predictions stay near mean_theta
    hmr.update(_hmr_smpl_buffers(emb, hmr_listing))
    paths['hmr'] = osp.join(pretrains, 'hmr_tf2pt.pth')
    torch.save(hmr, paths['hmr'])

    paths['smpl_faces'] = osp.join(pretrains, 'smpl_faces.npy')
    np.save(paths['smpl_faces'], emb['f'].astype(np.int32))
    paths['mapper'] = osp.join(pretrains, 'mapper.txt')
    vt = body.get('vt')
    if vt is None:  # no UVs: any per-vertex table will do
        vt = np.random.RandomState(seed).rand(
            body['v_template'].shape[0], 2)
        emb['ft'] = emb['f'] % body['v_template'].shape[0]
    _write_mapper(paths['mapper'], emb, np.asarray(vt, np.float32))
    if part_info and 'face_part_labels' in body:
        labels = np.asarray(body['face_part_labels'])[emb['face_src']]
        names = list(body.get('part_names') or [])
        parts = {}
        for i in np.unique(labels):
            name = names[i] if i < len(names) else f'part{i}'
            parts[f'{int(i):02d}_{name}'] = dict(
                face=np.flatnonzero(labels == i).tolist())
        paths['part_info'] = osp.join(pretrains, 'smpl_part_info.json')
        with open(paths['part_info'], 'w') as fh:
            json.dump(parts, fh)

    if sphereface:
        sd = _fake_state_dict(
            osp.join(listing_dir, _LISTINGS['sphereface']), gen)
        paths['sphereface'] = osp.join(pretrains, 'sphere20a_20171020.pth')
        torch.save(sd, paths['sphereface'])

    sd = _fake_state_dict(osp.join(listing_dir, _LISTINGS[variant]), gen)
    paths['generator'] = osp.join(ckpt_dir, f'net_epoch_{epoch}_id_G.pth')
    torch.save(sd, paths['generator'])
    if discriminator:
        sd = _fake_state_dict(
            osp.join(listing_dir, _LISTINGS['discriminator']), gen)
        paths['discriminator'] = osp.join(ckpt_dir,
                                          f'net_epoch_{epoch}_id_D.pth')
        torch.save(sd, paths['discriminator'])
    return paths

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Regression against the release itself.

``tests/data/release_geometry/*.npz`` hold what the released Liquid Warping
GAN (svip-lab/impersonator, its own Python, a CPU port of its rasterization
kernel, torch 1.2's ``grid_sample``) computes for the synthetic body in four
source / target pairs at 64 px: face index and weight maps, UV condition
maps, the flow T, the masks and the warped source image. They were made by
``tools/misc/make_release_geometry_fixtures.py`` (its docstring and the
fixtures' metadata record the release commit and the command).

Here :class:`LiquidWarpingGAN` computes the same pairs and must agree:

* ``'release'`` convention: same silhouettes and face index, the same
  position read by every warp of T (T sampled with ``align_corners=True``)
  within 0.05 px on interior pixels, equal condition maps and masks, and a
  warped source image equal up to float rounding. The flow converted to
  ``align_corners=True`` (the behaviour before ``flow_convention``) reads
  elsewhere, so the comparison cannot pass vacuously.
* ``'consistent'`` convention: every warp reads exactly at the pixel
  position T names (``align_corners=False``), and T names the release's
  positions.

Interior pixels are those whose 3 x 3 neighbourhood is body in the
release's face index map. (At 64 px the synthetic body's 6,720 faces are
smaller than a pixel, so no 3 x 3 neighbourhood holds one face index only.)
Read positions are measured, not derived: each warp samples an image whose
channels are the pixel column and row, which bilinear sampling reproduces
exactly wherever the four neighbours are in the image.
"""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmlwgan.models.flows import convert_grid_align_corners, erode
from mmlwgan.registry import MODELS
from mmlwgan.synthetic.body import make_synthetic_smpl
from mmlwgan.utils import register_all_modules
from tools.misc.make_release_geometry_fixtures import (RELEASE_COMMIT,
                                                       body_fingerprint)

FIXTURES = sorted(
    glob.glob(
        osp.join(
            osp.dirname(__file__), '..', 'data', 'release_geometry',
            '*.npz')))
SIZE = 64
#: Largest allowed distance between the positions two warps read, in px.
READ_TOL = 0.05
NET = dict(base_channels=4, num_downs=2, num_blocks=1)


def model_cfg(smpl_path, convention):
    unet = dict(type='ResUnetGenerator', in_channels=6, **NET)
    return dict(
        type='LiquidWarpingGAN',
        generator=dict(
            type='LWBGenerator',
            bg_net=dict(type='ResNetGenerator', in_channels=4, **NET),
            src_net=unet,
            tsf_net=unet,
            # the release's fusion blocks sample with align_corners=True
            fusion=dict(type='LiquidWarpingBlock',
                        align_corners=convention == 'release')),
        body_model=dict(type='SMPL', model_path=smpl_path),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE),
        flow_convention=convention)


def load(path):
    with np.load(path, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope='module')
def fixtures():
    assert len(FIXTURES) >= 2, 'tests/data/release_geometry is missing'
    return [load(p) for p in FIXTURES]


@pytest.fixture(scope='module')
def models(synthetic_smpl_npz):
    register_all_modules(init_default_scope=False)
    return {
        c: MODELS.build(model_cfg(synthetic_smpl_npz, c)).eval()
        for c in ('release', 'consistent')
    }


def coordinate_image():
    """(1, 2, H, W): channel 0 the pixel column, channel 1 the row."""
    rows, cols = torch.meshgrid(torch.arange(SIZE, dtype=torch.float32),
                                torch.arange(SIZE, dtype=torch.float32),
                                indexing='ij')
    return torch.stack([cols, rows])[None]


def read_positions(warp, flow):
    """(H, W, 2) pixel (column, row) each pixel of ``warp(img, flow)``
    reads; ``flow`` (1, H, W, 2)."""
    return warp(coordinate_image(), flow)[0].permute(1, 2, 0)


def release_read_positions(fix):
    """What the release reads: ``F.grid_sample(src_img, T)`` under torch
    1.2, i.e. ``align_corners=True``."""
    T = torch.from_numpy(fix['T'])[None]
    return read_positions(
        lambda img, flow: F.grid_sample(
            img, flow, mode='bilinear', padding_mode='zeros',
            align_corners=True), T)


def interior(fim):
    """Pixels whose 3 x 3 neighbourhood is body in ``fim`` (H, W)."""
    body = torch.as_tensor(fim >= 0).float()[None, None]
    return erode(body, 3)[0, 0] > 0


def geometry(model, fix):
    theta_src = torch.from_numpy(fix['theta_src'])[None, None]
    theta_tgt = torch.from_numpy(fix['theta_tgt'])[None]
    geo = model.compute_geometry(theta_src, theta_tgt)
    geo['src_face_idx'] = geo['src_fragments'].face_idx[0]
    geo['tgt_face_idx'] = geo['tgt_fragments'].face_idx[0]
    src_img = torch.from_numpy(fix['src_img']).permute(2, 0, 1).float()
    src_img = (src_img / 255 * 2 - 1)[None, None]
    geo.update(model.generator_inputs(src_img, geo))
    return geo


def test_fixtures_record_the_release_and_the_body(fixtures):
    expected = body_fingerprint(make_synthetic_smpl())
    for fix in fixtures:
        assert str(fix['release_commit']) == RELEASE_COMMIT
        assert 'align_corners=True' in str(fix['torch12_note'])
        assert 'make_release_geometry_fixtures.py' in str(fix['command'])
        np.testing.assert_allclose(
            fix['body_fingerprint'], expected, rtol=1e-9,
            err_msg='the synthetic body changed since the fixtures were '
            'made: regenerate them (see the fixtures\' command)')
        assert fix['T'].shape == (SIZE, SIZE, 2)
        assert interior(fix['tgt_fim']).sum() >= 100


def test_release_mode_matches_the_release(models, fixtures):
    model = models['release']
    assert model.align_corners and \
        model.flow_composer.rasterizer.cull_backfaces
    reads, olds = [], []
    for fix in fixtures:
        geo = geometry(model, fix)
        name = str(fix['pair'])
        # silhouettes and face index
        for side in ('src', 'tgt'):
            ref = torch.from_numpy(fix[f'{side}_fim']).long()
            ours = geo[f'{side}_face_idx']
            assert torch.equal(ours >= 0, ref >= 0), (name, side)
            inner = interior(fix[f'{side}_fim'])
            assert torch.equal(ours[inner], ref[inner]), (name, side)
            # on these fixtures even face edges and silhouettes agree
            assert torch.equal(ours, ref), (name, side)
        # positions read by the warp of T
        inner = interior(fix['tgt_fim'])
        ref_read = release_read_positions(fix)
        flow = geo['flow'][:, 0]
        our_read = read_positions(model.warp, flow)
        dist = (our_read - ref_read).norm(dim=-1)[inner]
        reads.append(dist)
        assert dist.max() <= READ_TOL, (name, dist.max())
        # the old behaviour: T converted to align_corners=True
        old = convert_grid_align_corners(flow, to_align_corners=True)
        old_read = read_positions(model.warp, old)
        old_dist = (old_read - ref_read).norm(dim=-1)[inner]
        olds.append(old_dist)
        # the flow itself, background included
        ref_T = torch.from_numpy(fix['T'])
        off = torch.from_numpy(fix['tgt_fim']) < 0
        assert torch.all(flow[0][off] == ref_T[off])
        # condition maps: the release's per-face UV rule, (0, 0, 1) off
        # the body
        torch.testing.assert_close(geo['tgt_cond'][0],
                                   torch.from_numpy(fix['tgt_cond']),
                                   rtol=0, atol=1e-6)
        torch.testing.assert_close(geo['src_cond'][0, 0],
                                   torch.from_numpy(fix['src_cond']),
                                   rtol=0, atol=1e-6)
        # masks (the release's morph == our erode)
        ref_masks = dict(
            src_fg_mask=1 - fix['src_crop_mask'],
            tgt_bg_mask=fix['tsf_crop_mask'],
            bg_input_mask=fix['src_bg_mask'])
        for key, ref in ref_masks.items():
            ours = geo[key].reshape(SIZE, SIZE)
            assert torch.equal(ours, torch.from_numpy(ref).float()), (name,
                                                                      key)
        # the warped source image (I_syn)
        torch.testing.assert_close(geo['warped'][0],
                                   torch.from_numpy(fix['syn_img']),
                                   rtol=0, atol=5e-3)
    reads, olds = torch.cat(reads), torch.cat(olds)
    print(f'\nrelease mode: read positions vs the release on '
          f'{reads.numel()} interior pixels: mean {reads.mean():.2e} px, '
          f'max {reads.max():.2e} px; with T converted to align_corners='
          f'True: mean {olds.mean():.3f} px, max {olds.max():.3f} px')
    # the comparison is not vacuous: the old behaviour fails it
    assert olds.max() > READ_TOL and olds.mean() > READ_TOL


def test_consistent_mode_reads_where_t_points(models, fixtures):
    model = models['consistent']
    assert not model.align_corners
    dists = []
    for fix in fixtures:
        geo = geometry(model, fix)
        name = str(fix['pair'])
        inner = interior(fix['tgt_fim'])
        flow = geo['flow'][:, 0]
        our_read = read_positions(model.warp, flow)[inner]
        # the pixel position T names (align_corners=False)
        named = ((flow[0] + 1) * SIZE - 1) / 2
        torch.testing.assert_close(our_read, named[inner], rtol=0,
                                   atol=1e-4)
        # ... which is the position the release's T names
        ref_T = torch.from_numpy(fix['T'])
        ref_named = ((ref_T + 1) * SIZE - 1) / 2
        dist = (our_read - ref_named[inner]).norm(dim=-1)
        dists.append(dist)
        assert dist.max() <= READ_TOL, (name, dist.max())
        # ... and not the one the release reads (align_corners=True)
        release_read = release_read_positions(fix)[inner]
        assert (our_read - release_read).norm(dim=-1).max() > READ_TOL
        # same faces and masks as the release in this convention too
        for side in ('src', 'tgt'):
            ref = torch.from_numpy(fix[f'{side}_fim']).long()
            ours = geo[f'{side}_face_idx']
            assert torch.equal(ours[interior(fix[f'{side}_fim'])],
                               ref[interior(fix[f'{side}_fim'])]), (name,
                                                                    side)
        assert torch.equal(geo['tgt_bg_mask'].reshape(SIZE, SIZE),
                           torch.from_numpy(fix['tsf_crop_mask']).float())
    dists = torch.cat(dists)
    print(f'\nconsistent mode: read positions vs the positions the '
          f"release's T names: mean {dists.mean():.2e} px, max "
          f'{dists.max():.2e} px')

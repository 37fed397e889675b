# Copyright (c) mmlwgan contributors. All rights reserved.
import os
import os.path as osp

import torch
import torch.nn as nn

from mmlwgan.models.converters import load_shape_listing
from mmlwgan.models.discriminators import (GlobalLocalDiscriminator,
                                           PatchDiscriminator,
                                           crop_and_resize, patch_output_size)

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
LISTING_DIRS = [
    osp.join(ROOT, 'tests', 'data', 'official_checkpoints'),
    os.environ.get('MMLWGAN_LISTING_DIR',
                   '/work/shared/reference/official_checkpoints')
]
LISTING = next((osp.join(d, 'discriminator_patch.txt') for d in LISTING_DIRS
                if osp.exists(osp.join(d, 'discriminator_patch.txt'))), None)


def test_patch_discriminator_full_width_layout():
    with torch.device('meta'):
        disc = PatchDiscriminator()
        # shape inference only: a free full-width 256 px forward
        out = disc(torch.empty(2, 6, 256, 256))
    assert out.shape == (2, 1, 14, 14)
    assert sum(p.numel() for p in disc.parameters()) == 6962625
    shapes = {k: tuple(v.shape) for k, v in disc.state_dict().items()}
    if LISTING is not None:
        listed = load_shape_listing(LISTING)
        assert list(shapes.items()) == list(listed.items())
    strides = [m.stride[0] for m in disc.modules() if isinstance(m, nn.Conv2d)]
    assert strides == [2, 2, 2, 2, 1, 1]
    assert not any(isinstance(m, nn.Sigmoid) for m in disc.modules())
    assert not any(m.affine for m in disc.modules()
                   if isinstance(m, nn.InstanceNorm2d))


def test_patch_discriminator_tiny_forward_256():
    disc = PatchDiscriminator(in_channels=6, base_channels=2)
    with torch.no_grad():
        out = disc(torch.rand(1, 6, 256, 256) * 2 - 1)
    assert out.shape == (1, 1, 14, 14)
    assert patch_output_size(256) == 14
    assert patch_output_size(64) == 2
    small = PatchDiscriminator(base_channels=4, num_layers=2)
    assert small(torch.rand(1, 6, 32, 32)).shape == (
        1, 1, patch_output_size(32, 2), patch_output_size(32, 2))


def test_crop_and_resize():
    img = torch.arange(2 * 1 * 8 * 8, dtype=torch.float32).view(2, 1, 8, 8)
    full = torch.tensor([[0, 8, 0, 8], [0, 8, 0, 8]])
    torch.testing.assert_close(crop_and_resize(img, full), img)
    # a 2x2 box upsampled to 8x8 keeps its corner values
    box = torch.tensor([[2, 4, 3, 5], [0, 2, 0, 2]])
    out = crop_and_resize(img, box)
    assert out.shape == (2, 1, 8, 8)
    assert out[0, 0, 0, 0] == img[0, 0, 3, 2]
    assert out[0, 0, -1, -1] == img[0, 0, 4, 3]
    # degenerate boxes are widened to one pixel
    assert crop_and_resize(img, torch.tensor([[5, 5, 9, 2]] * 2),
                           (4, 4)).shape == (2, 1, 4, 4)


def test_global_local_discriminator():
    disc = GlobalLocalDiscriminator(base_channels=4, num_layers=2)
    g = torch.rand(2, 4, 32, 32)
    loc = torch.rand(2, 6, 32, 32)
    boxes = torch.tensor([[4, 20, 2, 30], [0, 32, 0, 32]])
    gs, ls = disc(g, loc, boxes)
    assert gs.shape == ls.shape == (2, 1, 6, 6)
    # the second box is the whole image: same as scoring the full input
    _, ls_full = disc(g, loc)
    torch.testing.assert_close(ls[1], ls_full[1])
    assert disc.global_model.model[0].in_channels == 4
    assert disc.local_model.model[0].in_channels == 6

# Copyright (c) mmlwgan contributors. All rights reserved.
"""The background choices: known pixels kept, the hole inpainted from them."""
import pytest
import torch

from mmlwgan.models.editors.background import inpaint_hole, keep_known_pixels


def _hole(size=32, box=(10, 22, 12, 20)):
    keep = torch.ones(1, 1, size, size)
    y0, y1, x0, x1 = box
    keep[..., y0:y1, x0:x1] = 0
    return keep


def test_keep_known_pixels_by_hand():
    img = torch.full((1, 3, 2, 2), 0.5)
    fill = torch.full((1, 3, 2, 2), -1.0)
    keep = torch.tensor([[[1.0, 0.0], [0.25, 1.0]]])  # (B, H, W)
    out = keep_known_pixels(img, fill, keep)
    expected = torch.tensor([[0.5, -1.0], [0.25 * 0.5 - 0.75, 0.5]])
    assert torch.allclose(out[0, 0], expected)
    assert torch.equal(out[0, 0], out[0, 2])


def test_constant_background_is_filled_with_its_colour():
    colour = torch.tensor([0.2, -0.4, 0.6]).view(1, 3, 1, 1)
    img = colour.expand(1, 3, 32, 32).clone()
    keep = _hole()
    img[..., 10:22, 12:20] = torch.tensor([1.0, 1.0, -1.0]).view(3, 1, 1)
    out = inpaint_hole(img, keep)
    # inside the hole: the surrounding colour (within uint8 rounding)
    assert torch.allclose(out[..., 10:22, 12:20],
                          colour.expand(1, 3, 12, 8), atol=3 / 127.5)
    # outside: the input, bit for bit (no uint8 round trip)
    assert torch.equal(out * keep, img * keep)


def test_gradient_background_is_continued_across_the_hole():
    x = torch.linspace(0.1, 0.9, 32)
    truth = x.view(1, 1, 1, 32).expand(1, 3, 32, 32).clone()
    keep = _hole()
    img = truth * keep  # the hole holds zeros (a wrong fill would keep them)
    out = inpaint_hole(img, keep)
    hole = keep[0, 0] == 0
    err = (out[0, 0][hole] - truth[0, 0][hole]).abs()
    zero_err = truth[0, 0][hole].abs()
    # far closer to the true ramp (0.1 .. 0.9) than the zeros it was given
    assert err.mean() < 0.06 and err.mean() < zero_err.mean() / 5
    # the fill increases left to right, as the ramp does
    row = out[0, 0, 16, 12:20]
    assert (row[1:] >= row[:-1] - 1e-6).all()


def test_batch_items_use_their_own_hole():
    a = torch.full((1, 3, 16, 16), -0.5)
    b = torch.full((1, 3, 16, 16), 0.5)
    keep = torch.ones(2, 1, 16, 16)
    keep[0, :, 4:8, 4:8] = 0
    keep[1, :, 8:12, 8:12] = 0
    out = inpaint_hole(torch.cat([a, b]), keep)
    assert torch.allclose(out[0], a[0], atol=3 / 127.5)
    assert torch.allclose(out[1], b[0], atol=3 / 127.5)


def test_nothing_known_is_refused():
    with pytest.raises(ValueError, match='the whole picture is hole'):
        inpaint_hole(torch.zeros(1, 3, 8, 8), torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match=r'expects \(B, 3, H, W\)'):
        inpaint_hole(torch.zeros(1, 1, 8, 8), torch.ones(1, 1, 8, 8))

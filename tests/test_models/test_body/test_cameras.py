# Copyright (c) mmlwgan contributors. All rights reserved.
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmlwgan.models.body import (PerspectiveCamera, WeakPerspectiveCamera,
                                 crop_cam_to_frame_cam, crop_person,
                                 frame_cam_to_crop_cam, ndc_to_pixel,
                                 perspective_project,
                                 pixel_to_ndc, weak_perspective_project,
                                 weak_perspective_unproject_xy,
                                 weak_to_perspective_translation)
from mmlwgan.registry import MODELS


def test_weak_perspective_values():
    points = torch.tensor([[[0.1, -0.2, 0.5], [-0.3, 0.4, -1.0]]])
    cam = torch.tensor([[0.8, 0.05, -0.1]])
    out = weak_perspective_project(points, cam)
    # hand computation: s * (X + tx), s * (Y + ty), z kept
    expected = torch.tensor([[[0.8 * 0.15, 0.8 * -0.3, 0.5],
                              [0.8 * -0.25, 0.8 * 0.3, -1.0]]])
    torch.testing.assert_close(out, expected)
    out_z = weak_perspective_project(points, cam, scale_z=True)
    torch.testing.assert_close(out_z[..., 2], 0.8 * points[..., 2])
    # batched cameras apply per sample; y is not flipped
    pts2 = torch.stack([points[0], points[0]])
    cams = torch.tensor([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    out2 = weak_perspective_project(pts2, cams)
    torch.testing.assert_close(out2[0, :, :2], pts2[0, :, :2])
    torch.testing.assert_close(out2[1, :, :2], 2 * pts2[1, :, :2])


def test_weak_perspective_round_trip():
    g = torch.Generator().manual_seed(0)
    points = torch.randn(4, 50, 3, generator=g)
    cam = torch.cat([torch.rand(4, 1, generator=g) + 0.5,
                     0.2 * torch.randn(4, 2, generator=g)], 1)
    proj = weak_perspective_project(points, cam)
    xy = weak_perspective_unproject_xy(proj[..., :2], cam)
    torch.testing.assert_close(xy, points[..., :2])
    camera = MODELS.build(dict(type='WeakPerspectiveCamera'))
    assert isinstance(camera, WeakPerspectiveCamera)
    torch.testing.assert_close(camera(points, cam), proj)
    torch.testing.assert_close(camera.unproject_xy(proj[..., :2], cam),
                               points[..., :2])


def test_pixel_ndc_convention_matches_grid_sample():
    h, w = 4, 6
    # NDC of pixel centres: x = (2 i + 1) / W - 1; edges at -1 and +1
    uv = torch.tensor([[0.0, 0.0], [w - 1.0, h - 1.0], [-0.5, -0.5]])
    ndc = pixel_to_ndc(uv, (h, w))
    torch.testing.assert_close(
        ndc, torch.tensor([[1 / w - 1, 1 / h - 1], [1 - 1 / w, 1 - 1 / h],
                           [-1.0, -1.0]]))
    torch.testing.assert_close(ndc_to_pixel(ndc, (h, w)), uv)
    # sampling an image at a pixel centre's NDC returns that pixel
    img = torch.arange(h * w, dtype=torch.float32).reshape(1, 1, h, w)
    grid = pixel_to_ndc(torch.tensor([[[[4.0, 1.0]]]]), (h, w))
    val = F.grid_sample(img, grid, align_corners=False)
    assert val.item() == img[0, 0, 1, 4].item()  # row 1 (y down), column 4


def test_perspective_optical_axis_hits_principal_point():
    h, w = 120, 200
    pp = torch.tensor([[90.0, 70.0]])
    # a world point that R, T bring onto the optical axis at depth 4
    angle = torch.tensor(0.3)
    c, s = torch.cos(angle), torch.sin(angle)
    R = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    T = torch.tensor([[0.0, 0.0, 4.0]])
    world = torch.zeros(1, 1, 3)  # R @ 0 + T = (0, 0, 4)
    out = perspective_project(world, 1000.0, pp, R, T, (h, w))
    expected = pixel_to_ndc(pp, (h, w))[0]
    torch.testing.assert_close(out[0, 0, :2], expected)
    assert out[0, 0, 2].item() == pytest.approx(4.0)
    # default principal point = image centre -> NDC (0, 0)
    out = perspective_project(torch.tensor([[[0.0, 0.0, 7.0]]]), 500.0,
                              image_size=(h, w))
    torch.testing.assert_close(out[0, 0, :2], torch.zeros(2), atol=1e-6,
                               rtol=0)


def test_perspective_values():
    points = torch.tensor([[[1.0, 2.0, 10.0], [-0.5, 0.25, 5.0]]])
    out = perspective_project(
        points, torch.tensor([[100.0, 80.0]]),
        torch.tensor([63.5, 60.0]), image_size=128)
    u = torch.tensor([100 * 0.1 + 63.5, 100 * -0.1 + 63.5])
    v = torch.tensor([80 * 0.2 + 60.0, 80 * 0.05 + 60.0])
    torch.testing.assert_close(out[0, :, 0], (2 * u + 1) / 128 - 1)
    torch.testing.assert_close(out[0, :, 1], (2 * v + 1) / 128 - 1)
    torch.testing.assert_close(out[0, :, 2], points[0, :, 2])
    cam = MODELS.build(
        dict(type='PerspectiveCamera', focal_length=(100.0, 80.0),
             image_size=128, principal_point=(63.5, 60.0)))
    assert isinstance(cam, PerspectiveCamera)
    torch.testing.assert_close(cam(points), out)


def test_weak_to_perspective_translation_equivalence():
    g = torch.Generator().manual_seed(1)
    xy = torch.randn(2, 30, 2, generator=g)
    points = torch.cat([xy, torch.zeros(2, 30, 1)], -1)  # depth 0
    cam = torch.tensor([[0.9, 0.1, -0.05], [1.2, -0.2, 0.3]])
    focal, size = 5000.0, 224
    T = weak_to_perspective_translation(cam, focal, size)
    persp = perspective_project(points, focal, None, None, T, size)
    weak = weak_perspective_project(points, cam)
    torch.testing.assert_close(persp[..., :2], weak[..., :2], atol=1e-5,
                               rtol=0)


# ---------------------------------------------------------------------------
# crop camera -> frame camera
# ---------------------------------------------------------------------------
def _project_px(points: np.ndarray, cam: np.ndarray, size) -> np.ndarray:
    """Pixels (N, 2) of ``points`` (N, 3) through a weak-perspective camera
    in an image of ``size`` (H, W)."""
    ndc = weak_perspective_project(
        torch.from_numpy(points)[None], torch.from_numpy(cam)[None])
    return ndc_to_pixel(ndc[0, :, :2], size).numpy()


def _crop_px_to_frame_px(uv_crop: np.ndarray, info: dict) -> np.ndarray:
    """By hand: crop pixel centre ``i`` of ``crop_person`` samples the frame
    at ``c + (i + 0.5 - n / 2) * side / n`` (n = crop pixels, c = centre)."""
    n = info['image_size']
    centre = np.asarray(info['center'], np.float64)
    return centre + (uv_crop + 0.5 - n / 2.0) * info['side'] / n


def _brute_force_error(convert, points, cam_c, info, size) -> float:
    uv_crop = _project_px(points, cam_c, info['image_size'])
    expected = _crop_px_to_frame_px(uv_crop, info)
    got = _project_px(points, convert(cam_c, info, size), size)
    return float(np.abs(got - expected).max())


@pytest.mark.parametrize('box', [(30.0, 40.0, 90.0, 150.0),
                                 (5.0, 100.0, 60.0, 190.0)])
def test_crop_cam_to_frame_cam_brute_force(box):
    """Project 3D points with the crop camera into crop pixels, map them to
    frame pixels through the crop box by hand: the converted frame camera
    projects them to the same pixels (and back)."""
    size = (200, 200)
    rng = np.random.default_rng(0)
    points = rng.uniform(-0.8, 0.8, (12, 3))
    cam_c = np.array([0.7, 0.12, -0.2])  # off-centre, tx != ty
    frame = np.zeros(size + (3, ), np.uint8)
    _, info = crop_person(frame, box)  # HMR's crop: 224 px, diag_len 150
    assert info['center'][0] != info['center'][1]
    err = _brute_force_error(crop_cam_to_frame_cam, points, cam_c, info,
                             size)
    assert err < 1e-6, err
    # tensors (batched) give the same cameras; the inverse round-trips
    cam_f = crop_cam_to_frame_cam(cam_c, info)
    cam_t = crop_cam_to_frame_cam(torch.from_numpy(cam_c)[None], info)
    assert isinstance(cam_t, torch.Tensor) and cam_t.shape == (1, 3)
    np.testing.assert_allclose(cam_t[0].numpy(), cam_f, atol=1e-12)
    np.testing.assert_allclose(frame_cam_to_crop_cam(cam_f, info), cam_c,
                               atol=1e-12)

    # Plant-a-bug check: a wrong sign or swapped x / y in the conversion
    # moves the pixels by far more than the tolerance above.
    def flipped_sign(cam, info_, size_):
        s, tx, ty = crop_cam_to_frame_cam(cam, info_, size_)
        ox = (2 * info_['center'][0] + 1) / size_[1] - 1
        return np.array([s, tx - 2 * ox / s, ty])

    def swapped_xy(cam, info_, size_):
        swapped = dict(info_, center=info_['center'][::-1])
        return crop_cam_to_frame_cam(cam, swapped, size_)

    for bug in (flipped_sign, swapped_xy):
        assert _brute_force_error(bug, points, cam_c, info, size) > 1.0


def test_crop_cam_to_frame_cam_non_square():
    info = dict(center=(40.0, 25.0), side=30.0, image_size=224,
                orig_size=(60, 80))
    with pytest.raises(ValueError, match='square'):
        crop_cam_to_frame_cam(np.array([1.0, 0.0, 0.0]), info)
    # strict=False: the scale follows the width; x stays exact
    points = np.random.default_rng(1).uniform(-0.5, 0.5, (6, 3))
    cam_c = np.array([0.9, 0.05, 0.1])
    uv = _crop_px_to_frame_px(_project_px(points, cam_c, 224), info)
    cam_f = crop_cam_to_frame_cam(cam_c, info, strict=False)
    got = _project_px(points, cam_f, (60, 80))
    np.testing.assert_allclose(got[:, 0], uv[:, 0], atol=1e-9)

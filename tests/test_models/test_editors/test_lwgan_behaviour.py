# Copyright (c) mmlwgan contributors. All rights reserved.
"""What ``LiquidWarpingGAN`` computes, checked against hand-made numbers.

* its own geometry, for an identity target, reads the source where its
  flow convention says: the source itself (``'consistent'``), or where the
  released code reads (``'release'``, the released weights' convention);
* G_SID gets the source body (the source with its background removed, plus
  its condition map), as in the release;
* one ``train_step`` logs the loss values a hand computation gives from the
  generator's outputs: LSGAN labels of the G and the D step, the mask loss
  against the eroded rendered background, the source reconstruction and
  the masks' total variation.

Every expected value is computed here from the thetas (a separate
``BodyRenderer``), the images and the captured generator outputs, not with
the model's own helpers.
"""
import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmlwgan.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmlwgan.structures import LWGANDataSample
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.synthetic.batch import (make_synthetic_batch,
                                             render_patterned_person)
from mmlwgan.utils import register_all_modules
from mmlwgan.visualization import BodyRenderer

SIZE = 32
NET = dict(base_channels=4, num_downs=2, num_blocks=1)

#: (gan_loss config, G-step label, D real label, D fake label)
GAN_LOSSES = dict(
    release_lsgan=(dict(type='LSGANLoss'), 0.0, 1.0, -1.0),
    generic_lsgan=(dict(type='GANLoss', gan_type='lsgan'), 1.0, 1.0, 0.0),
)


def model_cfg(smpl_path, align_corners=False, gan_loss=None):
    """A tiny LWB model with the release's loss terms (no VGG / face)."""
    unet = dict(type='ResUnetGenerator', in_channels=6, **NET)
    return dict(
        type='LiquidWarpingGAN',
        generator=dict(
            type='LWBGenerator',
            bg_net=dict(type='ResNetGenerator', in_channels=4, **NET),
            src_net=unet, tsf_net=dict(unet),
            fusion=dict(type='LiquidWarpingBlock',
                        align_corners=align_corners)),
        discriminator=dict(type='PatchDiscriminator', in_channels=6,
                           base_channels=4, num_layers=2),
        body_model=dict(type='SMPL', model_path=smpl_path),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE),
        pixel_loss=dict(type='L1Loss', loss_weight=10.0),
        mask_loss=dict(type='MaskLoss', loss_weight=1.0),
        tv_loss=dict(type='TVLoss', loss_weight=1.0),
        gan_loss=gan_loss or dict(type='LSGANLoss'))


def build_model(smpl_path, **kwargs):
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    return MODELS.build(model_cfg(smpl_path, **kwargs))


def erode(mask, k=3):
    """Box erosion of a (B, 1, H, W) {0, 1} mask (min pooling)."""
    return -F.max_pool2d(-mask, k, stride=1, padding=k // 2)


def bce(p, t):
    """Binary cross entropy written out (logs clamped at -100 as torch)."""
    return -(t * torch.log(p).clamp(min=-100) +
             (1 - t) * torch.log(1 - p).clamp(min=-100)).mean()


def tv(x):
    """The release's smoothness: mean |dx| + mean |dy|."""
    return ((x[..., :, 1:] - x[..., :, :-1]).abs().mean() +
            (x[..., 1:, :] - x[..., :-1, :]).abs().mean())


def to_unit(img_u8):
    """uint8 tensor -> float in [-1, 1]."""
    return img_u8.float() / 127.5 - 1.0


class MeanDiscriminator(nn.Module):
    """A discriminator whose output is known by hand: ``gain`` times the
    channel mean of the image part of its input, (B, 1, H, W). It records
    every input it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.ones(()))
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x.detach().clone())
        return self.gain * x[:, :3].mean(dim=1, keepdim=True)


@pytest.fixture(scope='module')
def renderer(synthetic_smpl_npz):
    register_all_modules(init_default_scope=False)
    return BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                        image_size=SIZE)


def silhouette(renderer, theta):
    """(N, 85) thetas -> (N, 1, H, W) rendered body masks and fragments."""
    theta = torch.as_tensor(theta, dtype=torch.float32)
    with torch.no_grad():
        ndc = renderer.project(
            renderer.posed_vertices(theta[:, 3:75], theta[:, 75:]),
            theta[:, :3])
        frags = renderer.rasterize(ndc)
    return (frags.face_idx >= 0).float().unsqueeze(1), frags


@pytest.fixture(scope='module')
def person(renderer):
    """A patterned person in a rest pose and the same person waving (same
    camera)."""
    img, theta = render_patterned_person(renderer, make_motion('rest', 1),
                                         torch.zeros(1, 10), seed=0)
    pose = make_motion('wave', 6)[3:4]
    tgt_img, tgt_theta = render_patterned_person(
        renderer, pose, torch.zeros(1, 10), seed=0,
        cam=torch.from_numpy(theta[:, :3]))
    return dict(img=torch.from_numpy(img).permute(0, 3, 1, 2),
                theta=torch.from_numpy(theta),
                tgt_img=torch.from_numpy(tgt_img).permute(0, 3, 1, 2),
                tgt_theta=torch.from_numpy(tgt_theta))


def one_pair(src_img, src_theta, tgt_theta, tgt_img=None):
    """A batch of one pair in the dataset layout."""
    sample = LWGANDataSample()
    sample.src_smpl = src_theta.reshape(1, 85).float()
    sample.tgt_smpl = tgt_theta.reshape(85).float()
    inputs = dict(src_img=[src_img.reshape(1, 3, SIZE, SIZE)])
    if tgt_img is not None:
        inputs['tgt_img'] = [tgt_img.reshape(3, SIZE, SIZE)]
    return dict(inputs=inputs, data_samples=[sample])


# ------------------------------------------------------------ geometry
def release_read(img: torch.Tensor) -> torch.Tensor:
    """What the released code reads for an identity flow: the pixel-centre
    grid (``align_corners=False`` centres) sampled with
    ``align_corners=True``, i.e. a magnification by W / (W - 1)."""
    H, W = img.shape[-2:]
    ys = (2 * torch.arange(H) + 1) / H - 1
    xs = (2 * torch.arange(W) + 1) / W - 1
    grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), -1)[None]
    return F.grid_sample(img[None], grid, align_corners=True)[0]


@pytest.mark.parametrize('align_corners', [False, True])
def test_identity_target_reads_where_the_convention_says(
        synthetic_smpl_npz, person, renderer, align_corners):
    """Target pose == source pose. ``'consistent'`` (align_corners=False):
    I_syn (the model's ``warped_img``) is the source on every body pixel.
    ``'release'`` (align_corners=True, the released weights): the flow is
    sampled unconverted, as the release does, so every read lands where
    the release's lands (up to half a pixel off, towards the borders)."""
    model = build_model(synthetic_smpl_npz,
                        align_corners=align_corners).eval()
    assert model.align_corners is align_corners
    assert model.flow_convention == ('release' if align_corners else
                                     'consistent')
    sample = model.test_step(
        one_pair(person['img'], person['theta'], person['theta']))[0]
    body, _ = silhouette(renderer, person['theta'])
    body = body[0, 0] > 0
    assert body.sum() > 60
    torch.testing.assert_close(sample.body_mask[0] > 0, body)
    src = to_unit(person['img'][0])
    expected = release_read(src) if align_corners else src
    torch.testing.assert_close(sample.warped_img[:, body], expected[:, body],
                               atol=1e-4, rtol=0)
    if align_corners:  # and that is not the source itself
        assert (sample.warped_img[:, body] - src[:, body]).abs().max() > 0.02
    assert torch.all(sample.warped_img[:, ~body] == 0)


def test_release_convention_samples_the_same_flow_aligned(
        synthetic_smpl_npz, person):
    """For a real pose change both conventions compute the same flow T; the
    release convention samples it with ``align_corners=True``."""
    samples, geos = [], []
    for align_corners in (False, True):
        model = build_model(synthetic_smpl_npz,
                            align_corners=align_corners).eval()
        batch = model.data_preprocessor(
            one_pair(person['img'], person['theta'], person['tgt_theta']))
        geo = model.compute_geometry(batch['inputs']['src_smpl'],
                                     batch['inputs']['tgt_smpl'])
        geos.append(geo)
        samples.append(model.test_step(
            one_pair(person['img'], person['theta'],
                     person['tgt_theta']))[0].warped_img)
    torch.testing.assert_close(geos[1]['flow'], geos[0]['flow'])
    src = to_unit(person['img'][0])[None]
    flow = geos[0]['flow'][:, 0]
    for warped, ac in zip(samples, (False, True)):
        expected = F.grid_sample(src, flow, align_corners=ac)[0]
        torch.testing.assert_close(warped, expected, atol=1e-4, rtol=0)
    assert (samples[1] - samples[0]).abs().max() > 0.02


# ------------------------------------------------------------- G_SID
def test_gsid_gets_the_source_body(synthetic_smpl_npz, person, renderer):
    """G_SID's input is ``[source * dilated body, source cond map]`` (the
    release's ``src * (1 - eroded background)``): the body's pixels, no
    background."""
    model = build_model(synthetic_smpl_npz).eval()
    seen = []
    handle = model.generator.src_net.encoders[0].register_forward_pre_hook(
        lambda module, args: seen.append(args[0].detach().clone()))
    try:
        model.test_step(one_pair(person['img'], person['theta'],
                                 person['tgt_theta']))
    finally:
        handle.remove()
    assert len(seen) == 1 and seen[0].shape == (1, 6, SIZE, SIZE)
    body, frags = silhouette(renderer, person['theta'])
    keep = F.max_pool2d(body, 3, stride=1, padding=1)  # 1 - erode(bg, 3)
    assert 0 < keep.mean() < 0.5
    src = to_unit(person['img'])
    torch.testing.assert_close(seen[0][:, :3], src * keep, atol=1e-6,
                               rtol=0)
    torch.testing.assert_close(seen[0][:, 3:], model._cond(frags),
                               atol=1e-6, rtol=0)


# ----------------------------------------------------------- losses
def optim_wrappers(model):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='MultiOptimWrapperConstructor',
        optim_wrapper_cfg=dict(
            generator=dict(type='OptimWrapper',
                           optimizer=dict(type='Adam', lr=1e-3)),
            discriminator=dict(type='OptimWrapper',
                               optimizer=dict(type='Adam', lr=1e-3)))))
    return constructor(model)


@pytest.mark.parametrize('gan', sorted(GAN_LOSSES))
def test_train_step_logs_hand_computed_losses(synthetic_smpl_npz, renderer,
                                              gan):
    """One training step with a discriminator whose outputs are known: the
    logged terms equal the release's formulas evaluated by hand on the
    generator's outputs."""
    gan_cfg, g_label, real_label, fake_label = GAN_LOSSES[gan]
    model = build_model(synthetic_smpl_npz, gan_loss=gan_cfg)
    model.discriminator = MeanDiscriminator()
    wrappers = optim_wrappers(model)
    batch = make_synthetic_batch(renderer, batch_size=2, num_sources=1,
                                 seed=3)
    out = {}
    handle = model.generator.register_forward_hook(
        lambda module, args, output: out.update(
            {k: v.detach().clone() for k, v in output.items()}))
    try:
        log = model.train_step(copy.deepcopy(batch), wrappers)
    finally:
        handle.remove()

    src_img = to_unit(torch.stack(batch['inputs']['src_img']))  # B, S, ...
    tgt_img = to_unit(torch.stack(batch['inputs']['tgt_img']))
    src_theta = torch.stack([s.src_smpl for s in batch['data_samples']])
    tgt_theta = torch.stack([s.tgt_smpl for s in batch['data_samples']])
    src_body, _ = silhouette(renderer, src_theta[:, 0])
    tgt_body, _ = silhouette(renderer, tgt_theta)
    assert 0 < tgt_body.mean() < 0.5
    assert not torch.equal(src_img[:, 0], tgt_img)

    def check(key, expected):
        assert log[key].item() == pytest.approx(float(expected), rel=1e-5,
                                                abs=1e-7), key

    # source reconstruction: G_SID's composite against the source
    check('loss_rec', 10 * (out['src_img'] - src_img).abs().mean())
    # attention masks (background weight) against the eroded background
    check('loss_mask',
          bce(out['tsf_mask'], erode(1 - tgt_body)) +
          bce(out['src_mask'][:, 0], erode(1 - src_body)))
    check('loss_smooth', tv(out['tsf_mask']) + tv(out['src_mask'][:, 0]))
    # D(x) = channel mean of the image: the G step sees the fake ...
    d_fake = out['tsf_img'].mean(dim=1)
    d_real = tgt_img.mean(dim=1)
    check('loss_gan_g', ((d_fake - g_label)**2).mean())
    # ... the D step the real image with the real label, then the fake
    check('loss_gan_d_real', ((d_real - real_label)**2).mean())
    check('loss_gan_d_fake', ((d_fake - fake_label)**2).mean())
    check('loss', sum(log[k].item() for k in (
        'loss_rec', 'loss_mask', 'loss_smooth', 'loss_gan_g',
        'loss_gan_d_real', 'loss_gan_d_fake')))
    # the discriminator is conditioned on the target's cond map each time
    seen = model.discriminator.inputs
    assert len(seen) == 3
    for x, img in zip(seen, (out['tsf_img'], tgt_img, out['tsf_img'])):
        torch.testing.assert_close(x[:, :3], img)
        torch.testing.assert_close(x[:, 3:], seen[0][:, 3:])
    off = (tgt_body == 0).expand(-1, 3, -1, -1).clone()
    off[:, :2] = False
    assert torch.all(seen[0][:, 3:][off] == 1)  # background cond (0, 0, 1)

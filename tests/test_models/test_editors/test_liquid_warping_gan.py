# Copyright (c) mmlwgan contributors. All rights reserved.
import copy

import pytest
import torch
from mmengine.optim import OptimWrapperDict

from mmlwgan.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmlwgan.synthetic.batch import make_synthetic_batch
from mmlwgan.utils import register_all_modules
from mmlwgan.visualization import BodyRenderer

SIZE = 32


NET = dict(base_channels=4, num_downs=2, num_blocks=1)
BG = dict(type='ResNetGenerator', in_channels=4, **NET)


def unet(in_channels=6):
    return dict(type='ResUnetGenerator', in_channels=in_channels, **NET)


def tiny_model_cfg(smpl_path, fusion='LiquidWarpingBlock', generator=None,
                   **kwargs):
    if generator is None:
        generator = dict(type='LWBGenerator', bg_net=BG, src_net=unet(),
                         tsf_net=unet(),
                         fusion=dict(type=fusion, align_corners=False))
    cfg = dict(
        type='LiquidWarpingGAN',
        generator=generator,
        discriminator=dict(type='PatchDiscriminator', in_channels=6,
                           base_channels=4, num_layers=2),
        body_model=dict(type='SMPL', model_path=smpl_path),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE),
        pixel_loss=dict(type='L1Loss', loss_weight=10.0),
        perceptual_loss=None,
        mask_loss=dict(type='MaskLoss', loss_weight=1.0),
        tv_loss=dict(type='TVLoss', loss_weight=1.0),
        gan_loss=dict(type='LSGANLoss', loss_weight=1.0))
    cfg.update(kwargs)
    return cfg


def optim(model, lr=2e-3):
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='MultiOptimWrapperConstructor',
        optim_wrapper_cfg=dict(
            generator=dict(type='OptimWrapper', optimizer=dict(
                type='Adam', lr=lr, betas=(0.5, 0.999))),
            discriminator=dict(type='OptimWrapper', optimizer=dict(
                type='Adam', lr=lr, betas=(0.5, 0.999))))))
    return constructor(model)


@pytest.fixture(scope='module')
def batch(synthetic_smpl_npz):
    register_all_modules(init_default_scope=False)
    renderer = BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                            image_size=SIZE)
    return make_synthetic_batch(renderer, batch_size=2, num_sources=1,
                                seed=0)


def test_forward_modes(synthetic_smpl_npz, batch):
    model = MODELS.build(tiny_model_cfg(synthetic_smpl_npz))
    data = model.data_preprocessor(copy.deepcopy(batch), False)
    out = model(**data, mode='tensor')
    assert out['tsf_img'].shape == (2, 3, SIZE, SIZE)
    assert out['src_img'].shape == (2, 1, 3, SIZE, SIZE)
    assert out['tsf_img'].abs().max() <= 1
    # composition: out = M * bg + (1 - M) * colour
    m = out['tsf_mask']
    torch.testing.assert_close(out['tsf_img'],
                               m * out['bg'] + (1 - m) * out['tsf_color'])
    losses = model(**data, mode='loss')
    assert {'loss_rec', 'loss_mask', 'loss_smooth',
            'loss_gan_g'} <= set(losses)
    samples = model.test_step(copy.deepcopy(batch))
    assert len(samples) == 2
    assert samples[0].pred_img.shape == (3, SIZE, SIZE)
    assert samples[0].gt_img.shape == (3, SIZE, SIZE)
    # the warped source is the source image sampled by the flow: on body
    # pixels it holds source colours, off the body it is zero
    body = samples[0].body_mask[0] > 0
    assert body.any()
    assert torch.all(samples[0].warped_img[:, ~body] == 0)


def test_geometry_inputs(synthetic_smpl_npz, batch):
    model = MODELS.build(tiny_model_cfg(synthetic_smpl_npz))
    data = model.data_preprocessor(copy.deepcopy(batch), False)['inputs']
    geo = model.compute_geometry(data['src_smpl'], data['tgt_smpl'])
    geo.update(model.generator_inputs(data['src_img'], geo))
    assert geo['flow'].shape == (2, 1, SIZE, SIZE, 2)
    # the background input keeps the source outside the dilated body only
    bg = geo['bg_inputs']
    assert bg.shape == (2, 4, SIZE, SIZE)
    body = geo['src_body'][:, 0] > 0
    assert torch.all(bg[:, :3][body.expand(-1, 3, -1, -1)] == 0)
    assert torch.all(bg[:, 3:][body] == 0)
    # cond maps: background (0, 0, 1) off the body
    cond = geo['tgt_cond']
    off = geo['tgt_body'] == 0
    assert torch.all(cond[:, 2:][off] == 1)
    assert torch.all(cond[:, :2][off.expand(-1, 2, -1, -1)] == 0)


@pytest.mark.parametrize('fusion', ['LiquidWarpingBlock', 'AttentionalLWB'])
def test_train_step_overfits_a_batch(synthetic_smpl_npz, batch, fusion):
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(synthetic_smpl_npz, fusion=fusion))
    wrappers = optim(model)
    assert isinstance(wrappers, OptimWrapperDict)
    d_before = [p.clone() for p in model.discriminator.parameters()]
    history = []
    for _ in range(40):
        log = model.train_step(copy.deepcopy(batch), wrappers)
        history.append(log['loss_rec'].item() + log['loss_mask'].item())
    assert {'loss_gan_d_real', 'loss_gan_d_fake'} <= set(log)
    first, last = sum(history[:5]) / 5, sum(history[-5:]) / 5
    assert last < 0.6 * first, history
    # D was updated, the body model is frozen and got no gradient
    assert any(not torch.equal(a, b) for a, b in
               zip(d_before, model.discriminator.parameters()))
    assert all(not p.requires_grad for p in model.body_model.parameters())
    assert all(p.requires_grad for p in model.discriminator.parameters())


BASELINES = dict(
    W_C=dict(type='ConcatGenerator', bg_net=BG, tsf_net=unet(9),
             num_sources=1),
    W_T=dict(type='TextureWarpingGenerator', bg_net=BG, tsf_net=unet()),
    W_F=dict(type='FeatureWarpingGenerator', bg_net=BG, src_net=unet(),
             tsf_net=unet(3),
             fusion=dict(type='LiquidWarpingBlock', align_corners=False)))


@pytest.mark.parametrize('name', sorted(BASELINES))
def test_ablation_baselines_train(synthetic_smpl_npz, batch, name):
    model = MODELS.build(tiny_model_cfg(synthetic_smpl_npz,
                                        generator=BASELINES[name]))
    wrappers = optim(model)
    log = model.train_step(copy.deepcopy(batch), wrappers)
    assert torch.isfinite(log['loss'])
    assert ('loss_rec' in log) == (name == 'W_F')
    samples = model.test_step(copy.deepcopy(batch))
    assert samples[0].pred_img.shape == (3, SIZE, SIZE)


def test_flow_convention_follows_the_fusion_blocks(synthetic_smpl_npz):
    cfg = tiny_model_cfg(synthetic_smpl_npz)
    consistent = MODELS.build(copy.deepcopy(cfg))
    assert consistent.flow_convention == 'consistent'
    assert not consistent.align_corners
    assert not consistent.flow_composer.rasterizer.cull_backfaces
    cfg['generator']['fusion']['align_corners'] = True
    release = MODELS.build(copy.deepcopy(cfg))
    assert release.flow_convention == 'release' and release.align_corners
    assert release.flow_composer.rasterizer.cull_backfaces  # as the release
    assert MODELS.build(dict(cfg, flow_convention='release')).align_corners
    with pytest.raises(ValueError, match="'consistent' needs False"):
        MODELS.build(dict(cfg, flow_convention='consistent'))
    with pytest.raises(ValueError, match="flow_convention must be one of"):
        MODELS.build(dict(cfg, flow_convention='torch12'))


def test_checkpoint_excludes_external_networks(synthetic_smpl_npz):
    model = MODELS.build(tiny_model_cfg(synthetic_smpl_npz))
    sd = model.state_dict()
    assert not any(k.startswith('body_model.') for k in sd)
    assert any(k.startswith('generator.') for k in sd)
    other = MODELS.build(tiny_model_cfg(synthetic_smpl_npz))
    other.load_state_dict(sd, strict=True)
    for k, v in other.state_dict().items():
        assert torch.equal(v, sd[k])


def test_release_convention_uses_the_release_face_uv_rule(
        synthetic_smpl_npz, batch):
    """'release' builds the UV condition map with the release's per-face
    point (midpoint of the first UV edge), 'consistent' with the body
    file's own ``face_uv``."""
    from mmlwgan.models.body import load_smpl_model_data
    data = load_smpl_model_data(synthetic_smpl_npz)
    corners = torch.as_tensor(data['vt'])[torch.as_tensor(data['ft'])]
    midpoint = 0.5 * (corners[:, 0] + corners[:, 1])
    assert not torch.allclose(midpoint.float(),
                              torch.as_tensor(data['face_uv']).float())
    cfg = tiny_model_cfg(synthetic_smpl_npz)
    inputs = MODELS.build(copy.deepcopy(cfg)).data_preprocessor(
        copy.deepcopy(batch))['inputs']
    for convention, face_uv in (('consistent', data['face_uv']),
                                ('release', midpoint)):
        cfg['generator']['fusion']['align_corners'] = convention == 'release'
        model = MODELS.build(copy.deepcopy(cfg))
        geo = model.compute_geometry(inputs['src_smpl'], inputs['tgt_smpl'])
        frags = model.flow_composer.rasterizer(
            model.project(inputs['tgt_smpl'])[0], model.body_model.faces)
        body = frags.face_idx >= 0
        expected = torch.as_tensor(face_uv).float()[frags.face_idx[body]]
        got = geo['tgt_cond'].permute(0, 2, 3, 1)[body]
        torch.testing.assert_close(got[:, :2], expected)
        assert torch.all(got[:, 2] == 0)

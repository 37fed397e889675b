# Copyright (c) mmlwgan contributors. All rights reserved.
import re

import numpy as np

import pytest
import torch

from mmlwgan.apis import (CheckpointMismatchError, MotionImitationInferencer,
                          personalize)
from mmlwgan.apis.personalization import (load_personalized,
                                          reconstruction_loss,
                                          save_personalized)
from mmlwgan.apis.personalization import flip_theta
from mmlwgan.registry import MODELS
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.synthetic.batch import render_patterned_person
from mmlwgan.utils import register_all_modules

SIZE = 32
NET = dict(base_channels=4, num_downs=2, num_blocks=1)


def tiny_cfg(smpl_path):
    unet = dict(type='ResUnetGenerator', in_channels=6, **NET)
    return dict(
        type='LiquidWarpingGAN',
        generator=dict(
            type='LWBGenerator',
            bg_net=dict(type='ResNetGenerator', in_channels=4, **NET),
            src_net=unet, tsf_net=dict(unet),
            fusion=dict(type='LiquidWarpingBlock', align_corners=False)),
        discriminator=dict(type='PatchDiscriminator', in_channels=6,
                           base_channels=4, num_layers=2),
        body_model=dict(type='SMPL', model_path=smpl_path),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE))


@pytest.fixture(scope='module')
def source(synthetic_smpl_npz):
    """A textured synthetic person (uint8 image) and its theta."""
    from mmlwgan.visualization import BodyRenderer
    register_all_modules(init_default_scope=False)
    renderer = BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                            image_size=SIZE)
    img, theta = render_patterned_person(renderer, make_motion('rest', 1),
                                         np.zeros((1, 10)))
    return img[0], theta


def build(smpl_path, seed=0):
    torch.manual_seed(seed)
    return MODELS.build(tiny_cfg(smpl_path)).eval()


def test_personalization_lowers_reconstruction_loss(synthetic_smpl_npz,
                                                    source, tmp_path):
    img, theta = source
    model = build(synthetic_smpl_npz)
    disc = {k: v.clone() for k, v in model.discriminator.state_dict().items()}
    body = {k: v.clone() for k, v in model.body_model.state_dict().items()}
    before = reconstruction_loss(model, [img], theta)
    history = []
    path = str(tmp_path / 'personal' / 'gen.pth')
    state = personalize(model, [img], theta, steps=20, lr=1e-3,
                        save_path=path, history=history)
    after = reconstruction_loss(model, [img], theta)
    assert after < 0.8 * before, (before, after)
    assert len(history) == 20 and history[-1] < history[0]
    # only the generator changed; nothing left requiring grad elsewhere
    for k, v in model.discriminator.state_dict().items():
        torch.testing.assert_close(v, disc[k])
    for k, v in model.body_model.state_dict().items():
        torch.testing.assert_close(v, body[k])
    assert not model.training
    assert all(not p.requires_grad for p in model.body_model.parameters())
    # the saved weights reload identically into a fresh model
    fresh = build(synthetic_smpl_npz, seed=1)
    assert reconstruction_loss(fresh, [img], theta) != pytest.approx(after)
    load_personalized(fresh, path)
    for k, v in fresh.generator.state_dict().items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)
    assert reconstruction_loss(fresh, [img], theta) == after


def test_default_lr_and_gradient_checkpointing(synthetic_smpl_npz, source):
    img, theta = source
    histories = []
    for ckpt in (False, True):
        model = build(synthetic_smpl_npz)
        history = []
        personalize(model, [img], theta, steps=4, history=history,
                    grad_checkpoint=ckpt, num_pairs=2)
        histories.append(history)
    # recomputing activations gives the same optimisation
    np.testing.assert_allclose(histories[0], histories[1], rtol=1e-5)
    assert histories[0][-1] < histories[0][0]  # lr 2e-4 (release) too
    # mirrored pseudo-pairs
    model = build(synthetic_smpl_npz)
    personalize(model, [img], theta, steps=2, flip=True, num_pairs=2)


def test_flip_theta_is_an_involution():
    theta = torch.randn(3, 85)
    torch.testing.assert_close(flip_theta(flip_theta(theta)), theta)
    flipped = flip_theta(theta)
    assert torch.equal(flipped[:, 75:], theta[:, 75:])
    torch.testing.assert_close(flipped[:, 1], -theta[:, 1])
    # left and right hips (joints 1 and 2) swap, y/z negated
    torch.testing.assert_close(flipped[:, 6:9],
                               theta[:, 9:12] * torch.tensor([1., -1, -1]))


def test_mismatching_personalized_weights(synthetic_smpl_npz, tmp_path):
    model = build(synthetic_smpl_npz)
    state = model.generator.state_dict()
    popped = next(iter(state))
    state.pop(popped)
    path = str(tmp_path / 'bad.pth')
    save_personalized(state, path)
    with pytest.raises(CheckpointMismatchError,
                       match=r'do not fit this generator: 1 key\(s\) '
                       'missing from the checkpoint: ' + re.escape(popped)
                       + '$'):
        load_personalized(model, path)


def test_inferencer_personalizes_and_reuses(synthetic_smpl_npz, source,
                                            tmp_path):
    img, theta = source
    ref = np.repeat(theta, 4, 0)
    ref[:, 3:75] = make_motion('walk', 4)
    model = build(synthetic_smpl_npz)
    inferencer = MotionImitationInferencer(model, show_progress=False)
    base = inferencer(img, ref, src_smpl=theta)['frames']
    path = str(tmp_path / 'person.pth')
    tuned = inferencer(img, ref, src_smpl=theta, personalize_steps=6,
                       personalize_lr=1e-3, save_personalized=path)['frames']
    assert any(np.abs(a.astype(int) - b).max() > 2
               for a, b in zip(base, tuned))
    # the next call starts from the base weights again
    again = inferencer(img, ref, src_smpl=theta)['frames']
    for a, b in zip(base, again):
        np.testing.assert_array_equal(a, b)
    # the saved weights give the personalised result without fine-tuning
    reused = MotionImitationInferencer(build(synthetic_smpl_npz),
                                       show_progress=False)(
        img, ref, src_smpl=theta, personalized_weights=path)['frames']
    for a, b in zip(tuned, reused):
        np.testing.assert_array_equal(a, b)

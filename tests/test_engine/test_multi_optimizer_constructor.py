# Copyright (c) mmlwgan contributors. All rights reserved.
"""``MultiOptimWrapperConstructor``: one optimizer wrapper per sub-module."""
import importlib.util
import os.path as osp
import sys

import pytest
import torch
from mmengine.optim import (OptimWrapper, OptimWrapperDict,
                            build_optim_wrapper)
from torch import nn

from mmlwgan.engine import MultiOptimWrapperConstructor


def helpers():
    """``tests/test_tools/conftest.py`` as a module (its fixtures and
    helpers are shared with the tool tests)."""
    name = 'mmlwgan_tools_helpers'
    if name not in sys.modules:
        path = osp.join(osp.dirname(osp.abspath(__file__)), '..',
                        'test_tools', 'conftest.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


H = helpers()
tiny_iper = H.tiny_iper  # the session's tiny synthetic iPER (fixture)


class ToyGAN(nn.Module):

    def __init__(self):
        super().__init__()
        self.generator = nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 3, 1))
        self.discriminator = nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 1))
        self.body_model = nn.Linear(5, 5)  # frozen, optimised by no one
        for p in self.body_model.parameters():
            p.requires_grad_(False)
        self.mapper = None


def ids(params):
    return {id(p) for p in params}


def wrapper_params(wrapper):
    return [p for g in wrapper.optimizer.param_groups for p in g['params']]


GAN_CFG = dict(
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    discriminator=dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9),
        accumulative_counts=2))


def test_builds_one_wrapper_per_submodule():
    model = ToyGAN()
    wrappers = MultiOptimWrapperConstructor(GAN_CFG)(model)
    assert isinstance(wrappers, OptimWrapperDict)
    assert set(wrappers.keys()) == {'generator', 'discriminator'}
    g, d = wrappers['generator'], wrappers['discriminator']
    # 'type' defaults to OptimWrapper; wrapper options are kept
    assert type(g) is OptimWrapper and type(d) is OptimWrapper
    assert d._accumulative_counts == 2 and g._accumulative_counts == 1
    assert isinstance(g.optimizer, torch.optim.Adam)
    assert g.optimizer.defaults['lr'] == 1e-3
    assert g.optimizer.defaults['betas'] == (0.5, 0.999)
    assert isinstance(d.optimizer, torch.optim.SGD)
    assert d.optimizer.defaults['lr'] == 0.1
    assert d.optimizer.defaults['momentum'] == 0.9
    # exactly the sub-module's parameters, each once; frozen parts nowhere
    g_params, d_params = wrapper_params(g), wrapper_params(d)
    assert len(g_params) == len(ids(g_params))
    assert ids(g_params) == ids(model.generator.parameters())
    assert ids(d_params) == ids(model.discriminator.parameters())
    assert not ids(g_params) & ids(d_params)
    assert not ids(model.body_model.parameters()) & (
        ids(g_params) | ids(d_params))
    # the learning rates of both are reported
    lrs = wrappers.get_lr()
    assert lrs['generator.lr'] == [1e-3] and lrs['discriminator.lr'] == [0.1]


def test_a_step_moves_only_its_submodule():
    torch.manual_seed(0)
    model = ToyGAN()
    wrappers = MultiOptimWrapperConstructor(GAN_CFG)(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    loss = model.generator(torch.randn(2, 3, 6, 6)).square().mean()
    loss = loss + model.discriminator(torch.randn(2, 8)).square().mean()
    wrappers['generator'].update_params(loss)
    moved = {n for n, p in model.named_parameters()
             if not torch.equal(p, before[n])}
    assert moved == {n for n in before if n.startswith('generator.')}
    # the discriminator kept its gradients for its own optimizer
    assert all(p.grad is not None for p in model.discriminator.parameters())


def test_paramwise_cfg():
    model = ToyGAN()
    cfg = dict(
        generator=dict(optimizer=dict(type='SGD', lr=0.1,
                                      weight_decay=1e-2)),
        discriminator=dict(
            optimizer=dict(type='SGD', lr=0.2, weight_decay=1e-2),
            paramwise_cfg=dict(bias_lr_mult=0.5)))
    # the constructor-wide paramwise_cfg applies where a sub-module has none
    wrappers = MultiOptimWrapperConstructor(
        cfg, paramwise_cfg=dict(bias_lr_mult=2.0, norm_decay_mult=0.0))(model)
    groups = {id(g['params'][0]): g
              for g in wrappers['generator'].optimizer.param_groups}
    gen = model.generator
    assert groups[id(gen[0].weight)]['lr'] == pytest.approx(0.1)
    assert groups[id(gen[0].bias)]['lr'] == pytest.approx(0.2)
    assert groups[id(gen[1].weight)]['weight_decay'] == 0.0  # a norm layer
    assert groups[id(gen[0].weight)]['weight_decay'] == pytest.approx(1e-2)
    groups = {id(g['params'][0]): g
              for g in wrappers['discriminator'].optimizer.param_groups}
    disc = model.discriminator
    assert groups[id(disc[0].weight)]['lr'] == pytest.approx(0.2)
    assert groups[id(disc[0].bias)]['lr'] == pytest.approx(0.1)
    # the input config is not modified
    assert 'type' not in cfg['generator']
    assert 'paramwise_cfg' in cfg['discriminator']


def test_through_mmengine_builder():
    """The Runner's path: ``constructor=...`` in ``optim_wrapper``."""
    model = ToyGAN()
    cfg = dict(constructor='mmlwgan.MultiOptimWrapperConstructor', **GAN_CFG)
    wrappers = build_optim_wrapper(model, cfg)
    assert isinstance(wrappers, OptimWrapperDict)
    assert ids(wrapper_params(wrappers['generator'])) == ids(
        model.generator.parameters())


def test_errors():
    model = ToyGAN()
    # a sub-module the model does not have (or that is None)
    for key in ('mapper', 'encoder'):
        cfg = dict(GAN_CFG, **{key: dict(optimizer=dict(type='SGD', lr=1))})
        with pytest.raises(AttributeError, match=f"no sub-module '{key}'"):
            MultiOptimWrapperConstructor(cfg)(model)
    # a single optimizer-wrapper config
    for cfg in (dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=1)),
                dict(optimizer=dict(type='SGD', lr=1))):
        with pytest.raises(ValueError, match='one optimizer-wrapper config '
                           'per sub-module'):
            MultiOptimWrapperConstructor(cfg)
    with pytest.raises(TypeError, match='should be a dict'):
        MultiOptimWrapperConstructor([GAN_CFG])


def test_liquid_warping_gan_parameter_sets(tiny_iper):
    """On the real model and config: every trainable parameter is in
    exactly one optimizer, the generator's in the generator's; the frozen
    body model is in none."""
    model = H.build_tiny_model(tiny_iper)
    cfg = H.tiny_cfg(tiny_iper).optim_wrapper.to_dict()
    assert cfg['constructor'] == 'MultiOptimWrapperConstructor'
    cfg['constructor'] = 'mmlwgan.MultiOptimWrapperConstructor'
    wrappers = build_optim_wrapper(model, cfg)
    g = ids(wrapper_params(wrappers['generator']))
    d = ids(wrapper_params(wrappers['discriminator']))
    assert g == ids(model.generator.parameters())
    assert d == ids(model.discriminator.parameters())
    assert not g & d
    assert g | d == ids(p for p in model.parameters() if p.requires_grad)
    assert not ids(model.body_model.parameters()) & (g | d)
    for key in ('generator', 'discriminator'):
        optim = wrappers[key].optimizer
        assert isinstance(optim, torch.optim.Adam)
        assert optim.defaults['lr'] == H.tiny_options(tiny_iper)[
            f'optim_wrapper.{key}.optimizer.lr']
        assert optim.defaults['betas'] == (0.5, 0.999)

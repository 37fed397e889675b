# Copyright (c) mmlwgan contributors. All rights reserved.
"""Converters of the ICCV release's generator / discriminator checkpoints.

The release's checkpoints are not shipped: fake ones are built from the
official listings (every key and shape, in order) with a unique constant per
tensor, so that after conversion and a strict load we can check that every
value landed in the tensor it belongs to.
"""
import importlib.util
import os
import os.path as osp
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from mmlwgan.models.converters import (RELEASE_MODEL_CFGS, ConversionError,
                                       build_release_model, check_converted,
                                       convert_lwgan_discriminator,
                                       convert_lwgan_generator,
                                       extract_state_dict, load_shape_listing,
                                       num_values, rename_state_dict,
                                       save_checkpoint_atomic)
from mmlwgan.models.discriminators import PatchDiscriminator

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
LISTING_DIRS = [
    osp.join(ROOT, 'tests', 'data', 'official_checkpoints'),
    os.environ.get('MMLWGAN_LISTING_DIR',
                   '/work/shared/reference/official_checkpoints')
]
# name: (tensors, values) from the listings' headers
EXPECTED = dict(
    generator_lwb=(194, 97452736),
    generator_concat_baseline=(126, 64477184),
    discriminator_patch=(12, 6962625))


def listing(name):
    for folder in LISTING_DIRS:
        path = osp.join(folder, f'{name}.txt')
        if osp.exists(path):
            return load_shape_listing(path)
    pytest.skip(f'official listing {name}.txt not available')


def fake_release(shapes):
    """A release-like state dict: tensor i is filled with i + 1."""
    return OrderedDict((k, torch.full(s, float(i + 1)))
                       for i, (k, s) in enumerate(shapes.items()))


def expected_name(release_key):
    """Hand-written mapping, independent of the converter's rule table."""
    for old, new in (('bg_model.', 'bg_net.'), ('src_model.', 'src_net.'),
                     ('tsf_model.', 'tsf_net.')):
        if release_key.startswith(old):
            release_key = new + release_key[len(old):]
    return release_key.replace('.attetion_reg.', '.attention_reg.')


def load_and_check(model, converted, release):
    """Strict load (meta model, tensors assigned), then check every value."""
    model.load_state_dict(converted, strict=True, assign=True)
    state = model.state_dict()
    for i, key in enumerate(release):
        t = state[expected_name(key)]
        assert t.device.type == 'cpu'
        assert t.shape == release[key].shape, key
        assert bool((t == i + 1).all()), f'{key} landed in the wrong tensor'
    assert num_values(state) == num_values(release)


@pytest.mark.parametrize('name,variant', [('generator_lwb', 'lwb'),
                                          ('generator_concat_baseline',
                                           'concat')])
def test_convert_generator(name, variant):
    shapes = listing(name)
    assert (len(shapes), num_values(shapes)) == EXPECTED[name]
    release = fake_release(shapes)
    converted = convert_lwgan_generator(release, variant=variant)
    assert len(converted) == len(shapes)
    assert num_values(converted) == EXPECTED[name][1]
    assert all(converted[expected_name(k)] is v for k, v in release.items())
    load_and_check(build_release_model(variant), converted, release)


def test_convert_discriminator_and_wrappers():
    shapes = listing('discriminator_patch')
    assert (len(shapes), num_values(shapes)) == EXPECTED['discriminator_patch']
    release = fake_release(shapes)
    wrapped = dict(state_dict=OrderedDict(
        ('module.' + k, v) for k, v in release.items()))
    converted = convert_lwgan_discriminator(wrapped)
    assert list(converted) == list(shapes)
    with torch.device('meta'):
        disc = PatchDiscriminator()
    load_and_check(disc, converted, release)
    assert extract_state_dict(dict(model=release)).keys() == release.keys()


def test_generator_errors_name_the_keys():
    shapes = listing('generator_lwb')
    release = fake_release(shapes)
    bad = OrderedDict(release)
    del bad['tsf_model.resnets.2.main.1.bias']
    with pytest.raises(ConversionError, match=r'tsf_net\.resnets\.2\.main'):
        convert_lwgan_generator(bad)
    bad = OrderedDict(release)
    bad['src_model.extra.weight'] = torch.zeros(1)
    with pytest.raises(ConversionError, match=r'src_model\.extra\.weight'):
        convert_lwgan_generator(bad)
    bad = OrderedDict(release)
    bad['bg_model.model.0.weight'] = torch.zeros(64, 3, 7, 7)
    with pytest.raises(ConversionError,
                       match=r'bg_model\.model\.0\.weight.*\(64, 3, 7, 7\)'):
        convert_lwgan_generator(bad)
    # the LWB checkpoint is not a W_C one (and vice versa)
    with pytest.raises(ConversionError, match='src_model'):
        convert_lwgan_generator(release, variant='concat')
    with pytest.raises(ValueError, match="variant must be 'lwb' or 'concat'"):
        convert_lwgan_generator(release, variant='unknown')


def test_discriminator_shape_mismatch():
    release = fake_release(listing('discriminator_patch'))
    release['model.14.weight'] = torch.zeros(1, 256, 4, 4)
    with pytest.raises(ConversionError, match=r'model\.14\.weight'):
        convert_lwgan_discriminator(release)


def test_utils():
    sd = OrderedDict(a_x=torch.zeros(2), b_x=torch.zeros(3))
    out = rename_state_dict(sd, [(r'^a_', 'c_'), (r'_x$', '_y')])
    assert list(out) == ['c_y', 'b_y']
    with pytest.raises(ConversionError, match='both map to'):
        rename_state_dict(sd, [(r'^[ab]_', 'z_')])
    with pytest.raises(ConversionError, match="'b_x'"):
        rename_state_dict(sd, [(r'^a_', 'c_')], require_match=True)
    check_converted(sd, dict(a_x=(2, ), b_x=(3, )))
    with pytest.raises(ConversionError, match='missing keys'):
        check_converted(sd, dict(a_x=(2, ), b_x=(3, ), c=(1, )))
    check_converted(sd, dict(a_x=(2, )), strict=False)


def test_release_cfgs_match_configs():
    base = osp.join(ROOT, 'configs', '_base_', 'models')
    cfg = Config.fromfile(osp.join(base, 'lwgan_generator.py'))
    assert cfg.generator.to_dict() == RELEASE_MODEL_CFGS['lwb']
    assert cfg.discriminator.to_dict() == RELEASE_MODEL_CFGS['discriminator']
    abl = Config.fromfile(osp.join(base, 'lwgan_generator_ablations.py'))
    assert abl.generator_wc.to_dict() == RELEASE_MODEL_CFGS['concat']


def _load_cli(name):
    path = osp.join(ROOT, 'tools', 'model_converters', f'{name}.py')
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli(tmp_path):
    release = fake_release(listing('discriminator_patch'))
    src = tmp_path / 'net_epoch_30_id_D.pth'
    torch.save(OrderedDict(('module.' + k, v) for k, v in release.items()),
               src)
    dst = tmp_path / 'out' / 'd.pth'
    cli = _load_cli('convert_lwgan_discriminator')
    assert cli.main([str(src), str(dst)]) == 0
    ckpt = torch.load(dst, weights_only=True)
    assert ckpt['meta']['converted_from'] == 'net_epoch_30_id_D.pth'
    disc = PatchDiscriminator()
    disc.load_state_dict(ckpt['state_dict'], strict=True)
    assert torch.equal(disc.model[14].bias, torch.full((1, ), 12.0))

    # a bad checkpoint: error code, nothing written
    torch.save(dict(state_dict=dict(foo=torch.zeros(1))), src)
    gen_cli = _load_cli('convert_lwgan_generator')
    bad_dst = tmp_path / 'g.pth'
    assert gen_cli.main([str(src), str(bad_dst)]) == 1
    assert not bad_dst.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith('.tmp_')]

    save_checkpoint_atomic(dict(w=torch.ones(2)), str(dst), dict(a=1))
    assert torch.load(dst, weights_only=True)['meta'] == dict(a=1)

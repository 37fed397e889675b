# Copyright (c) mmlwgan contributors. All rights reserved.
"""Every documented way of giving weights to ``init_model`` loads them
(the output changes to the saved network's) or fails loudly; none leaves a
network silently random.

Ways: ``checkpoint`` (a model checkpoint, or a generator's own state dict
without the ``generator.`` prefix), ``init_cfg=dict(type='Pretrained')`` on
the model or on the generator (with or without ``prefix``), the model's
``pretrained``, and ``model.hmr.pretrained`` / ``model.hmr.init_cfg`` given
with ``cfg_options`` on a config without HMR.
"""
import copy
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from mmlwgan.apis import CheckpointMismatchError, init_model
from mmlwgan.apis.inference import ConfigError
from mmlwgan.registry import MODELS
from mmlwgan.utils import register_all_modules

SIZE = 32


def tiny_cfg(smpl_path, channels=4):
    net = dict(base_channels=channels, num_downs=2, num_blocks=1)
    unet = dict(type='ResUnetGenerator', in_channels=6, **net)
    return dict(
        type='LiquidWarpingGAN',
        generator=dict(
            type='LWBGenerator',
            bg_net=dict(type='ResNetGenerator', in_channels=4, **net),
            src_net=unet, tsf_net=dict(unet),
            fusion=dict(type='LiquidWarpingBlock', align_corners=False)),
        discriminator=dict(type='PatchDiscriminator', in_channels=6,
                           base_channels=4, num_layers=2),
        body_model=dict(type='SMPL', model_path=smpl_path),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE))


@torch.no_grad()
def generator_output(model):
    """The generator's target image for fixed inputs."""
    gen = torch.Generator().manual_seed(123)
    out = model.generator(
        torch.rand(1, 4, SIZE, SIZE, generator=gen),
        torch.rand(1, 1, 6, SIZE, SIZE, generator=gen),
        torch.rand(1, 6, SIZE, SIZE, generator=gen),
        torch.rand(1, 1, SIZE, SIZE, 2, generator=gen) * 2 - 1)
    return out['tsf_img']


@pytest.fixture(scope='module')
def files(tmp_path_factory, synthetic_smpl_npz):
    register_all_modules(init_default_scope=False)
    root = tmp_path_factory.mktemp('weight_sources')
    cfg = tiny_cfg(synthetic_smpl_npz)
    torch.manual_seed(7)
    saved = MODELS.build(copy.deepcopy(cfg)).eval()
    model_ckpt = str(root / 'model.pth')
    torch.save({'meta': {}, 'state_dict': saved.state_dict()}, model_ckpt)
    gen_ckpt = str(root / 'generator.pth')  # what convert_lwgan_generator
    torch.save({'meta': {}, 'state_dict': saved.generator.state_dict()},
               gen_ckpt)
    cfg_path = str(root / 'cfg.py')
    Config(dict(model=cfg, default_scope='mmlwgan')).dump(cfg_path)
    return dict(root=root, cfg=cfg, cfg_path=cfg_path, model=model_ckpt,
                generator=gen_ckpt, expected=generator_output(saved))


def dump(files, name, **model_updates):
    cfg = copy.deepcopy(files['cfg'])
    for key, value in model_updates.items():
        target = cfg
        *parents, last = key.split('.')
        for p in parents:
            target = target[p]
        target[last] = value
    path = str(files['root'] / f'{name}.py')
    Config(dict(model=cfg, default_scope='mmlwgan')).dump(path)
    return path


def assert_loaded(model, files):
    torch.testing.assert_close(generator_output(model), files['expected'])


def test_random_generator_differs_and_says_so(files, monkeypatch):
    import mmlwgan.utils
    said = []
    monkeypatch.setattr(mmlwgan.utils, 'print_once_warning',
                        lambda msg, key=None: said.append(msg))
    model = init_model(files['cfg_path'])
    assert not torch.allclose(generator_output(model), files['expected'])
    assert any('randomly initialised' in m and 'generator' in m
               for m in said)
    said.clear()
    init_model(files['cfg_path'], files['model'])
    assert not any('randomly initialised' in m for m in said)


def test_checkpoint_model_and_generator_only(files):
    assert_loaded(init_model(files['cfg_path'], files['model']), files)
    # a generator's own state dict (no `generator.` prefix) is recognised
    assert_loaded(init_model(files['cfg_path'], files['generator']), files)


@pytest.mark.parametrize('way', [
    'model.init_cfg', 'model.pretrained', 'generator.init_cfg',
    'generator.init_cfg+model_ckpt', 'generator.init_cfg+prefix'
])
def test_pretrained_init_cfg_and_pretrained_are_loaded(files, way):
    if way == 'model.init_cfg':
        path = dump(files, 'a', init_cfg=dict(type='Pretrained',
                                              checkpoint=files['model']))
    elif way == 'model.pretrained':
        path = dump(files, 'b', pretrained=files['model'])
    elif way == 'generator.init_cfg':
        path = dump(files, 'c', **{'generator.init_cfg': dict(
            type='Pretrained', checkpoint=files['generator'])})
    elif way == 'generator.init_cfg+model_ckpt':
        path = dump(files, 'd', **{'generator.init_cfg': dict(
            type='Pretrained', checkpoint=files['model'])})
    else:
        path = dump(files, 'e', **{'generator.init_cfg': dict(
            type='Pretrained', checkpoint=files['model'],
            prefix='generator')})
    assert_loaded(init_model(path), files)
    # and the same through cfg_options on the plain config
    if way == 'generator.init_cfg':
        assert_loaded(init_model(files['cfg_path'], cfg_options={
            'model.generator.init_cfg.type': 'Pretrained',
            'model.generator.init_cfg.checkpoint': files['generator']}),
            files)


def test_pretrained_that_does_not_fit_fails(files, synthetic_smpl_npz):
    other = MODELS.build(tiny_cfg(synthetic_smpl_npz, channels=8))
    wrong = str(files['root'] / 'wrong.pth')
    torch.save({'state_dict': other.generator.state_dict()}, wrong)
    path = dump(files, 'f', **{'generator.init_cfg': dict(
        type='Pretrained', checkpoint=wrong)})
    with pytest.raises(CheckpointMismatchError,
                       match='does not fit model.generator'):
        init_model(path)
    with pytest.raises(CheckpointMismatchError, match='convert_release.py'):
        init_model(files['cfg_path'], wrong)
    path = dump(files, 'g', init_cfg=dict(
        type='Pretrained', checkpoint=str(files['root'] / 'nope.pth')))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        init_model(path)
    path = dump(files, 'h', init_cfg=dict(
        type='Pretrained', checkpoint='https://example.com/x.pth'))
    with pytest.raises(ConfigError, match='never downloads'):
        init_model(path)


def test_release_generator_not_converted_fails_with_hint(files):
    from mmlwgan.utils.safe_pickle import load_torch_file
    state = load_torch_file(files['generator'])['state_dict']
    raw = OrderedDict(
        (k.replace('bg_net.', 'bg_model.').replace('src_net.', 'src_model.')
         .replace('tsf_net.', 'tsf_model.'), v) for k, v in state.items())
    path = str(files['root'] / 'raw_release_G.pth')
    torch.save(raw, path)
    with pytest.raises(CheckpointMismatchError,
                       match='original release, not converted.*'
                       'convert_release.py'):
        init_model(files['cfg_path'], path)


@pytest.fixture(scope='module')
def hmr_file(files):
    from mmlwgan.models.body.hmr import HMR
    torch.manual_seed(3)
    hmr = HMR()
    path = str(files['root'] / 'hmr.pth')
    torch.save({'state_dict': hmr.state_dict()}, path)
    image = torch.rand(1, 3, 224, 224, generator=torch.Generator()
                       .manual_seed(0)) * 2 - 1
    with torch.no_grad():
        expected = hmr(image)[-1]
    return dict(path=path, image=image, expected=expected)


@pytest.mark.parametrize('how', ['pretrained', 'init_cfg', 'hmr_none',
                                 'config_without_type'])
def test_hmr_weights_from_options(files, hmr_file, how):
    cfg_path, options = files['cfg_path'], None
    if how == 'pretrained':  # the demos' --help example
        options = {'model.hmr.pretrained': hmr_file['path']}
    elif how == 'init_cfg':
        options = {'model.hmr.init_cfg': dict(type='Pretrained',
                                              checkpoint=hmr_file['path'])}
    elif how == 'hmr_none':
        cfg_path = dump(files, 'i', hmr=None)
        options = {'model.hmr.pretrained': hmr_file['path']}
    else:  # hmr=dict(pretrained=...) in a config: the release's HMR
        cfg_path = dump(files, 'j', hmr=dict(pretrained=hmr_file['path']))
    model = init_model(cfg_path, files['model'], cfg_options=options)
    assert model.hmr is not None
    with torch.no_grad():
        got = model.hmr(hmr_file['image'])[-1]
    torch.testing.assert_close(got, hmr_file['expected'])


def test_missing_uv_mapper_names_the_file(tmp_path):
    from mmlwgan.models.renderers import CondMapEncoder
    missing = str(tmp_path / 'data' / 'smpl' / 'mapper.txt')
    with pytest.raises(FileNotFoundError) as err:
        CondMapEncoder(mode='uv', uv_mapping=missing)
    msg = str(err.value)
    assert missing in msg and 'pretrains' in msg
    assert 'convert_release.py' in msg

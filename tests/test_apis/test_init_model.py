# Copyright (c) mmlwgan contributors. All rights reserved.
import copy
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config

from mmlwgan.apis import CheckpointMismatchError, init_model
from mmlwgan.models.editors import LiquidWarpingGAN
from mmlwgan.registry import MODELS
from mmlwgan.utils import register_all_modules

SIZE = 32


def tiny_cfg(smpl_path, channels=4, **kwargs):
    net = dict(base_channels=channels, num_downs=2, num_blocks=1)
    unet = dict(type='ResUnetGenerator', in_channels=6, **net)
    cfg = dict(
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
    cfg.update(kwargs)
    return cfg


@pytest.fixture(scope='module')
def files(tmp_path_factory, synthetic_smpl_npz):
    register_all_modules(init_default_scope=False)
    root = tmp_path_factory.mktemp('init_model')
    torch.manual_seed(1)
    cfg = tiny_cfg(synthetic_smpl_npz)
    model = MODELS.build(cfg)
    ckpt = str(root / 'model.pth')
    # the layout mmengine's CheckpointHook writes
    torch.save({'meta': dict(epoch=1), 'state_dict': model.state_dict()},
               ckpt)
    cfg_path = str(root / 'cfg.py')
    Config(dict(model=cfg, default_scope='mmlwgan')).dump(cfg_path)
    return dict(root=root, cfg=cfg, cfg_path=cfg_path, ckpt=ckpt,
                state=model.state_dict(), smpl=synthetic_smpl_npz)


def test_init_model_from_path(files):
    model = init_model(files['cfg_path'], files['ckpt'], device='cpu')
    assert isinstance(model, LiquidWarpingGAN)
    assert not model.training and not model.generator.training
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, files['state'][k], msg=k)
    assert model.cfg.model.type == 'LiquidWarpingGAN'
    # the body model's data stays out of checkpoints (SMPL licence)
    assert not any(k.startswith('body_model.') for k in files['state'])


def test_init_model_from_config_object_and_options(files):
    cfg = Config(dict(model=files['cfg']))
    model = init_model(cfg, cfg_options={'model.use_visibility': True})
    assert model.flow_composer.use_visibility
    assert not cfg.model.get('use_visibility', False)  # not modified
    # a plain dict, and a raw state dict with DataParallel prefixes
    raw = str(files['root'] / 'raw.pth')
    torch.save(OrderedDict(('module.' + k, v)
                           for k, v in files['state'].items()), raw)
    model = init_model(dict(model=files['cfg']), raw)
    torch.testing.assert_close(model.generator.bg_net.state_dict(),
                               init_model(files['cfg_path'], files['ckpt'])
                               .generator.bg_net.state_dict())


def test_inference_checkpoint_without_discriminator(files):
    state = {k: v for k, v in files['state'].items()
             if not k.startswith('discriminator.')}
    path = str(files['root'] / 'no_d.pth')
    torch.save({'state_dict': state}, path)
    model = init_model(files['cfg_path'], path)
    for k, v in model.generator.state_dict().items():
        torch.testing.assert_close(v, files['state']['generator.' + k])
    # an inference config without a discriminator loads a full checkpoint
    cfg = tiny_cfg(files['smpl'], discriminator=None)
    model = init_model(dict(model=cfg), files['ckpt'])
    assert model.discriminator is None


def test_checkpoint_that_does_not_fit(files):
    # other channel widths: shapes differ
    other = MODELS.build(tiny_cfg(files['smpl'], channels=8))
    path = str(files['root'] / 'wide.pth')
    torch.save({'state_dict': other.state_dict()}, path)
    first = next(k for k, v in files['state'].items()
                 if tuple(v.shape) != tuple(other.state_dict()[k].shape))
    with pytest.raises(CheckpointMismatchError,
                       match='does not fit the model of config') as err:
        init_model(files['cfg_path'], path)
    msg = str(err.value)
    assert 'does not fit the model of config' in msg
    assert 'shape mismatch' in msg and first in msg
    # missing and unexpected keys are named
    state = copy.copy(files['state'])
    dropped = [k for k in state if k.startswith('generator.tsf_net')][:2]
    for k in dropped:
        del state[k]
    state['generator.extra_head.weight'] = torch.zeros(1)
    path = str(files['root'] / 'partial.pth')
    torch.save({'state_dict': state}, path)
    with pytest.raises(CheckpointMismatchError,
                       match='does not fit the model of config') as err:
        init_model(files['cfg_path'], path)
    msg = str(err.value)
    assert '2 key(s) missing from the checkpoint: ' + dropped[0] in msg
    assert ('1 unexpected key(s) in the checkpoint: '
            'generator.extra_head.weight') in msg


def test_unreadable_checkpoint(files):
    path = files['root'] / 'corrupt.pth'
    path.write_bytes(b'\x00\x01 not a checkpoint')
    with pytest.raises(CheckpointMismatchError,
                       match=r"checkpoint file '.*corrupt.pth' cannot be "
                       'read'):
        init_model(files['cfg_path'], str(path))
    empty = files['root'] / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointMismatchError, match=r'is empty'):
        init_model(files['cfg_path'], str(empty))
    not_tensors = str(files['root'] / 'list.pth')
    torch.save([1, 2, 3], not_tensors)
    with pytest.raises(CheckpointMismatchError, match='no state dict'):
        init_model(files['cfg_path'], not_tensors)

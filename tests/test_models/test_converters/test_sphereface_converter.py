# Copyright (c) mmlwgan contributors. All rights reserved.
"""SphereFace-20a weights with the released keys and shapes
(official_checkpoints/sphere20a.txt) load into SphereFace20a."""
import ast
import os
import os.path as osp
import sys
from collections import OrderedDict

import pytest
import torch

from mmlwgan.models.converters.sphereface import convert_sphereface
from mmlwgan.models.losses.sphereface import SphereFace20a

REPO = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))


def find_listing(name: str):
    folders = [
        os.environ.get('MMLWGAN_REFERENCE_DIR', ''),
        osp.join(REPO, 'tests', 'data', 'official_checkpoints'),
        '/work/shared/reference/official_checkpoints',
    ]
    for folder in folders:
        path = osp.join(folder, name)
        if folder and osp.isfile(path):
            return path
    return None


def read_listing(path):
    entries = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith('#'):
                key, shape = line.split('\t')
                entries.append((key, tuple(ast.literal_eval(shape))))
    return entries


LISTING = find_listing('sphere20a.txt')
pytestmark = pytest.mark.skipif(
    LISTING is None, reason='official_checkpoints/sphere20a.txt not found')


@pytest.fixture(scope='module')
def release_state_dict():
    gen = torch.Generator().manual_seed(0)
    return OrderedDict(
        (key, torch.rand(shape, generator=gen) + idx)
        for idx, (key, shape) in enumerate(read_listing(LISTING)))


def test_convert_and_strict_load(release_state_dict):
    entries = read_listing(LISTING)
    assert len(entries) == 62
    raw = OrderedDict(('module.' + k, v)
                      for k, v in release_state_dict.items())
    raw['module.fc6.weight'] = torch.randn(512, 10574)  # A-Softmax weights
    converted = convert_sphereface(dict(state_dict=raw))
    assert list(converted) == [k for k, _ in entries]
    net = SphereFace20a()
    assert list(net.state_dict()) == list(converted)
    net.load_state_dict(converted, strict=True)
    for key, value in net.state_dict().items():
        assert torch.equal(value, release_state_dict[key]), key
    assert torch.equal(net.relu3_7.weight,
                       release_state_dict['relu3_7.weight'])
    with pytest.raises(KeyError,
                       match='unexpected keys in the SphereFace checkpoint'):
        convert_sphereface({**release_state_dict, 'bn.weight': torch.ones(1)})


def test_cli(release_state_dict, tmp_path):
    sys.path.insert(0, osp.join(REPO, 'tools', 'model_converters'))
    try:
        import convert_sphereface as cli
    finally:
        sys.path.pop(0)
    raw = dict(release_state_dict)
    raw['fc6.weight'] = torch.randn(512, 10574)
    src = str(tmp_path / 'sphere20a_20171020.pth')
    torch.save(raw, src)
    dst = str(tmp_path / 'out' / 'sphere20a.pth')
    cli.main([src, dst])
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert set(ckpt) == {'meta', 'state_dict'}
    assert 'fc6.weight' not in ckpt['state_dict']
    net = SphereFace20a(pretrained=dst)
    assert torch.equal(net.fc5.weight, release_state_dict['fc5.weight'])
    assert os.listdir(tmp_path / 'out') == ['sphere20a.pth']

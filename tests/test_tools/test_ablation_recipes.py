# Copyright (c) mmlwgan contributors. All rights reserved.
"""benchmark_ablations.py --recipe: every method of the ablation trains and
is evaluated with the same recipe overrides, and they reach train.py
intact."""
import argparse
import importlib.util
import os.path as osp

import pytest
from mmengine.config import Config, DictAction

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def ba():
    path = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_ablations.py')
    spec = importlib.util.spec_from_file_location('benchmark_ablations', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse_cfg_options(strings):
    """What tools/train.py's --cfg-options makes of the strings."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *strings]).cfg_options


@pytest.mark.parametrize('method', ['wc', 'wt', 'wf', 'lwb', 'attlwb'])
def test_v3_recipe_builds_every_method(ba, method, synthetic_smpl_npz):
    from mmlwgan.registry import MODELS
    from mmlwgan.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    opts = ba.recipe_options(method, 'v3')
    assert ba.recipe_options(method, 'released') == {}
    # the strings handed to train.py parse back to the same overrides
    parsed = parse_cfg_options(ba.train_options('/d', 10, opts))
    for key, value in opts.items():
        assert parsed[key] == value, key
    assert parsed['train_cfg.max_iters'] == 10
    cfg = Config.fromfile(ba.config_of(method))
    cfg.merge_from_dict(opts)
    cfg.model.body_model.model_path = synthetic_smpl_npz
    model = MODELS.build(cfg.model)
    assert model.gan_loss is None and model.bg_fill_hole_only
    assert model.bg_kernel == 7
    # residual colour exactly where the target stream sees I_syn
    assert getattr(model.generator, 'residual_color', False) == (
        method in ('wt', 'lwb', 'attlwb'))
    with pytest.raises(ValueError, match='recipe must be one of'):
        ba.recipe_options(method, 'v9')


def test_v3_recipe_is_the_bundled_models(ba):
    """The ablation's 'v3' overrides are what the bundled model's config
    sets (a change to one must show up in the other)."""
    cfg = Config.fromfile(osp.join(
        ROOT, 'configs', 'lwgan',
        'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py'))
    for key, value in ba.recipe_options('lwb', 'v3').items():
        node = cfg
        for part in key.split('.'):
            node = node.get(part)
        assert node == value, key


def test_held_out_model_is_built_with_the_recipe(ba, tiny_iper):
    """evaluate() rebuilds each trained model with its recipe's options: a
    model trained with residual colour / kept background is evaluated with
    them."""
    for method, residual in (('wt', True), ('wc', False)):
        model, loader = ba.held_out_model_and_loader(
            ba.config_of(method), None, tiny_iper, 5,
            ba.recipe_options(method, 'v3'))
        assert model.bg_fill_hole_only and model.gan_loss is None
        assert model.bg_kernel == 7
        assert model.generator.residual_color is residual
        assert len(loader.dataset) > 0
    plain, _ = ba.held_out_model_and_loader(ba.config_of('wt'), None,
                                            tiny_iper, 5)
    assert not plain.bg_fill_hole_only and not plain.generator.residual_color

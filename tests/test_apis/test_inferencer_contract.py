# Copyright (c) mmlwgan contributors. All rights reserved.
"""The inferencers follow mmengine's ``BaseInferencer`` contract: every call
keyword belongs to one of ``preprocess_kwargs`` / ``forward_kwargs`` /
``visualize_kwargs`` / ``postprocess_kwargs``, reaches that stage, an
unknown keyword is refused by name before any work, and the stages stream
(every batch is written before the next one is made)."""
import inspect

import numpy as np
import pytest
import torch

from mmlwgan.apis import (AppearanceTransferInferencer, LWGANInferencer,
                          MotionImitationInferencer, NovelViewInferencer)
from mmlwgan.apis.inferencers.utils import OutputWriter
from mmlwgan.registry import MODELS
from mmlwgan.synthetic.batch import render_patterned_person
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.utils import register_all_modules

SIZE = 32
NET = dict(base_channels=4, num_downs=2, num_blocks=1)

COMMON = {
    'src', 'src_smpl', 'out_dir', 'output_name', 'batch_size', 'background',
    'front_warp', 'side_by_side', 'save_frames', 'return_frames', 'src_bbox',
    'personalize_steps', 'personalize_lr', 'personalized_weights',
    'save_personalized', 'fps'
}
#: every keyword of the tasks' calls (the public signature)
CALL_NAMES = {
    MotionImitationInferencer: COMMON | {
        'ref', 'ref_smpl', 'ref_bbox', 'cam_strategy', 'smooth',
        'smooth_method', 'on_missing_person', 'fast'
    },
    AppearanceTransferInferencer: COMMON | {
        'ref', 'ref_smpl', 'ref_bbox', 'keep_parts'
    },
    NovelViewInferencer: COMMON | {'views', 'num_views', 'axis', 't_pose'},
}
STAGES = ('preprocess', 'forward', 'visualize', 'postprocess')


@pytest.fixture(scope='module')
def scene(synthetic_smpl_npz):
    register_all_modules(init_default_scope=False)
    unet = dict(type='ResUnetGenerator', in_channels=6, **NET)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='LiquidWarpingGAN',
        generator=dict(
            type='LWBGenerator',
            bg_net=dict(type='ResNetGenerator', in_channels=4, **NET),
            src_net=unet, tsf_net=dict(unet),
            fusion=dict(type='LiquidWarpingBlock', align_corners=False)),
        body_model=dict(type='SMPL', model_path=synthetic_smpl_npz),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE))).eval()
    from mmlwgan.visualization import BodyRenderer
    renderer = BodyRenderer(model.body_model, image_size=SIZE)
    img, theta = render_patterned_person(renderer, make_motion('rest', 1),
                                         torch.zeros(1, 10), seed=0)
    return dict(model=model, src=img[0], src_theta=theta)


def _inferencer(cls, scene):
    return cls(scene['model'], device='cpu', show_progress=False,
               retain_freed_memory=False)


@pytest.mark.parametrize('cls', list(CALL_NAMES), ids=lambda c: c.__name__)
def test_kwarg_sets_cover_the_call(cls):
    """The four sets are disjoint, hold exactly the call's keywords, and
    each name is a parameter of its stage."""
    sets = [getattr(cls, f'{stage}_kwargs') for stage in STAGES]
    assert all(isinstance(s, set) for s in sets)
    assert sum(map(len, sets)) == len(set().union(*sets))  # disjoint
    assert set().union(*sets) == CALL_NAMES[cls]
    for stage, names in zip(STAGES, sets):
        params = inspect.signature(getattr(cls, stage)).parameters
        assert names <= set(params), (stage, names - set(params))
    assert set(cls.call_args) <= CALL_NAMES[cls]
    # no stage is a stub
    for stage in STAGES:
        assert not getattr(getattr(cls, stage), '__isabstractmethod__',
                           False), stage


def test_unknown_kwarg_is_named_before_any_work(scene, monkeypatch):
    inf = _inferencer(NovelViewInferencer, scene)

    def no_work(**kwargs):
        raise AssertionError('preprocess ran')

    monkeypatch.setattr(inf, 'preprocess', no_work)
    with pytest.raises(ValueError, match=r"unknown argument\(s\) "
                       r"'num_veiws'.*num_views"):
        inf(scene['src'], scene['src_theta'], num_veiws=3)
    with pytest.raises(ValueError, match="'ref'"):  # another task's
        inf(scene['src'], scene['src_theta'], ref=scene['src'])
    with pytest.raises(TypeError, match='positional argument'):
        inf(scene['src'], scene['src_theta'], None, 4)
    with pytest.raises(TypeError, match="multiple values for argument "
                       "'src_smpl'"):
        inf(scene['src'], scene['src_theta'], src_smpl=scene['src_theta'])
    # through the task-keyed wrapper too, which shows the same sets
    lwgan = LWGANInferencer('novel_view', scene['model'], device='cpu',
                            show_progress=False, retain_freed_memory=False)
    assert lwgan.preprocess_kwargs == NovelViewInferencer.preprocess_kwargs
    monkeypatch.setattr(lwgan.inferencer, 'preprocess', no_work)
    with pytest.raises(ValueError, match="'colour'"):
        lwgan(scene['src'], scene['src_theta'], colour='red')


def test_each_group_reaches_its_stage(scene, tmp_path, monkeypatch):
    """One non-default keyword per group: each stage gets its own group
    (the others' defaults filled in), and only its group."""
    inf = _inferencer(NovelViewInferencer, scene)
    seen = {stage: [] for stage in STAGES}
    for stage in STAGES:
        method = getattr(inf, stage)

        def spy(*args, _stage=stage, _method=method, **kwargs):
            seen[_stage].append(dict(kwargs))
            return _method(*args, **kwargs)

        monkeypatch.setattr(inf, stage, spy)
    res = inf(scene['src'], src_smpl=scene['src_theta'], num_views=3,
              t_pose=True, batch_size=2, front_warp=True, side_by_side=True,
              out_dir=str(tmp_path), save_frames=True, fps=12.0)
    pre, fwd, vis, post = (seen[s] for s in STAGES)
    assert len(pre) == len(fwd) == len(post) == 1
    assert len(vis) == 2  # once per batch: 3 views in batches of 2
    assert set(pre[0]) == NovelViewInferencer.preprocess_kwargs
    assert pre[0]['num_views'] == 3 and pre[0]['t_pose'] is True
    assert pre[0]['batch_size'] == 2 and pre[0]['src'] is scene['src']
    assert pre[0]['views'] is None and pre[0]['axis'] == 'y'  # defaults
    assert fwd[0] == dict(front_warp=True)
    assert vis == [dict(side_by_side=True)] * 2
    assert post[0] == dict(out_dir=str(tmp_path), save_frames=True,
                           return_frames=False, fps=12.0)
    # and the result shows each option applied
    assert res['num_frames'] == 3 and res['fps'] == 12.0
    assert res['side_by_side'] and res['frames_dir'] and res['video']
    assert res['frames'] is None and res['views'].shape == (3, 3)


@pytest.mark.parametrize('fast', [False, True])
def test_frames_stream_batch_by_batch(scene, monkeypatch, fast):
    """Each batch is written before the next is decoded (plain path) and
    the writer never holds more than the frames asked back."""
    inf = _inferencer(MotionImitationInferencer, scene)
    events = []
    decode, write = inf.model.decode_targets, OutputWriter.write

    def spy_decode(*args, **kwargs):
        events.append('decode')
        return decode(*args, **kwargs)

    def spy_write(self, frames, side_by_side=None):
        events.append(f'write{len(frames)}')
        return write(self, frames, side_by_side)

    monkeypatch.setattr(inf.model, 'decode_targets', spy_decode)
    monkeypatch.setattr(OutputWriter, 'write', spy_write)
    ref = np.repeat(scene['src_theta'], 5, axis=0)
    res = inf(scene['src'], ref, src_smpl=scene['src_theta'], batch_size=2,
              fast=fast, return_frames=False)
    assert res['num_frames'] == 5 and res['frames'] is None
    writes = [e for e in events if e.startswith('write')]
    assert writes == ['write2', 'write2', 'write1']
    if not fast:  # the optimised path overlaps decoding and writing
        assert events == ['decode', 'write2', 'decode', 'write2', 'decode',
                          'write1']

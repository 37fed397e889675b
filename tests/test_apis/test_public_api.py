# Copyright (c) mmlwgan contributors. All rights reserved.
"""The small public API and the task-keyed inferencer."""
import os.path as osp

import pytest

import mmlwgan.apis as apis
from mmlwgan.apis import (AppearanceTransferInferencer, LWGANInferencer,
                          MotionImitationInferencer, NovelViewInferencer)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'lwgan',
                  'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py')
CKPT = osp.join(ROOT, 'demo', 'checkpoints',
                'lwgan_lwb-tiny-v3_synthetic-64_fp16.pth')


def test_public_api_is_small():
    assert sorted(apis.__all__) == sorted([
        'init_model', 'LWGANInferencer', 'MotionImitationInferencer',
        'AppearanceTransferInferencer', 'NovelViewInferencer', 'personalize',
        'ConfigError', 'CheckpointMismatchError', 'InferenceInputError',
        'NoPersonError'
    ])
    for name in apis.__all__:
        assert getattr(apis, name) is not None


def test_task_keyed_inferencer(tmp_path, monkeypatch):
    """The docstring example: each task builds its own inferencer, the
    call reaches it and writes the result."""
    monkeypatch.setenv('HOME', str(tmp_path))  # synthetic body cache
    for task, cls in (('motion_imitation', MotionImitationInferencer),
                      ('appearance_transfer', AppearanceTransferInferencer),
                      ('novel_view', NovelViewInferencer)):
        lwgan = LWGANInferencer(task, CONFIG, CKPT, device='cpu',
                                show_progress=False,
                                retain_freed_memory=False)
        assert type(lwgan.inferencer) is cls and lwgan.task == task
    out = lwgan(osp.join(ROOT, 'demo', 'data', 'source.png'),
                src_smpl=osp.join(ROOT, 'demo', 'data', 'source_smpl.pkl'),
                num_views=4, out_dir=str(tmp_path / 'out'),
                return_frames=True)
    assert len(out['frames']) == 4
    assert osp.isfile(out['video'])
    with pytest.raises(ValueError, match="task must be one of"):
        LWGANInferencer('dance', CONFIG, CKPT)

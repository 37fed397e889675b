# Copyright (c) mmlwgan contributors. All rights reserved.
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmlwgan.utils.checkpoint import (load_checkpoint_tensors,
                                      use_safe_checkpoint_loader)
from mmlwgan.utils.safe_pickle import UnsafePickleError


class Evil:
    """Unpickling this would run os.system if its globals were trusted."""

    def __reduce__(self):
        return (os.system, ('touch evil_was_here',))


def test_mmengine_style_checkpoint_loads(tmp_path):
    hub = dict(log_scalars=dict(loss=HistoryBuffer([1.0, 2.0], [1, 1])),
               runtime_info=dict(iter=np.int64(7), lr=np.float64(0.5)))
    sd = {'w': torch.arange(6.).view(2, 3)}
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=sd, message_hub=hub, meta=dict(epoch=1)),
               path)
    out = load_checkpoint_tensors(path)
    assert torch.equal(out['state_dict']['w'], sd['w'])
    buf = out['message_hub']['log_scalars']['loss']
    assert isinstance(buf, HistoryBuffer) and buf.current() == 2.0
    assert out['message_hub']['runtime_info']['iter'] == 7


def test_code_in_a_checkpoint_never_runs(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={'w': torch.ones(2)}, meta=Evil()), path)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(UnsafePickleError,
                           match=r'evil\.pth: refused .*posix\.system'):
            load_checkpoint_tensors(path)
    finally:
        os.chdir(cwd)
    assert not (tmp_path / 'evil_was_here').exists()


def test_mmengine_uses_the_safe_loader(tmp_path):
    use_safe_checkpoint_loader()
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict={'w': torch.ones(1)},
                    message_hub=dict(b=HistoryBuffer([3.0], [1]))), path)
    ckpt = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert ckpt['message_hub']['b'].current() == 3.0
    with open(path, 'rb') as f:  # sanity: plain weights_only refuses it
        try:
            torch.load(f, weights_only=True)
            refused = False
        except pickle.UnpicklingError:
            refused = True
    assert refused

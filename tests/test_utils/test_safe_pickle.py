# Copyright (c) mmlwgan contributors. All rights reserved.
"""A corpus of malicious files, made at test time, against every reader of
the project that unpickles: each payload would create a file in a marker
folder; every reader must refuse it (one error naming the global and the
file) and the folder must stay empty. A sanity test shows that each payload
really runs under a plain ``pickle.loads``, so the corpus cannot go stale.
"""
import builtins
import copyreg
import os
import pickle
import subprocess

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmlwgan.apis.inferencers.inputs import InferenceInputError, load_smpl
from mmlwgan.datasets import IPERDataError, load_kps, load_pose_shape
from mmlwgan.evaluation.feature_nets import _read_state_dict
from mmlwgan.models.body import load_smpl_model_data
from mmlwgan.models.converters import ConversionError, load_checkpoint_file
from mmlwgan.models.converters.hmr import load_raw_state_dict
from mmlwgan.models.losses.perceptual import load_state_dict_file
from mmlwgan.utils.checkpoint import (load_checkpoint_tensors,
                                      use_safe_checkpoint_loader)
from mmlwgan.utils.safe_pickle import (CHECKPOINT, IPER_ANNOTATION,
                                       SMPL_MODEL, SMPL_SEQUENCE,
                                       UnsafePickleError, safe_loads)

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)
# protocol 0 writes persistent ids as strings, which torch cannot read back
TORCH_PROTOCOLS = range(1, pickle.HIGHEST_PROTOCOL + 1)


class Call:
    """Pickles as ``func(*args)``; ``args`` may hold other ``Call``s, so
    chains (``getattr(__import__('os'), 'system')(...)``) compose."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args

    def __call__(self, *args):  # pickle wants the reduced function callable
        raise AssertionError('only ever pickled')


def _eval_via(func, code: str) -> Call:
    """``func.__globals__.get('__builtins__').get('eval')(code)``."""
    glb = Call(getattr, func, '__globals__')
    bi = Call(Call(getattr, glb, 'get'), '__builtins__')
    return Call(Call(Call(getattr, bi, 'get'), 'eval'), code)


def _payloads(marker_dir: str):
    """name -> object whose unpickling creates a file in ``marker_dir``."""
    m = os.path.join(marker_dir, 'ran')
    code = f'open({m!r}, "w").close()'
    pyfile = os.path.join(os.path.dirname(marker_dir), 'evil_config.py')
    with open(pyfile, 'w') as f:
        f.write(code + '\n')
    import numpy.testing._private.utils as np_utils
    import torch.fx.graph_module as fx_gm
    return {
        'os.system': Call(os.system, f'touch {m}'),
        'subprocess.run': Call(subprocess.run, ['touch', m]),
        'builtins.eval': Call(builtins.eval, code),
        'builtins.exec': Call(builtins.exec, code),
        'builtins.open': Call(builtins.open, m, 'w'),
        'getattr(__import__(os), system)': Call(
            Call(getattr, Call(builtins.__import__, 'os'), 'system'),
            f'touch {m}'),
        # getattr chains starting from objects the allow-lists do hold
        'getattr(ndarray, tofile)': Call(
            Call(getattr, np.ndarray, 'tofile'), np.zeros(1), m),
        'HistoryBuffer.min.__globals__[__builtins__][eval]': _eval_via(
            Call(getattr, HistoryBuffer, 'min'), code),
        # functions inside allow-listed packages that run strings or code
        'numpy runstring': Call(np_utils.runstring, code, {}),
        'numpy.save': Call(np.save, m, np.zeros(1)),
        'torch.fx _exec_with_source': Call(fx_gm._exec_with_source, code,
                                           {}),
        'torch.save': Call(torch.save, {}, m),
        'mmengine Config.fromfile': Call(Config.fromfile, pyfile),
        'copyreg._reconstructor(Popen)': Call(copyreg._reconstructor,
                                              subprocess.Popen, object,
                                              None),
    }


@pytest.fixture
def marker_dir(tmp_path):
    d = tmp_path / 'markers'
    d.mkdir()
    return str(d)


def _never_ran(marker_dir):
    assert os.listdir(marker_dir) == [], 'a payload ran'


def test_each_payload_runs_under_plain_pickle(marker_dir):
    """The corpus is live: plain ``pickle.loads`` runs every payload (the
    Popen one only builds an object: it is there for the guard)."""
    for name, payload in _payloads(marker_dir).items():
        if 'Popen' in name:
            continue
        data = pickle.dumps(payload, protocol=2)
        try:
            pickle.loads(data)
        except Exception:  # noqa: BLE001 - some fail after running
            pass
        assert os.listdir(marker_dir), f'{name} did not run'
        for f in os.listdir(marker_dir):
            os.remove(os.path.join(marker_dir, f))


# ----------------------------------------------------------------------
# Plain pickles: SMPL model files, iPER annotations, SMPL sequences
# ----------------------------------------------------------------------
def _smpl_model_reader(path):
    return load_smpl_model_data(path)


def _pose_shape_reader(path):
    return load_pose_shape(path)


def _kps_reader(path):
    return load_kps(path)


def _sequence_reader(path):
    return load_smpl(path)


PLAIN_READERS = {
    'SMPL model': (_smpl_model_reader, (UnsafePickleError, )),
    'iPER pose_shape.pkl': (_pose_shape_reader, (IPERDataError, )),
    'iPER kps.pkl': (_kps_reader, (IPERDataError, )),
    'SMPL sequence': (_sequence_reader, (InferenceInputError, )),
}


@pytest.mark.parametrize('reader', sorted(PLAIN_READERS))
@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_plain_pickle_readers_refuse_every_payload(tmp_path, marker_dir,
                                                   reader, protocol):
    read, errors = PLAIN_READERS[reader]
    for name, payload in _payloads(marker_dir).items():
        path = tmp_path / 'file.pkl'
        path.write_bytes(
            pickle.dumps({'cams': payload, 'kps': payload}, protocol))
        with pytest.raises(errors, match=r'file\.pkl.*refused to load') as e:
            read(str(path))
        assert 'allow-list' in str(e.value), name
        _never_ran(marker_dir)


def test_extension_opcode_is_allow_listed_too(tmp_path, marker_dir):
    """EXT1 names a global through copyreg's extension registry."""
    copyreg.add_extension('os', 'system', 0xF0)
    try:
        data = (b'\x80\x02\x82\xf0' + pickle.dumps(
            (f'touch {marker_dir}/ran', ), 2)[2:-1] + b'R.')
        for allow in (IPER_ANNOTATION, SMPL_MODEL, SMPL_SEQUENCE,
                      CHECKPOINT.get()):
            with pytest.raises(UnsafePickleError, match=r'global os\.system'):
                safe_loads(data, allow, 'ext.pkl')
    finally:
        copyreg.remove_extension('os', 'system', 0xF0)
    _never_ran(marker_dir)


def test_inst_and_obj_opcodes_are_allow_listed(marker_dir):
    arg = f'touch {marker_dir}/ran'.encode()
    inst = b"(S'" + arg + b"'\nios\nsystem\n."  # protocol 0
    obj = (b'\x80\x02(cos\nsystem\nX' + len(arg).to_bytes(4, 'little') +
           arg + b'o.')  # protocol 1+
    for data in (inst, obj):
        with pytest.raises(UnsafePickleError, match=r'os\.system'):
            safe_loads(data, IPER_ANNOTATION, 'x.pkl')
    _never_ran(marker_dir)


def test_guards_refuse_unusual_arguments():
    # _codecs.encode: only (str, 'latin1') as pickles write bytes
    data = b'\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00xX\x04\x00\x00\x00zlib\x86R.'
    with pytest.raises(UnsafePickleError, match=r"x\.pkl.*'zlib'"):
        safe_loads(data, IPER_ANNOTATION, 'x.pkl')
    # copy_reg._reconstructor: only for the SMPL stand-ins, base object
    bad = (b'\x80\x02ccopy_reg\n_reconstructor\ncchumpy.ch\nCh\ncnumpy\n'
           b'ndarray\nN\x87R.')
    with pytest.raises(UnsafePickleError, match=r'_reconstructor'):
        safe_loads(bad, SMPL_MODEL, 'x.pkl')
    # getattr with a default, or of an attribute not listed
    for attr in ('__init__', '__dict__', 'update'):
        data = pickle.dumps(Call(getattr, HistoryBuffer, attr), 2)
        with pytest.raises(UnsafePickleError, match=f'getattr.*{attr}'):
            safe_loads(data, CHECKPOINT.get(), 'c.pkl')


def test_build_cannot_rewrite_a_class_of_the_process():
    before = HistoryBuffer.__dict__['mean']
    data = (b'\x80\x02cmmengine.logging.history_buffer\nHistoryBuffer\n'
            b'N}X\x04\x00\x00\x00meanK\x01s\x86b.')
    with pytest.raises(UnsafePickleError, match='sets the state of'):
        safe_loads(data, CHECKPOINT.get(), 'c.pkl')
    assert HistoryBuffer.__dict__['mean'] is before


@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_legitimate_plain_files_load_in_every_protocol(tmp_path, protocol):
    data = {
        'cams': np.random.rand(4, 3).astype(np.float32),
        'pose': np.random.rand(4, 72).astype(np.float64),
        'shape': np.random.rand(4, 10).astype(np.float32),
        'extra': [b'bytes', {1, 2}, 3 + 1j, np.float32(2.5)],
    }
    path = tmp_path / 'pose_shape.pkl'
    path.write_bytes(pickle.dumps(data, protocol))
    theta = load_pose_shape(str(path))
    np.testing.assert_allclose(
        theta, np.concatenate([data['cams'], data['pose'], data['shape']],
                              1).astype(np.float32))
    np.testing.assert_allclose(load_smpl(str(path)), theta)
    out = safe_loads(path.read_bytes(), IPER_ANNOTATION)
    assert out['extra'][:3] == data['extra'][:3]
    assert out['extra'][3] == np.float32(2.5)


# ----------------------------------------------------------------------
# Torch files: zip and legacy formats, every protocol, every reader
# ----------------------------------------------------------------------
def _mmengine_reader(path):
    use_safe_checkpoint_loader()
    return CheckpointLoader.load_checkpoint(path, map_location='cpu')


TORCH_READERS = {
    'load_checkpoint_tensors': (load_checkpoint_tensors, UnsafePickleError),
    'mmengine CheckpointLoader': (_mmengine_reader, UnsafePickleError),
    'converter load_checkpoint_file': (load_checkpoint_file,
                                       ConversionError),
    'HMR load_raw_state_dict': (load_raw_state_dict, UnsafePickleError),
    'VGG19 load_state_dict_file': (load_state_dict_file, UnsafePickleError),
    'metric networks': (lambda p: _read_state_dict(p, 'LPIPS'),
                        UnsafePickleError),
}


@pytest.mark.parametrize('zip_format', [True, False], ids=['zip', 'legacy'])
@pytest.mark.parametrize('protocol', TORCH_PROTOCOLS)
def test_checkpoint_readers_refuse_every_payload(tmp_path, marker_dir,
                                                 protocol, zip_format):
    path = str(tmp_path / 'evil.pth')
    for name, payload in _payloads(marker_dir).items():
        torch.save(dict(state_dict={'w': torch.ones(2)}, meta=payload),
                   path,
                   pickle_protocol=protocol,
                   _use_new_zipfile_serialization=zip_format)
        for reader, (read, error) in TORCH_READERS.items():
            with pytest.raises(error, match=r'evil\.pth.*refused to load'):
                read(path)
            _never_ran(marker_dir)


def test_legacy_file_whose_header_is_the_payload(tmp_path, marker_dir):
    """torch reads a legacy file's magic number with ``pickle_module.load``:
    that read is allow-listed too."""
    path = tmp_path / 'header.pth'
    for protocol in PROTOCOLS:
        for name, payload in _payloads(marker_dir).items():
            path.write_bytes(pickle.dumps(payload, protocol))
            with pytest.raises(UnsafePickleError, match=r'header\.pth'):
                load_checkpoint_tensors(str(path))
            _never_ran(marker_dir)


def test_torchscript_archive_is_refused(tmp_path):
    path = str(tmp_path / 'scripted.pt')
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path)
    with pytest.raises(UnsafePickleError, match='TorchScript'):
        load_checkpoint_tensors(path)


@pytest.mark.parametrize('zip_format', [True, False], ids=['zip', 'legacy'])
@pytest.mark.parametrize('protocol', TORCH_PROTOCOLS)
def test_mmengine_checkpoint_loads_in_every_format(tmp_path, protocol,
                                                   zip_format):
    hub = dict(log_scalars=dict(loss=HistoryBuffer([1.0, 2.0], [1, 1])),
               runtime_info=dict(iter=np.int64(7), lr=np.float64(0.5)))
    sd = {'w': torch.arange(6.).view(2, 3), 'p': torch.nn.Parameter(
        torch.ones(2))}
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict=sd, message_hub=hub, meta=dict(epoch=1)),
               path,
               pickle_protocol=protocol,
               _use_new_zipfile_serialization=zip_format)
    out = load_checkpoint_tensors(path)
    assert torch.equal(out['state_dict']['w'], sd['w'])
    assert torch.equal(out['state_dict']['p'], sd['p'])
    buf = out['message_hub']['log_scalars']['loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.mean() == 1.5 and buf.current() == 2.0
    assert out['message_hub']['runtime_info']['iter'] == 7


def test_refusal_names_the_global_and_the_file(tmp_path):
    path = tmp_path / 'pose_shape.pkl'
    path.write_bytes(pickle.dumps({'cams': Call(os.system, 'true')}, 2))
    with pytest.raises(IPERDataError, match='refused to load') as e:
        load_pose_shape(str(path))
    msg = str(e.value)
    assert str(path) in msg and 'posix.system' in msg
    assert '\n' not in msg


def test_bytes_io_sources_are_named():
    data = pickle.dumps(Call(os.system, 'true'), 2)
    with pytest.raises(UnsafePickleError, match=r'^buf\.pkl: refused'):
        safe_loads(data, SMPL_SEQUENCE, 'buf.pkl')
    with pytest.raises(UnsafePickleError, match=r'^<bytes>: refused'):
        safe_loads(data, SMPL_SEQUENCE)

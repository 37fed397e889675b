# Copyright (c) mmlwgan contributors. All rights reserved.
"""The bad-input table of the command-line tools, one test per row: each
bad input gives ONE ``error:`` line on stderr, a non-zero exit status and no
partial output.

| row | tool |
| a JPEG truncated to a third | demo CLIs |
| a photo with no person (grass) | demo CLIs (SMPL given), API (HMR) |
| a checkpoint from another config | tools/test.py |
| no data / a typo in a nested type / a truncated --resume | tools/train.py |
| an output folder that is read-only, or a file | demo CLIs, tools/test.py |
| SIGKILL while writing a video | the next run removes the temporaries |
| modes of the outputs | the umask's, not 0600 / 0700 |
| the bundled checkpoint from the CLIs | the --help examples run |
"""
import importlib
import importlib.util
import os
import os.path as osp
import re
import shlex
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch


def helpers():
    """``tests/test_tools/conftest.py`` as a module (see its docstring)."""
    name = 'mmlwgan_tools_helpers'
    if name not in sys.modules:
        path = osp.join(osp.dirname(osp.abspath(__file__)), 'conftest.py')
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


H = helpers()
ROOT = H.ROOT
DEMO = dict(
    config=osp.join(ROOT, 'configs', 'lwgan',
                    'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py'),
    checkpoint=osp.join(ROOT, 'demo', 'checkpoints',
                        'lwgan_lwb-tiny-v3_synthetic-64_fp16.pth'),
    src=osp.join(ROOT, 'demo', 'data', 'source.png'),
    src_smpl=osp.join(ROOT, 'demo', 'data', 'source_smpl.pkl'),
    motion=osp.join(ROOT, 'demo', 'data', 'motion.pkl'))


@pytest.fixture(autouse=True)
def _synthetic_body(synthetic_smpl_dir, monkeypatch):
    """The bundled model's synthetic body comes from the session's folder
    (not ~/.cache)."""
    monkeypatch.setenv('MMLWGAN_SYNTHETIC_SMPL_DIR', synthetic_smpl_dir)
    monkeypatch.delenv('MMLWGAN_DEBUG', raising=False)


def demo_main(name):
    return importlib.import_module(f'demo.{name}').main


def demo_argv(out_dir, src=None, task='motion_imitation', *extra):
    argv = ['--config', DEMO['config'], '--checkpoint', DEMO['checkpoint'],
            '--src', src or DEMO['src'], '--src-smpl', DEMO['src_smpl'],
            '--out-dir', str(out_dir), '--device', 'cpu', '--no-progress']
    if task == 'motion_imitation':
        argv += ['--ref', DEMO['motion'], '--side-by-side', '--save-frames']
    elif task == 'novel_view':
        argv += ['--num-views', '2', '--save-frames']
    return argv + list(extra)


def error_line(err, pattern):
    """stderr holds exactly one line, ``error: ...`` matching ``pattern``."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith('error: '), lines[0]
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def assert_nothing_in(path):
    """No file and no folder at all under ``path`` (or no ``path``)."""
    if not osp.exists(path):
        return
    left = [osp.join(r, n) for r, ds, fs in os.walk(path) for n in ds + fs]
    assert not left, left


def fresh_log_streams():
    """Point mmengine's console handlers at this test's stdout (a logger
    made in an earlier test keeps that test's closed capture stream)."""
    import logging

    from mmengine.logging import MMLogger
    for logger in list(MMLogger._instance_dict.values()):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and \
                    not isinstance(handler, logging.FileHandler):
                handler.stream = sys.stdout  # setStream flushes the old


def run_demo(capfd, argv, task='motion_imitation'):
    fresh_log_streams()
    capfd.readouterr()
    rc = demo_main(task)(argv)
    out, err = capfd.readouterr()
    return rc, out, err


# ---------------------------------------------------------------------------
# a JPEG truncated to a third
# ---------------------------------------------------------------------------
def truncated_jpeg(folder):
    img = cv2.resize(cv2.imread(DEMO['src']), (512, 512))
    ok, data = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    data = data.tobytes()
    path = str(folder / 'source.jpg')
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 3])
    return path, data


def test_truncated_jpeg(tmp_path, capfd):
    path, data = truncated_jpeg(tmp_path)
    out_dir = tmp_path / 'out'
    rc, _, err = run_demo(capfd, demo_argv(out_dir, path))
    assert rc == 1
    # no libjpeg 'Premature end of JPEG file' warning either: one line
    error_line(err, r"source image '.*source.jpg' is truncated")
    assert_nothing_in(out_dir)

    from mmlwgan.apis.inferencers import InferenceInputError, read_image
    with pytest.raises(InferenceInputError, match='is truncated'):
        read_image(path, 'source image')
    # a complete JPEG, also one with bytes after its end, reads
    full = str(tmp_path / 'full.jpg')
    with open(full, 'wb') as f:
        f.write(data + b'\0' * 100 + b'trailing data of another format')
    assert read_image(full).shape == (512, 512, 3)
    # a truncated PNG too
    ok, png = cv2.imencode('.png', cv2.imread(DEMO['src']))
    cut = str(tmp_path / 'cut.png')
    with open(cut, 'wb') as f:
        f.write(png.tobytes()[:len(png) // 3])
    with pytest.raises(InferenceInputError, match='truncated|cannot be read'):
        read_image(cut)


# ---------------------------------------------------------------------------
# a photo without a person
# ---------------------------------------------------------------------------
def grass_photo(folder):
    from mmlwgan.synthetic.no_person import grass_image
    path = str(folder / 'grass.jpg')
    cv2.imwrite(path, grass_image(256, 3)[..., ::-1])
    return path


def test_no_person_with_smpl_given(tmp_path, capfd):
    grass = grass_photo(tmp_path)
    out_dir = tmp_path / 'out'
    for task in ('motion_imitation', 'novel_view'):
        rc, _, err = run_demo(capfd, demo_argv(out_dir, grass, task), task)
        assert rc == 1
        error_line(err, r'no person found in source image 0: the HOG people '
                   r'detector .* --src-bbox')
        assert_nothing_in(out_dir)
    # the person of the bundled demo passes the same check
    rc, out, err = run_demo(capfd, demo_argv(out_dir, None, 'novel_view'),
                            'novel_view')
    assert rc == 0, err
    assert osp.isfile(out_dir / 'source-novel_view.mp4')
    # --detector none turns the check off (the user knows better)
    rc, out, err = run_demo(
        capfd, demo_argv(tmp_path / 'none', grass, 'novel_view',
                         '--detector', 'none'), 'novel_view')
    assert rc == 0, err
    # ... and so does a user box
    rc, out, err = run_demo(
        capfd, demo_argv(tmp_path / 'box', grass, 'novel_view',
                         '--src-bbox', '10', '10', '100', '250'),
        'novel_view')
    assert rc == 0, err


def test_no_person_with_hmr_without_weights(tmp_path):
    """SMPL estimated by an HMR without weights: the detector refuses the
    grass before HMR makes up a body."""
    from mmlwgan.apis import NoPersonError, NovelViewInferencer
    hmr = dict(type='HMR', backbone=dict(type='ResNetV2', depth=50,
                                         stem_channels=4, base_channels=2),
               hidden_channels=16)
    inferencer = NovelViewInferencer(
        DEMO['config'], DEMO['checkpoint'], device='cpu',
        show_progress=False, detector='hog', cfg_options={'model.hmr': hmr})
    with pytest.raises(NoPersonError,
                       match='no person found in source image 0: the HOG'):
        inferencer(grass_photo(tmp_path), out_dir=str(tmp_path / 'out'),
                   num_views=2)
    assert_nothing_in(tmp_path / 'out')
    # without a detector (the API's default) nothing checks
    assert NovelViewInferencer(inferencer.model, device='cpu').detector \
        is None
    # reference frames: the HOG detector misses some people, so a frame
    # without a box goes to HMR whole; a reference without anybody fails
    from mmlwgan.apis.inferencers import open_reference
    from mmlwgan.synthetic.no_person import grass_image
    person = cv2.cvtColor(cv2.imread(DEMO['src']), cv2.COLOR_BGR2RGB)
    grass = grass_image(128, 1)
    thetas = inferencer.reference_thetas(
        open_reference(np.stack([person, grass, person])), batch_size=2)
    assert thetas.shape == (3, 85)
    with pytest.raises(NoPersonError, match='nor in any of the 2 reference'):
        inferencer.reference_thetas(open_reference(np.stack([grass, grass])))


# ---------------------------------------------------------------------------
# tools/test.py with a checkpoint of another config
# ---------------------------------------------------------------------------
def test_test_tool_checkpoint_from_another_config(tiny_iper, tmp_path,
                                                  capfd):
    test_tool = H.load_tool('test')
    ckpt = str(tmp_path / 'other.pth')
    torch.save({'state_dict': H.build_tiny_model(tiny_iper).state_dict()},
               ckpt)
    # the config's generator has 2 residual blocks, the checkpoint's 1
    options = H.tiny_options(tiny_iper, extra={
        f'model.generator.{net}.num_blocks': 2
        for net in ('bg_net', 'src_net', 'tsf_net')})
    work_dir, out = tmp_path / 'work', tmp_path / 'res' / 'metrics.json'
    H.reset_history_buffer_statistics()
    fresh_log_streams()
    capfd.readouterr()
    rc = test_tool.cli([H.TINY_CONFIG, ckpt, '--work-dir', str(work_dir),
                        '--out', str(out), '--show-dir',
                        str(tmp_path / 'show')] +
                       H.cfg_options_argv(options))
    err = capfd.readouterr().err
    assert rc == 1
    error_line(err, r"checkpoint '.*other.pth' does not fit the model of "
               r"config .*key\(s\) missing from the checkpoint: "
               r'generator\.bg_net\.model\.')
    for path in (work_dir, out, tmp_path / 'res', tmp_path / 'show'):
        assert not osp.exists(path), path
    # the library call raises the error itself (new options: a runner of
    # this process must not reuse the first one's visualizer)
    from mmlwgan.apis import CheckpointMismatchError
    options = H.tiny_options(tiny_iper, extra={
        f'model.generator.{net}.num_blocks': 2
        for net in ('bg_net', 'src_net', 'tsf_net')})
    with pytest.raises(CheckpointMismatchError, match='does not fit'):
        test_tool.main([H.TINY_CONFIG, ckpt, '--work-dir', str(work_dir)] +
                       H.cfg_options_argv(options))
    assert not osp.exists(work_dir)


# ---------------------------------------------------------------------------
# tools/train.py: no data, a typo in a nested type, a truncated --resume
# ---------------------------------------------------------------------------
def test_train_without_data(tmp_path):
    """The real process: exit status 1 and one line on stderr."""
    work_dir = tmp_path / 'work'
    proc = subprocess.run(
        [H.PYTHON, osp.join(ROOT, 'tools', 'train.py'),
         osp.join(ROOT, 'configs', 'lwgan_iper.py'), '--work-dir',
         str(work_dir), '--cfg-options',
         f'train_dataloader.dataset.data_root={tmp_path / "no_data"}'],
        cwd=str(tmp_path), env=H.subprocess_env(), capture_output=True,
        text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    error_line(proc.stderr, r'not found|does not exist')
    assert not osp.exists(work_dir)


def run_train(capfd, argv):
    train_tool = H.load_tool('train')
    H.reset_history_buffer_statistics()
    fresh_log_streams()
    capfd.readouterr()
    rc = train_tool.cli(argv)
    return rc, capfd.readouterr().err


def test_train_typo_in_nested_type(tiny_iper, tmp_path, capfd):
    work_dir = tmp_path / 'work'
    options = H.tiny_options(
        tiny_iper, extra={'model.generator.src_net.type': 'ResUnetGeneratr'})
    rc, err = run_train(capfd, [H.TINY_CONFIG, '--work-dir', str(work_dir)] +
                        H.cfg_options_argv(options))
    assert rc == 1
    error_line(err, r'ResUnetGeneratr is not in the mmlwgan::model registry')
    assert not osp.exists(work_dir)
    # --debug: the whole traceback instead (new options: a runner of this
    # process must not reuse the first one's message hub / visualizer)
    options = H.tiny_options(
        tiny_iper, extra={'model.generator.src_net.type': 'ResUnetGeneratr'})
    H.reset_history_buffer_statistics()
    with pytest.raises(KeyError, match='ResUnetGeneratr'):
        H.load_tool('train').cli([H.TINY_CONFIG, '--work-dir',
                                  str(work_dir), '--debug'] +
                                 H.cfg_options_argv(options))


def test_train_truncated_resume_checkpoint(tiny_iper, tmp_path, capfd):
    ckpt = str(tmp_path / 'iter_20.pth')
    torch.save({'state_dict': H.build_tiny_model(tiny_iper).state_dict(),
                'meta': {}}, ckpt)
    with open(ckpt, 'rb') as f:
        data = f.read()
    with open(ckpt, 'wb') as f:
        f.write(data[:len(data) // 3])
    work_dir = tmp_path / 'work'
    argv = [H.TINY_CONFIG, '--work-dir', str(work_dir)] + \
        H.cfg_options_argv(H.tiny_options(tiny_iper))
    rc, err = run_train(capfd, argv[:3] + ['--resume', ckpt] + argv[3:])
    assert rc == 1
    error_line(err, r"--resume checkpoint '.*iter_20.pth' is truncated")
    assert not osp.exists(work_dir)
    # --resume without a value: the work dir's last_checkpoint, same error;
    # what was in the work dir stays, nothing is added
    os.makedirs(work_dir)
    with open(work_dir / 'last_checkpoint', 'w') as f:
        f.write(ckpt)
    rc, err = run_train(capfd, argv[:3] + ['--resume'] + argv[3:])
    assert rc == 1
    error_line(err, 'is truncated')
    assert os.listdir(work_dir) == ['last_checkpoint']


# ---------------------------------------------------------------------------
# an output folder that is read-only, or a file
# ---------------------------------------------------------------------------
def read_only_folder(tmp_path):
    """A folder nobody (this process) can create files in."""
    if os.geteuid() != 0:
        folder = tmp_path / 'read_only'
        folder.mkdir()
        folder.chmod(0o555)
        return str(folder)
    import tempfile
    for candidate in ('/sys', '/proc/self'):  # root: read-only mounts
        try:
            fd, probe = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.remove(probe)
    pytest.skip('no read-only folder for root here')


def test_output_folder_read_only_or_a_file(tmp_path, capfd):
    a_file = tmp_path / 'a_file'
    a_file.write_text('not a folder')
    for out_dir, pattern in (
            (a_file, r"output folder '.*a_file' is a file, not a folder"),
            (a_file / 'sub', r"output folder '.*a_file/sub' cannot be "
             r"created: '.*a_file' is a file"),
            (read_only_folder(tmp_path),
             r"output folder '.*' is not writable: ")):
        rc, _, err = run_demo(capfd, demo_argv(out_dir))
        assert rc == 1
        error_line(err, pattern)
    assert a_file.read_text() == 'not a folder'
    # tools/test.py: --out in a file's place fails before the model loads
    fresh_log_streams()
    capfd.readouterr()
    rc = H.load_tool('test').cli(
        [H.TINY_CONFIG, DEMO['checkpoint'], '--out',
         str(a_file / 'metrics.json'), '--work-dir', str(tmp_path / 'w')])
    assert rc == 1
    error_line(capfd.readouterr().err, r"folder of --out '.*a_file' is a "
               'file')
    assert not osp.exists(tmp_path / 'w')


# ---------------------------------------------------------------------------
# SIGKILL while writing a video
# ---------------------------------------------------------------------------
KILLED_WRITER = '''
import os, signal, sys
import numpy as np
from mmlwgan.utils.io import AtomicVideoWriter, atomic_dir, write_image
out = sys.argv[1]
with AtomicVideoWriter(os.path.join(out, 'source-novel_view.mp4')) as w:
    with atomic_dir(os.path.join(out, 'source-novel_view_frames')) as d:
        frame = np.zeros((64, 64, 3), np.uint8)
        w.write(frame)
        write_image(os.path.join(d, '000000.png'), frame)
        print('writing', flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
'''


def test_sigkill_temporaries_are_removed_by_the_next_run(tmp_path, capfd):
    out_dir = tmp_path / 'out'
    out_dir.mkdir()
    proc = subprocess.run([H.PYTHON, '-c', KILLED_WRITER, str(out_dir)],
                          env=H.subprocess_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = sorted(os.listdir(out_dir))
    # the final names were never written; the hidden temporaries remain
    assert len(left) == 2 and all(n.startswith('.tmp-') for n in left)
    # a live writer's temporary (this process) and a fresh one of an older
    # version (no process id) must survive the clean-up; an old one goes
    from mmlwgan.utils.io import temp_prefix
    live = out_dir / (temp_prefix() + 'abcd.mp4')
    live.write_bytes(b'x')
    fresh, old = out_dir / '.tmp-fresh.mp4', out_dir / '.tmp-old.mp4'
    fresh.write_bytes(b'x')
    old.write_bytes(b'x')
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    rc, out, err = run_demo(capfd, demo_argv(out_dir, None, 'novel_view'),
                            'novel_view')
    assert rc == 0, err
    assert sorted(os.listdir(out_dir)) == sorted([
        live.name, fresh.name, 'source-novel_view.mp4',
        'source-novel_view_frames'
    ])
    assert sorted(os.listdir(out_dir / 'source-novel_view_frames')) == [
        '000000.png', '000001.png'
    ]


# ---------------------------------------------------------------------------
# modes of the outputs
# ---------------------------------------------------------------------------
@pytest.mark.parametrize('umask,file_mode,dir_mode',
                         [(0o022, 0o644, 0o755), (0o027, 0o640, 0o750)])
def test_outputs_follow_the_umask(tmp_path, capfd, umask, file_mode,
                                  dir_mode):
    out_dir = tmp_path / 'out'
    old = os.umask(umask)
    try:
        rc, out, err = run_demo(
            capfd, demo_argv(out_dir, None, 'novel_view', '--side-by-side'),
            'novel_view')
        from mmlwgan.utils import write_image
        write_image(str(tmp_path / 'single.png'),
                    np.zeros((4, 4, 3), np.uint8))
    finally:
        os.umask(old)
    assert rc == 0, err

    def mode(p):
        return os.stat(p).st_mode & 0o777

    assert mode(out_dir / 'source-novel_view.mp4') == file_mode
    assert mode(out_dir / 'source-novel_view_side_by_side.mp4') == file_mode
    frames = out_dir / 'source-novel_view_frames'
    assert mode(frames) == dir_mode
    assert {mode(frames / n) for n in os.listdir(frames)} == {file_mode}
    assert mode(tmp_path / 'single.png') == file_mode


# ---------------------------------------------------------------------------
# the bundled checkpoint from the CLIs: the --help examples run
# ---------------------------------------------------------------------------
def first_example(doc):
    """The first command of a docstring's ``Examples:`` section, as argv
    (continuation lines joined)."""
    text = doc.split('Examples:', 1)[1]
    lines = [line.strip() for line in text.split('\n')]
    start = next(i for i, line in enumerate(lines)
                 if line.startswith('python '))
    cmd = []
    for line in lines[start:]:
        cmd.append(line.rstrip('\\').strip())
        if not line.endswith('\\'):
            break
    return shlex.split(' '.join(cmd))


@pytest.mark.parametrize('task', ['motion_imitation', 'novel_view',
                                  'appearance_transfer'])
def test_help_examples_run_with_the_bundled_checkpoint(task, tmp_path,
                                                       capfd, monkeypatch):
    module = importlib.import_module(f'demo.{task}')
    with pytest.raises(SystemExit):
        module.parse_args(['--help'])
    help_text = capfd.readouterr().out
    assert 'examples:' in help_text and 'demo/checkpoints/' in help_text
    argv = first_example(module.__doc__)
    assert argv[:2] == ['python', f'demo/{task}.py']
    # the example does not say where the synthetic body is
    assert not any('smpl_model' in a or 'SMPL_NEUTRAL' in a for a in argv)
    argv = argv[2:]
    out_dir = argv[argv.index('--out-dir') + 1]
    argv[argv.index('--out-dir') + 1] = str(tmp_path / out_dir)
    monkeypatch.chdir(ROOT)  # the example's relative paths
    rc, out, err = run_demo(capfd, argv + ['--no-progress'], task)
    assert rc == 0, err
    printed = out.split()
    videos = [p for p in printed if p.endswith('.mp4')]
    assert videos and all(osp.isfile(p) for p in videos)
    assert all(p.startswith(str(tmp_path)) for p in videos)


def test_docstring_examples_name_existing_configs():
    """Every ``configs/...py`` named in the CLIs' docstrings exists."""
    files = [osp.join(ROOT, 'demo', f'{t}.py') for t in (
        'motion_imitation', 'novel_view', 'appearance_transfer')]
    files += [osp.join(ROOT, 'tools', f'{t}.py') for t in ('train', 'test')]
    for path in files:
        with open(path) as f:
            text = f.read()
        doc = text.split('"""')[1]
        for config in re.findall(r'configs/[\w./-]+\.py', doc):
            assert osp.isfile(osp.join(ROOT, config)), (path, config)


def test_synthetic_body_fallback(tmp_path, synthetic_smpl_dir):
    from mmengine.config import Config

    from mmlwgan.apis.inference import use_synthetic_body_if_missing
    cfg = Config(dict(model=dict(body_model=dict(
        type='SMPL', model_path=str(tmp_path / 'missing.npz'))),
        synthetic_body=True))
    use_synthetic_body_if_missing(cfg)
    assert cfg.model.body_model.model_path == osp.join(
        synthetic_smpl_dir, 'SMPL_NEUTRAL.npz')
    # an existing file is kept; configs without the flag are left alone
    existing = str(tmp_path / 'mine.npz')
    open(existing, 'w').close()
    cfg.model.body_model.model_path = existing
    assert use_synthetic_body_if_missing(
        cfg).model.body_model.model_path == existing
    real = Config(dict(model=dict(body_model=dict(
        type='SMPL', model_path='data/smpl/SMPL_NEUTRAL.pkl'))))
    assert use_synthetic_body_if_missing(
        real).model.body_model.model_path == 'data/smpl/SMPL_NEUTRAL.pkl'


def test_error_lines():
    from mmlwgan.utils.cli import error_line, run_main
    assert error_line(KeyError('Foo is not\nregistered')) == \
        'Foo is not registered'
    assert error_line(RuntimeError('cuda\n  broke')) == \
        'RuntimeError: cuda broke'
    assert error_line(ValueError()) == 'ValueError'

    def boom():
        raise ValueError('bad\ninput')

    assert run_main(boom) == 1
    with pytest.raises(ValueError):
        run_main(boom, debug=True)
    assert run_main(lambda: 7) == 7

# Copyright (c) mmlwgan contributors. All rights reserved.
"""Temporary files of dead writers, output modes and output-folder checks
of ``mmlwgan.utils.io``."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from mmlwgan.utils import io as mio


def dead_pid():
    """The id of a process that has ended (and was reaped)."""
    proc = subprocess.Popen([sys.executable, '-c', 'pass'])
    proc.wait()
    return proc.pid


def test_temp_names_carry_the_process(tmp_path):
    with mio.atomic_path(str(tmp_path / 'a.mp4')) as tmp:
        name = os.path.basename(tmp)
        assert name.startswith(mio.temp_prefix()) and name.endswith('.mp4')
        assert f'-{os.getpid()}-' in name
        open(tmp, 'wb').close()
    assert os.listdir(tmp_path) == ['a.mp4']
    with mio.atomic_dir(str(tmp_path / 'frames')) as tmp:
        assert os.path.basename(tmp).startswith(mio.temp_prefix('frames'))
    assert sorted(os.listdir(tmp_path)) == ['a.mp4', 'frames']


def test_remove_stale_temporaries(tmp_path):
    pid = dead_pid()
    host = mio._host_tag()
    stale_file = tmp_path / f'.tmp-{pid}-{host}-x1.mp4'
    stale_dir = tmp_path / f'.tmp-{pid}-{host}-frames-x2'
    live = tmp_path / f'.tmp-{os.getpid()}-{host}-x3.mp4'
    other_host = tmp_path / f'.tmp-{pid}-00000000-x4.mp4'
    legacy_new = tmp_path / '.tmp-abc.mp4'
    legacy_old = tmp_path / '.tmp-frames-def'
    keep = tmp_path / 'result.mp4'
    for p in (stale_file, live, other_host, legacy_new, keep):
        p.write_bytes(b'x')
    for d in (stale_dir, legacy_old):
        d.mkdir()
        (d / '000000.png').write_bytes(b'x')
    old = time.time() - 2 * mio.LEGACY_TEMP_AGE_S
    os.utime(legacy_old, (old, old))
    removed = mio.remove_stale_temporaries(str(tmp_path), force=True)
    assert sorted(removed) == sorted(
        str(p) for p in (stale_file, stale_dir, legacy_old))
    assert sorted(os.listdir(tmp_path)) == sorted(
        p.name for p in (live, other_host, legacy_new, keep))
    # a folder is scanned once per RESCAN_S by a process, unless forced
    (tmp_path / f'.tmp-{pid}-{host}-x5.mp4').write_bytes(b'x')
    assert mio.remove_stale_temporaries(str(tmp_path)) == []
    assert len(mio.remove_stale_temporaries(str(tmp_path), force=True)) == 1


@pytest.mark.parametrize('umask', [0o022, 0o002, 0o077])
def test_outputs_get_the_umask_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        assert mio.current_umask() == umask
        mio.write_image(str(tmp_path / 'a.png'), np.zeros((2, 2, 3),
                                                          np.uint8))
        with mio.atomic_dir(str(tmp_path / 'frames')) as d:
            mio.write_image(os.path.join(d, '0.png'),
                            np.zeros((2, 2, 3), np.uint8))
    finally:
        os.umask(old)
    assert os.stat(tmp_path / 'a.png').st_mode & 0o777 == 0o666 & ~umask
    assert os.stat(tmp_path / 'frames').st_mode & 0o777 == 0o777 & ~umask
    assert os.stat(tmp_path / 'frames' / '0.png').st_mode & 0o777 == \
        0o666 & ~umask


def test_check_output_dir(tmp_path):
    assert mio.check_output_dir(str(tmp_path / 'new' / 'deeper')) == str(
        tmp_path / 'new' / 'deeper')
    assert not (tmp_path / 'new').exists()  # nothing is created
    assert os.listdir(tmp_path) == []  # the probe is gone
    a_file = tmp_path / 'f'
    a_file.write_text('x')
    with pytest.raises(mio.OutputPathError, match="is a file, not a folder"):
        mio.check_output_dir(str(a_file))
    with pytest.raises(mio.OutputPathError,
                       match=r"cannot be created: '.*f' is a file"):
        mio.check_output_dir(str(a_file / 'sub'))
    assert isinstance(mio.OutputPathError('x'), OSError)
    if os.geteuid() != 0:
        ro = tmp_path / 'ro'
        ro.mkdir()
        ro.chmod(0o555)
        try:
            with pytest.raises(mio.OutputPathError, match='not writable'):
                mio.check_output_dir(str(ro / 'out'))
        finally:
            ro.chmod(0o755)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""retain_freed_memory: freed activations are reused without page faults.

The setting is process-wide and permanent, so each check runs in a fresh
interpreter."""
import os
import subprocess
import sys
import textwrap

import pytest

from mmlwgan.utils.allocator import glibc_malloc_tunable

SCRIPT = textwrap.dedent('''
    import resource, sys
    import torch
    from mmlwgan.utils import freed_memory_retained, retain_freed_memory
    mode = sys.argv[1]
    ok = retain_freed_memory(None if mode == 'env' else mode == 'on')
    assert ok == freed_memory_retained()
    def churn():
        for _ in range(8):  # an activation of 64 MiB, made and freed
            x = torch.empty(16 * 2**20)
            x.fill_(1.0)
            del x
    churn()  # the first time pays anyway
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    churn()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    print(int(ok), faults)
''')


def run(mode, **env):
    out = subprocess.run([sys.executable, '-c', SCRIPT, mode],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, **env))
    ok, faults = out.stdout.split()
    return ok == '1', int(faults)


@pytest.mark.skipif(not glibc_malloc_tunable(),
                    reason='glibc malloc only (not musl / macOS / a '
                    'preloaded allocator)')
def test_retained_memory_is_reused_without_page_faults():
    ok_off, faults_off = run('off')
    ok_on, faults_on = run('on')
    assert not ok_off and ok_on
    # 8 x 64 MiB = 131072 pages freshly mapped each time without it
    assert faults_off > 8 * 16384 * 0.9
    # with it the freed blocks are reused: no new pages, but for the rare
    # time an aligned block lands past the heap's old top (seen 1 in 12)
    assert faults_on <= 2 * 16384 + 1024


@pytest.mark.skipif(not glibc_malloc_tunable(), reason='glibc malloc only')
def test_environment_turns_it_off():
    ok, faults = run('env', MMLWGAN_RETAIN_FREED_MEMORY='0')
    assert not ok
    ok, _ = run('env', MMLWGAN_RETAIN_FREED_MEMORY='1')
    assert ok


INFERENCER_SCRIPT = textwrap.dedent('''
    import sys
    from mmlwgan.apis import MotionImitationInferencer
    from mmlwgan.utils import freed_memory_retained
    kwargs = {} if sys.argv[1] == 'default' else dict(
        retain_freed_memory=sys.argv[1] == 'on')
    MotionImitationInferencer(
        'configs/lwgan/lwgan_lwb-tiny_1xb4-300i_synthetic-64.py',
        device='cpu', show_progress=False, **kwargs)
    print(int(freed_memory_retained()))
''')


@pytest.mark.skipif(not glibc_malloc_tunable(),
                    reason='glibc malloc only (not musl / macOS / a '
                    'preloaded allocator)')
def test_inferencer_option_sets_the_allocator(tmp_path):
    """The allocator setting is the inferencer's documented option: on by
    default on the CPU, off with ``retain_freed_memory=False``."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    env = dict(os.environ, HOME=str(tmp_path))  # body cache in tmp
    env.pop('MMLWGAN_RETAIN_FREED_MEMORY', None)
    seen = {}
    for mode in ('default', 'off', 'on'):
        out = subprocess.run([sys.executable, '-c', INFERENCER_SCRIPT, mode],
                             capture_output=True, text=True, cwd=root,
                             env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        seen[mode] = out.stdout.split()[-1]
    assert seen == {'default': '1', 'off': '0', 'on': '1'}

# Copyright (c) mmlwgan contributors. All rights reserved.
"""No import cycle between ``mmlwgan.utils`` and ``mmlwgan.models``.

``mmlwgan.models.body.hmr`` (and the other models) use utilities;
``mmlwgan.utils.register_all_modules`` imports ``mmlwgan.models``. The
package ``mmlwgan.utils`` must therefore load no other mmlwgan package when
imported (``register_all_modules`` imports them when called), so that the
three import in any order, each in a fresh interpreter."""
import ast
import glob
import os.path as osp
import subprocess
import sys
import textwrap

import pytest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

CHECK = textwrap.dedent('''
    import importlib
    import sys

    order = sys.argv[1:]
    for name in order:
        importlib.import_module(name)
        if name == 'mmlwgan.utils' and order[0] == name:
            # the bottom layer: nothing of mmlwgan but the package itself
            # and mmlwgan.utils.*
            other = sorted(
                m for m in sys.modules if m.startswith('mmlwgan.')
                and not m.startswith('mmlwgan.utils')
                and m != 'mmlwgan.version')
            assert not other, other
    # every module complete, whatever the order
    import mmlwgan.models
    import mmlwgan.models.body.hmr as hmr
    import mmlwgan.utils as utils
    from mmlwgan.utils.logging import print_once_warning
    assert hmr.HMR is mmlwgan.models.HMR
    assert hmr.print_once_warning is print_once_warning
    assert callable(utils.register_all_modules)
    from mmlwgan.registry import MODELS
    utils.register_all_modules(init_default_scope=False)
    assert MODELS.get('HMR') is hmr.HMR
    print('ok')
''')

ORDERS = [
    ('mmlwgan.utils', 'mmlwgan.models.body.hmr', 'mmlwgan.models'),
    ('mmlwgan.models.body.hmr', 'mmlwgan.utils', 'mmlwgan.models'),
    ('mmlwgan.models', 'mmlwgan.models.body.hmr', 'mmlwgan.utils'),
    ('mmlwgan.utils.setup_env', 'mmlwgan.models.body.hmr'),
]


@pytest.mark.parametrize('order', ORDERS, ids=lambda o: ' > '.join(o))
def test_import_orders_in_a_fresh_interpreter(order):
    proc = subprocess.run([sys.executable, '-c', CHECK, *order], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith('ok')


def _module_level_imports(path):
    """Absolute names imported by the top-level statements of ``path``
    (relative imports resolved against ``mmlwgan.utils``)."""
    tree = ast.parse(open(path, encoding='utf-8').read(), path)
    names = []
    for node in tree.body:  # module level only: not inside functions
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = 'mmlwgan.utils'.rsplit('.', node.level - 1)[0]
                names.append(f'{base}.{node.module}' if node.module else base)
            else:
                names.append(node.module)
    return names


def test_utils_imports_no_other_mmlwgan_package_at_module_level():
    files = glob.glob(osp.join(ROOT, 'mmlwgan', 'utils', '*.py'))
    assert files
    for path in files:
        for name in _module_level_imports(path):
            if name == 'mmlwgan' or name.startswith('mmlwgan.'):
                assert name.startswith('mmlwgan.utils'), (path, name)


def test_models_import_utility_modules_not_the_utils_package():
    """``from mmlwgan.utils import x`` in a model would make
    ``mmlwgan.models`` depend on the package that re-exports
    ``register_all_modules`` (which imports ``mmlwgan.models``)."""
    for path in glob.glob(osp.join(ROOT, 'mmlwgan', 'models', '**', '*.py'),
                          recursive=True):
        tree = ast.parse(open(path, encoding='utf-8').read(), path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and not node.level:
                assert node.module != 'mmlwgan.utils', (path, node.lineno)
            elif isinstance(node, ast.Import):
                assert all(a.name != 'mmlwgan.utils' for a in node.names), (
                    path, node.lineno)

# Copyright (c) mmlwgan contributors. All rights reserved.
"""``tools/analysis_tools/mutation_test.py`` still fits the tree.

Only fast checks: every planted bug's snippet is still in its file exactly
once (a refactor that moves the code must update the mutation), every test
it names exists, and the command line lists them. Running the mutations
(pytest in pytest) is the script's job, not the suite's.
"""
import ast
import importlib.util
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'mutation_test.py')


@pytest.fixture(scope='module')
def mt():
    spec = importlib.util.spec_from_file_location('mmlwgan_mutation_test',
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_snippet_occurs_exactly_once(mt):
    assert mt.snippet_problems(ROOT) == {}


def test_mutations_are_well_formed(mt):
    names = [m.name for m in mt.MUTATIONS]
    assert len(names) == len(set(names)) >= 12
    assert {m.kind for m in mt.MUTATIONS} == {
        'geometry', 'generator', 'losses', 'data', 'inference'}
    for m in mt.MUTATIONS:
        assert m.original != m.replacement, m.name
        assert m.tests and m.why, m.name
        assert osp.isfile(osp.join(ROOT, m.file)), m.name


def test_named_tests_exist(mt):
    """Each node id is a test file, or a file and one of its test
    functions."""
    for m in mt.MUTATIONS:
        for node in m.tests:
            path, _, func = node.partition('::')
            assert osp.isfile(osp.join(ROOT, path)), (m.name, node)
            if func:
                with open(osp.join(ROOT, path)) as f:
                    tree = ast.parse(f.read())
                defined = {n.name for n in tree.body
                           if isinstance(n, ast.FunctionDef)}
                assert func in defined, (m.name, node)


def test_snippet_problems_are_reported(mt, tmp_path):
    (tmp_path / 'a.py').write_text('x = 1\nx = 1\n')
    (tmp_path / 'b.py').write_text('y = 2\n')
    muts = [
        mt.Mutation('twice', 'data', 'a.py', 'x = 1', 'x = 2', ('t', ), 'w'),
        mt.Mutation('gone', 'data', 'b.py', 'z = 3', 'z = 4', ('t', ), 'w'),
        mt.Mutation('nofile', 'data', 'c.py', 'z', 'y', ('t', ), 'w'),
        mt.Mutation('fine', 'data', 'b.py', 'y = 2', 'y = 3', ('t', ), 'w'),
    ]
    problems = mt.snippet_problems(str(tmp_path), muts)
    assert set(problems) == {'twice', 'gone', 'nofile'}
    assert 'found 2 times' in problems['twice']
    assert 'found 0 times' in problems['gone']
    assert 'does not exist' in problems['nofile']


def test_list_and_only(mt, capsys):
    assert mt.main(['--list']) == 0
    out = capsys.readouterr().out
    assert out.startswith('| mutation | kind | file | tests | bug |')
    for m in mt.MUTATIONS:
        assert f'| {m.name} |' in out
    first, second = mt.MUTATIONS[0].name, mt.MUTATIONS[1].name
    assert mt.main(['--list', '--only', f'{second},{first}']) == 0
    lines = capsys.readouterr().out.splitlines()[2:]
    assert [line.split(' | ')[0][2:] for line in lines] == [second, first]
    with pytest.raises(SystemExit, match='unknown mutation'):
        mt.main(['--list', '--only', 'no-such-mutation'])


def test_union_of_tests_keeps_each_selection_once(mt):
    muts = [
        mt.Mutation('a', 'data', 'f', 'o', 'r', ('t/x.py::test_a',
                                                 't/y.py'), 'w'),
        mt.Mutation('b', 'data', 'f', 'o', 'r', ('t/x.py::test_a',
                                                 't/y.py::test_b'), 'w'),
    ]
    assert mt.union_of_tests(muts) == ['t/x.py::test_a', 't/y.py']


def test_copy_holds_the_project_and_the_probe(mt, tmp_path):
    mt.make_copy(str(tmp_path))
    for item in mt.COPY_ITEMS:
        assert osp.exists(tmp_path / item), item
    assert (tmp_path / (mt.PROBE_MODULE + '.py')).is_file()
    assert not list(tmp_path.rglob('__pycache__'))
    # the copy's modules are the tree's
    m = mt.MUTATIONS[0]
    assert (tmp_path / m.file).read_text() == open(osp.join(ROOT,
                                                            m.file)).read()

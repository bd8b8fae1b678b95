"""tools/benchmark.py --protocol fmnist-lowdata end to end on a generated
Fashion-MNIST (a smaller validation split than the protocol's): the teacher
trained once and cached with its sha256, tuning runs on the validation
split only, the final command testing those runs once without retraining,
REFILLED's stages sharing the student epochs, and the paired statistics in
the report."""
import glob
import json
import os
import os.path as osp

import pytest

from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import run_inprocess

METHODS = ['student alone', 'KD', 'REFILLED']


def run(tool, tmp, *extra):
    """tools/benchmark.py --protocol ...: ``tool`` is conftest's (a
    subprocess) or :func:`tests.train_utils.run_inprocess`."""
    root = osp.join(tmp, 'fmnist')
    if not osp.isdir(root):
        make_fashion_mnist(root, num_train=96, num_test=32)
    return tool('benchmark.py', '--protocol', 'fmnist-lowdata',
                '--methods', *METHODS, '--seeds', 0, 1, '--train-size', 32,
                '--epochs', 2, '--val-size', 32, '--data-root', root,
                '--work-dir', osp.join(tmp, 'work'), *extra)


@pytest.fixture(scope='module')
def tuned(tmp_path_factory, tool):
    tmp = str(tmp_path_factory.mktemp('protocol'))
    proc = run(tool, tmp, '--no-test')
    return dict(tmp=tmp, out=proc.stdout + proc.stderr)


def results(tmp):
    out = {}
    for path in glob.glob(osp.join(tmp, 'work', 'fmnist-lowdata', '*',
                                   'seed*', 'result.json')):
        with open(path) as f:
            out[path] = json.load(f)
    return out


def test_tuning_uses_the_validation_split_only(tuned):
    found = results(tuned['tmp'])
    assert len(found) == len(METHODS) * 2
    for result in found.values():
        assert result['val_top1'] is not None
        assert result['test_top1'] is None  # the test set is not touched
    refilled = [r for r in found.values() if r['name'] == 'REFILLED']
    assert all(r['stage_epochs'] == [1, 1] for r in refilled)
    (teacher, ) = glob.glob(osp.join(tuned['tmp'], 'work', 'fmnist-lowdata',
                                     'teachers', '*', 'teacher.json'))
    with open(teacher) as f:
        info = json.load(f)
    assert len(info['sha256']) == 64 and osp.isfile(info['checkpoint'])
    (report, ) = glob.glob(osp.join(tuned['tmp'], 'work', 'fmnist-lowdata',
                                    'validation-*.md'))
    text = open(report).read()
    assert 'val top-1' in text and 'test top-1' not in text
    assert 'vs student alone [95% CI]' in text and 'vs KD [95% CI]' in text


def test_final_command_tests_the_tuned_runs_once(tuned):
    before = {p: r['seconds'] for p, r in results(tuned['tmp']).items()}
    # The fixture ran the CLI in a subprocess; the later commands run it
    # in this process (no interpreter start).
    proc = run(run_inprocess, tuned['tmp'])
    out = proc.stdout + proc.stderr
    assert 'teacher main: training' not in out  # cached
    assert out.count(': tested, val') == len(before)
    after = results(tuned['tmp'])
    for path, result in after.items():
        assert result['test_top1'] is not None
        assert result['seconds'] >= before[path]  # not retrained
    (report, ) = glob.glob(osp.join(tuned['tmp'], 'work', 'fmnist-lowdata',
                                    'results-*.md'))
    text = open(report).read()
    assert 'test top-1' in text and 'Teacher main' in text
    # The main tables' rows: each method once per split (the ablation table
    # of KD and REFILLED repeats it as a step).
    section, rows = None, []
    for line in text.splitlines():
        if line and not line.startswith('|'):
            section = line
        elif line.startswith('| REFILLED |'):
            rows.append(section)
    assert [s for s in rows if s.startswith('All ten classes')] == [
        'All ten classes, val:', 'All ten classes, test:']
    # A third call changes nothing.
    mtimes = {p: os.stat(p).st_mtime_ns for p in after}
    run(run_inprocess, tuned['tmp'])
    assert {p: os.stat(p).st_mtime_ns for p in after} == mtimes
    # --report-only collects the finished runs of a larger selection.
    proc = run(run_inprocess, tuned['tmp'], '--report-only', '--seeds', 0,
               1, 2)
    assert {p: os.stat(p).st_mtime_ns for p in after} == mtimes
    assert '| KD | ' in proc.stdout and ': trained' not in proc.stdout

"""tools/benchmark.py --protocol fmnist-lowdata end to end on a generated
Fashion-MNIST (a smaller validation split than the protocol's): the teacher
trained once and cached with its sha256, tuning runs on the validation
split only, the final command testing those runs once without retraining,
REFILLED's stages sharing the student epochs, and the paired statistics in
the report."""
import functools
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


def found_machine():
    from tools.benchmarks.protocol import machine
    return dict(machine(), threads=1)  # the protocol's runs: one thread


def test_tuning_uses_the_validation_split_only(tuned):
    found = results(tuned['tmp'])
    assert len(found) == len(METHODS) * 2
    for result in found.values():
        assert result['val_top1'] is not None
        assert result['test_top1'] is None  # the test set is not touched
        assert result['machine'] == found_machine()
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
    assert f'Trained on: {found_machine()["cpu"]}, torch ' in text
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


def test_a_given_teacher_replaces_training_it(tuned, tmp_path):
    """--teacher-ckpt: a teacher trained elsewhere (here the cached one,
    exported weights-only as the quick start's committed copy was) is used
    as it is, and its own sha256 keys the students' runs."""
    from tools.benchmarks.protocol import export_weights
    (record, ) = glob.glob(osp.join(tuned['tmp'], 'work', 'fmnist-lowdata',
                                    'teachers', '*', 'teacher.json'))
    with open(record) as f:
        info = json.load(f)
    given = str(tmp_path / 'teacher.pth')
    digest = export_weights(info['checkpoint'], given, config=info['config'],
                            val_top1=info['val_top1'],
                            test_top1=info['test_top1'])
    work = str(tmp_path / 'work')
    proc = run(run_inprocess, tuned['tmp'], '--methods', 'KD', '--seeds', 0,
               '--no-test', '--work-dir', work, '--teacher-ckpt', given)
    out = proc.stdout + proc.stderr
    assert 'teacher main: training' not in out
    assert not osp.exists(osp.join(work, 'fmnist-lowdata', 'teachers'))
    assert (f'given by --teacher-ckpt): val {info["val_top1"]:.2f}, test '
            f'{info["test_top1"]:.2f}, sha256 {digest[:16]}') in out
    (done, ) = glob.glob(osp.join(work, 'fmnist-lowdata', 'kd-*', 'seed0',
                                  'result.json'))
    # The same weights teach the same student: the run equals the cached
    # teacher's run of seed 0 (CPU training is deterministic per seed).
    ((_, cached), ) = [(p, r) for p, r in results(tuned['tmp']).items()
                       if r['name'] == 'KD' and r['seed'] == 0]
    with open(done) as f:
        assert json.load(f)['val_top1'] == cached['val_top1']


def test_a_given_teacher_of_another_config_is_refused(tuned, tmp_path):
    from tools.benchmarks.protocol import export_weights
    (record, ) = glob.glob(osp.join(tuned['tmp'], 'work', 'fmnist-lowdata',
                                    'teachers', '*', 'teacher.json'))
    with open(record) as f:
        checkpoint = json.load(f)['checkpoint']
    other = str(tmp_path / 'other.pth')
    export_weights(checkpoint, other,
                   config='configs/quickstart/teacher_wrn-16-2_fmnist.py')
    for path, expected in (
            (other, "its meta.config is 'configs/quickstart/teacher_wrn-"
             "16-2_fmnist.py', not the protocol's teacher 'configs/"
             "fmnist_lowdata/teacher_wrn-16-2_1xb128_fmnist-lowdata.py'"),
            (str(tmp_path / 'missing.pth'), 'no such file')):
        proc = run(functools.partial(run_inprocess, check=False),
                   tuned['tmp'], '--methods', 'KD', '--seeds', 0,
                   '--no-test', '--work-dir', str(tmp_path / 'work'),
                   '--teacher-ckpt', path)
        assert proc.returncode == 1 and f'--teacher-ckpt {path}: ' \
            f'{expected}' in proc.stderr
    assert not glob.glob(str(tmp_path / 'work' / 'fmnist-lowdata' / 'kd-*'))

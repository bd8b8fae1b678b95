"""tools/benchmark.py on a generated Fashion-MNIST: methods x seeds, the
table and plot, finished runs skipped, an interrupted run resumed to the
same result as the uninterrupted one."""
import glob
import json
import os
import os.path as osp

import pytest

from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import run_inprocess


@pytest.fixture(scope='module')
def bench(tmp_path_factory, tool):
    tmp = tmp_path_factory.mktemp('bench')
    root = make_fashion_mnist(str(tmp / 'fmnist'), num_train=64,
                              num_test=32)
    args = ['--methods', 'alone', 'KD', '--seeds', 0, 1, '--train-size', 64,
            '--test-size', 32, '--epochs', 2, '--data-root', root,
            '--work-dir', tmp / 'work', '--cfg-options',
            'train_dataloader.batch_size=16']
    proc = tool('benchmark.py', *args)
    folders = glob.glob(str(tmp / 'work' / 'fashion-mnist-*'))
    assert len(folders) == 1
    return dict(args=args, out=proc.stdout + proc.stderr, dir=folders[0])


def _result(path):
    with open(path) as f:
        return json.load(f)


def test_table_plot_and_progress(bench):
    folder = bench['dir']
    table = open(osp.join(folder, 'results.md')).read()
    assert 'first 64 training images, first 32 test images, 2 epochs' in \
        table
    rows = [line for line in table.splitlines()
            if line.startswith('| ') and 'method' not in line and
            not line.startswith('| ---')]
    assert [r.split(' | ')[0] for r in rows] == [
        '| student alone (resnet8) (baseline)', '| KD (baseline)']
    summary = _result(osp.join(folder, 'results.json'))
    for row in summary['rows']:
        top1 = [r['top1'] for r in row['runs']]
        assert len(top1) == 2
        assert row['mean'] == pytest.approx(sum(top1) / 2)
        assert row['std'] == pytest.approx(abs(top1[0] - top1[1]) / 2 ** .5)
        assert f'{row["mean"]:.2f} +- {row["std"]:.2f}' in table
    assert osp.getsize(osp.join(folder, 'results.png')) > 1000
    assert '4/4' in bench['out']  # MMEngine's ProgressBar
    assert osp.isfile(osp.join(folder, 'teacher', 'result.json'))


def test_finished_runs_are_skipped(bench):
    paths = glob.glob(osp.join(bench['dir'], '*', 'seed*', 'result.json'))
    assert len(paths) == 4
    mtimes = {p: os.stat(p).st_mtime_ns for p in paths}
    # The fixture ran the CLI in a subprocess; the reruns run it in this
    # process (no interpreter start).
    out = run_inprocess('benchmark.py', *bench['args'])
    assert '4 of 4 runs are finished already: skipped' in out.stdout
    assert {p: os.stat(p).st_mtime_ns for p in paths} == mtimes


def test_interrupted_run_resumes(bench):
    run_dir = osp.join(bench['dir'], 'kd', 'seed1')
    before = _result(osp.join(run_dir, 'result.json'))
    # As if stopped after epoch 1: no result, the last checkpoint epoch 1.
    os.remove(osp.join(run_dir, 'result.json'))
    os.remove(osp.join(run_dir, 'epoch_2.pth'))
    with open(osp.join(run_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(run_dir, 'epoch_1.pth'))
    out = run_inprocess('benchmark.py', *bench['args'])
    assert 'KD seed 1: resumed' in out.stdout
    assert '3 of 4 runs are finished already' in out.stdout
    after = _result(osp.join(run_dir, 'result.json'))
    assert after['top1'] == before['top1']
    assert osp.isfile(osp.join(run_dir, 'epoch_2.pth'))


def test_bad_arguments():
    proc = run_inprocess('benchmark.py', '--dataset', 'cifar100',
                         check=False)
    assert proc.returncode != 0 and '--config' in proc.stderr
    proc = run_inprocess('benchmark.py', '--methods', 'nosuchmethod',
                         check=False)
    assert proc.returncode != 0 and 'no row matches' in proc.stderr

"""One run per work dir (issue 19): a second run that would write into a
work dir in use is refused at start, naming the other run's PID and the
fix; a lock left by a killed run does not block the next one."""
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest

from relkd_mm.runner.work_dir_lock import (LOCK_NAME, WorkDirInUseError,
                                           work_dir_lock)
from relkd_mm.utils.staged_run import StageConfigs, StagedRun
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, STUDENT, fmnist_options, log_text, train
from tools.benchmarks.quick_runs import RUNS, config_paths

#: Holds the lock in another process, as a running training does; the
#: module is loaded by its path (standard library only), so the holder is
#: up in a fraction of a second.
HOLDER = """
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location('lock', sys.argv[1])
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)
with lock.work_dir_lock(sys.argv[2]):
    print('locked', flush=True)
    time.sleep(600)
"""


@pytest.fixture
def holder(tmp_path):
    """Start a process holding ``tmp_path/work``; yields (work, process)."""
    work = tmp_path / 'work'
    proc = subprocess.Popen(
        [sys.executable, '-c', HOLDER,
         osp.join(REPO, 'relkd_mm', 'runner', 'work_dir_lock.py'),
         str(work)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == 'locked'
        yield work, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=16, num_test=8)


def test_second_run_in_a_work_dir_in_use_is_refused(holder, fmnist):
    work, proc = holder
    with pytest.raises(WorkDirInUseError) as info:
        train(STUDENT, work, options=fmnist_options(fmnist))
    msg = str(info.value)
    assert f'PID {proc.pid}' in msg and str(work) in msg
    assert '--work-dir' in msg and f'kill {proc.pid}' in msg
    # Refused before the runner wrote anything: no log, no checkpoint.
    assert log_text(work) == ''
    assert not (work / 'epoch_1.pth').exists()
    # The multi-stage runner (train_refilled.py, benchmark, protocol).
    alone = next(m for m in RUNS if 'alone' in m.name)
    with pytest.raises(WorkDirInUseError, match=f'PID {proc.pid}'):
        StagedRun('alone', StageConfigs(
            config_paths(alone),
            {'train_dataloader.dataset.data_root': fmnist}), str(work)).train()


def test_lock_of_a_killed_run_does_not_block(holder, fmnist):
    work, proc = holder
    os.kill(proc.pid, signal.SIGKILL)  # as the OOM killer would
    proc.wait()
    assert (work / LOCK_NAME).read_text().startswith(f'pid={proc.pid}')
    train(STUDENT, work, options=fmnist_options(fmnist))
    assert (work / 'epoch_1.pth').is_file()
    # Released at the end of the run: the next one (a resume) starts.
    train(STUDENT, work, '--resume', options=fmnist_options(fmnist, 2))
    assert 'resumed epoch: 1' in log_text(work)


def test_lock_is_released_when_the_run_fails(tmp_path):
    work = tmp_path / 'work'
    with pytest.raises(ZeroDivisionError):
        with work_dir_lock(work):
            1 / 0
    with work_dir_lock(work):  # not held any more
        pass


def test_only_rank_zero_takes_the_lock(tmp_path, monkeypatch):
    """The processes of one DDP run share their work dir."""
    work = tmp_path / 'work'
    with work_dir_lock(work):
        monkeypatch.setenv('RANK', '1')
        with work_dir_lock(work):
            pass

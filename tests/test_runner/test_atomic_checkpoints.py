"""Checkpoints survive a kill during the save and a full disk: the old
checkpoint is deleted only after the new one and ``last_checkpoint`` are
complete, nothing partial is ever picked by ``--resume``, and a damaged
latest checkpoint names itself and the newest intact one."""
import errno
import io
import logging
import os
import os.path as osp
import shutil

import pytest
import torch

from relkd_mm.runner import checkpoint as relkd_checkpoint
from relkd_mm.runner.checkpoint import (CheckpointWriteError,
                                        CorruptCheckpointError,
                                        load_checkpoint_file)
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import STUDENT, fmnist_options, log_text, train

KEEP_ONE = 'default_hooks.checkpoint.max_keep_ckpts=1'


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


@pytest.fixture(scope='module')
def two_epochs(fmnist, tmp_path_factory):
    """A work dir with epoch_1.pth and epoch_2.pth (copied per test)."""
    work = tmp_path_factory.mktemp('two_epochs') / 'work'
    train(STUDENT, work, options=fmnist_options(fmnist, epochs=2))
    return work


@pytest.fixture
def work(two_epochs, tmp_path):
    copy = tmp_path / 'work'
    shutil.copytree(two_epochs, copy)
    # last_checkpoint holds absolute paths: point it at the copy.
    (copy / 'last_checkpoint').write_text(str(copy / 'epoch_2.pth'))
    return copy


class _Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs in the process."""


def test_kill_during_the_save_keeps_the_previous_checkpoint(
        fmnist, tmp_path, monkeypatch):
    work = tmp_path / 'work'
    train(STUDENT, work, options=fmnist_options(fmnist, 1) + [KEEP_ONE])
    save = torch.save

    def killed_mid_write(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        save(obj, buffer)
        data = buffer.getvalue()
        f.write(data[:len(data) // 2])
        raise _Killed

    monkeypatch.setattr(torch, 'save', killed_mid_write)
    with pytest.raises(_Killed):
        train(STUDENT, work, '--resume',
              options=fmnist_options(fmnist, 2) + [KEEP_ONE])
    monkeypatch.undo()
    # What a real kill leaves besides: the half-written temporary file.
    (work / '.epoch_2.pth.tmp-4242').write_bytes(b'PK\x03\x04' + b'x' * 99)
    assert not (work / 'epoch_2.pth').exists()
    assert (work / 'last_checkpoint').read_text() == str(work /
                                                         'epoch_1.pth')
    assert load_checkpoint_file(str(work / 'epoch_1.pth'))['meta'][
        'epoch'] == 1
    train(STUDENT, work, '--resume',
          options=fmnist_options(fmnist, 2) + [KEEP_ONE])
    assert 'resumed epoch: 1' in log_text(work)
    # max_keep_ckpts=1: the old one goes once the new one is complete.
    assert sorted(p.name for p in work.glob('*.pth')) == ['epoch_2.pth']


@pytest.mark.parametrize('damage', ['truncated', 'empty'])
def test_damaged_latest_checkpoint(work, fmnist, damage):
    latest = work / 'epoch_2.pth'
    data = latest.read_bytes()
    latest.write_bytes(data[:len(data) // 2] if damage == 'truncated'
                       else b'')
    # Named explicitly: an error naming it and the intact one.
    with pytest.raises(CorruptCheckpointError) as info:
        train(STUDENT, work, '--resume', latest,
              options=fmnist_options(fmnist, 3))
    msg = str(info.value)
    assert str(latest) in msg and damage in msg
    assert f'--resume {work / "epoch_1.pth"}' in msg
    # Plain --resume: falls back to the intact one, saying so.
    train(STUDENT, work, '--resume', options=fmnist_options(fmnist, 3))
    log = log_text(work)
    assert f'names {str(latest)!r}, which is {damage}' in log
    assert f'newest intact checkpoint {work / "epoch_1.pth"}' in log
    assert 'resumed epoch: 1' in log


def test_empty_last_checkpoint_falls_back_to_the_newest_intact(work,
                                                               fmnist):
    (work / 'last_checkpoint').write_text('')
    train(STUDENT, work, '--resume', options=fmnist_options(fmnist, 3))
    log = log_text(work)
    assert 'last_checkpoint is empty' in log
    assert f'newest intact checkpoint {work / "epoch_2.pth"}' in log
    assert 'resumed epoch: 2' in log


def test_nothing_intact_to_resume_from(tmp_path, fmnist):
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'epoch_1.pth').write_bytes(b'')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_1.pth'))
    with pytest.raises(CorruptCheckpointError,
                       match='is empty.*holds no intact checkpoint.*without '
                       '--resume'):
        train(STUDENT, work, '--resume', options=fmnist_options(fmnist))


class _SmallDisk(io.RawIOBase):
    """A file on a disk with ``room`` bytes left."""

    def __init__(self, path, room):
        self.file = open(path, 'wb')
        self.room = room

    def writable(self):
        return True

    def write(self, data):
        if len(data) > self.room:
            self.file.write(bytes(data[:self.room]))
            self.room = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.file.write(data)

    def fileno(self):
        return self.file.fileno()

    def close(self):
        self.file.close()
        super().close()


def test_full_disk_names_the_work_dir_and_leaves_nothing_partial(
        fmnist, tmp_path, monkeypatch):
    work = tmp_path / 'work'
    train(STUDENT, work, options=fmnist_options(fmnist, 1) + [KEEP_ONE])

    def full(path, mode='r', *args, **kwargs):
        if 'w' in mode and '.pth' in os.path.basename(str(path)):
            return _SmallDisk(path, room=1000)
        return open(path, mode, *args, **kwargs)

    # relkd_mm's atomic writer, and MMEngine's LocalBackend.put before it.
    monkeypatch.setattr(relkd_checkpoint, '_open_for_write',
                        lambda path: full(path, 'wb'), raising=False)
    import mmengine.fileio.backends.local_backend as local_backend
    monkeypatch.setattr(local_backend, 'open', full, raising=False)
    with pytest.raises(CheckpointWriteError) as info:
        train(STUDENT, work, '--resume',
              options=fmnist_options(fmnist, 2) + [KEEP_ONE])
    monkeypatch.undo()
    msg = str(info.value)
    assert f'in the work dir {work}' in msg and 'No space left' in msg
    assert info.value.errno == errno.ENOSPC
    # (.relkd_mm_run.lock: the work dir's lock, relkd_mm/runner/
    # work_dir_lock.py; emptied when the run ends)
    assert sorted(p.name for p in work.iterdir() if p.is_file() and
                  p.name != '.relkd_mm_run.lock') == [
        'epoch_1.pth', 'last_checkpoint', 'student_resnet8_fmnist.py']
    assert (work / 'last_checkpoint').read_text() == str(work /
                                                         'epoch_1.pth')
    train(STUDENT, work, '--resume', options=fmnist_options(fmnist, 2))
    assert 'resumed epoch: 1' in log_text(work)


def test_staged_run_starts_a_stage_over_when_nothing_is_intact(
        work, tmp_path, monkeypatch):
    """A cached benchmark (StagedRun.train(resume=True)) whose stage was
    killed during a save with nothing intact left trains that stage from
    its start instead of stopping the whole benchmark; an intact earlier
    stage still hands over its checkpoint."""
    from relkd_mm.utils import staged_run
    from relkd_mm.utils.staged_run import StageConfigs, StagedRun
    logged = []
    monkeypatch.setattr(staged_run, 'print_log',
                        lambda msg, **kw: logged.append((msg, kw['level'])))
    run_dir = tmp_path / 'run'
    run = StagedRun('REFILLED', StageConfigs(['s1.py', 's2.py']),
                    str(run_dir))
    stage1, stage2 = (run_dir / 'stage1', run_dir / 'stage2')
    shutil.copytree(work, stage1)
    (stage1 / 'last_checkpoint').write_text(str(stage1 / 'epoch_2.pth'))
    stage2.mkdir()
    # What a kill left before the protocol used AtomicCheckpointHook.
    (stage2 / 'last_checkpoint').write_text(str(stage2 / 'epoch_5.pth'))
    assert run._start(1, resume=True) == dict(
        load_from=str(stage1 / 'epoch_2.pth'))
    (msg, level), = logged
    assert level == logging.WARNING
    assert f'{stage2} holds no intact checkpoint to resume from' in msg
    assert 'the stage trains from its start' in msg
    # An intact stage resumes from its own checkpoint, as before.
    assert run._start(0, resume=True) == dict(
        resume=True, load_from=str(stage1 / 'epoch_2.pth'))


def test_protocol_runs_save_atomically():
    from mmengine.config import Config

    from tools.benchmarks import protocol
    cfg = Config.fromfile(osp.join(
        protocol.CFG_DIR, 'kd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py'))
    protocol.protocol_cfg_hook(100, None)(cfg, False)
    hook = cfg.default_hooks['checkpoint']
    assert hook['type'] == 'mmrazor.AtomicCheckpointHook'
    assert hook['max_keep_ckpts'] == 1

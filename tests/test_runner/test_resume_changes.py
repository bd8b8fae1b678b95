"""A resume whose config changes the schedule or the optimizer type is
refused before the first step, naming what differs and what to do
(MMEngine kept the checkpoint's schedule silently, or failed inside torch
with ``KeyError: 'step'``)."""
import os.path as osp

import pytest

from relkd_mm.compat import ResumeConfigError
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, STUDENT, fmnist_options, log_text, train


@pytest.fixture(scope='module')
def one_epoch(tmp_path_factory):
    root = make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)
    work = tmp_path_factory.mktemp('run') / 'work'
    train(STUDENT, work, options=fmnist_options(root, epochs=1, t_max=1))
    return root, work


def test_longer_schedule_on_resume_is_refused(one_epoch):
    root, work = one_epoch
    ckpt = str(work / 'epoch_1.pth')
    with pytest.raises(ResumeConfigError) as info:
        train(STUDENT, work, '--resume', ckpt,
              options=fmnist_options(root, epochs=3, t_max=3))  # T_max 1 -> 3
    msg = str(info.value)
    # 2 iterations per epoch: T_max 2 -> 6 iterations.
    assert 'param_scheduler[0] (CosineAnnealingLR)' in msg
    assert 'T_max: 2 in the checkpoint, 6 in the config' in msg
    assert 'iterations' in msg
    assert f'load_from={ckpt}' in msg and 'no --resume' in msg
    assert 'Epoch(train) [2]' not in log_text(work)


def test_longer_training_on_the_same_schedule_goes_on(one_epoch, tmp_path):
    """max_epochs 1 -> 2 alone moves the scheduler's default end: the
    resumed run ends where an uninterrupted 2-epoch run does (MMEngine kept
    the checkpoint's end and froze the learning rate)."""
    import shutil

    from relkd_mm.runner.checkpoint import load_checkpoint_file
    root, work = one_epoch
    resumed = tmp_path / 'resumed'
    shutil.copytree(work, resumed)
    train(STUDENT, resumed, '--resume', resumed / 'epoch_1.pth',
          options=fmnist_options(root, epochs=2, t_max=1))
    assert 'now ends at step 4 as the config says' in log_text(resumed)
    straight = tmp_path / 'straight'
    train(STUDENT, straight, options=fmnist_options(root, epochs=2, t_max=1))
    a, b = (load_checkpoint_file(str(w / 'epoch_2.pth'))
            for w in (resumed, straight))
    assert a['optimizer']['param_groups'][0]['lr'] == pytest.approx(
        b['optimizer']['param_groups'][0]['lr'], rel=1e-6)
    for key in ('end', 'last_step', '_global_step'):
        assert a['param_schedulers'][0][key] == \
            b['param_schedulers'][0][key], key


def test_other_optimizer_type_on_resume_is_refused(one_epoch, tmp_path):
    root, work = one_epoch
    config = tmp_path / 'adamw.py'
    config.write_text(
        f'_base_ = [{osp.join(REPO, STUDENT)!r}]\n'
        'optim_wrapper = dict(optimizer=dict(_delete_=True, type="AdamW", '
        'lr=0.001))\n')
    with pytest.raises(ResumeConfigError) as info:
        train(config, work, '--resume', work / 'epoch_1.pth',
              options=fmnist_options(root, epochs=1, t_max=1))
    msg = str(info.value)
    assert 'the optimizer is AdamW' in msg
    assert "'betas'" in msg and "'momentum'" in msg
    assert 'another optimizer type' in msg


def test_same_config_resumes(one_epoch, tmp_path):
    import shutil
    root, work = one_epoch
    copy = tmp_path / 'work'
    shutil.copytree(work, copy)
    train(STUDENT, copy, '--resume', copy / 'epoch_1.pth',
          options=fmnist_options(root, epochs=2, t_max=1))
    assert 'resumed epoch: 1' in log_text(copy)

"""docs/trackers.md: MMEngine's TensorBoard and W&B backends receive the
distillation terms (``distill.loss_kd``) and DistillDiagnosticsHook's
diagnostics of a quick-start KD run on a generated Fashion-MNIST."""
import glob
import os.path as osp
import sys
from unittest import mock

import pytest

from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, run_inprocess

KD = osp.join(REPO, 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py')
EXPECTED = ('distill.loss_kd', 'loss', 'diag/grad.distill.loss_kd',
            'diag/ratio.distill.loss_kd', 'accuracy/top1',
            'teacher.accuracy/top1')


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


def train_kd(tmp_path, fmnist, tag, config_lines='', options=()):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        f'_base_ = [{KD!r}]\n'
        'custom_hooks = _base_.custom_hooks + '
        "[dict(type='mmrazor.DistillDiagnosticsHook', val_batches=1)]\n"
        'train_cfg = dict(max_epochs=1, val_interval=1, val_begin=1)\n'
        'model = dict(teacher_ckpt=None, allow_random_teacher=True)\n'
        + config_lines)
    work = tmp_path / 'work'
    opts = [f'{d}.dataset.data_root={fmnist}' for d in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')]
    run_inprocess('train.py', cfg, '--work-dir', work, '--cfg-options',
                  *opts, 'train_dataloader.batch_size=16',
                  'val_dataloader.batch_size=16',
                  'default_hooks.logger.interval=1', 'randomness.seed=0',
                  f'experiment_name=trackers_{tag}', *options)
    return work


def test_tensorboard_receives_distill_terms(tmp_path, fmnist):
    pytest.importorskip('tensorboard', reason='pip install -e .[tensorboard]')
    from tensorboard.backend.event_processing.event_accumulator import \
        EventAccumulator

    # The config lines of docs/trackers.md.
    work = train_kd(
        tmp_path, fmnist, 'tb',
        "visualizer = dict(vis_backends=[dict(type='LocalVisBackend'), "
        "dict(type='TensorboardVisBackend')])\n")
    (events, ) = glob.glob(str(work / '*' / 'vis_data' / 'events.out.*'))
    acc = EventAccumulator(events)
    acc.Reload()
    tags = set(acc.Tags()['scalars'])
    assert set(EXPECTED) <= tags, sorted(tags)
    assert len(acc.Scalars('distill.loss_kd')) == 2  # 32 images / 16


def test_wandb_receives_distill_terms(tmp_path, fmnist, monkeypatch):
    """With wandb installed: WANDB_MODE=disabled and ``wandb.log``
    captured; without it, a stand-in module with wandb's API (the calls
    WandbVisBackend makes are what is tested, not wandb)."""
    try:
        import wandb
        monkeypatch.setenv('WANDB_MODE', 'disabled')
        log = mock.MagicMock()
        monkeypatch.setattr(wandb, 'log', log)
    except ImportError:
        wandb = mock.MagicMock(name='wandb')
        monkeypatch.setitem(sys.modules, 'wandb', wandb)
        log = wandb.log
    # The --cfg-options form of docs/trackers.md (replaces the local one).
    train_kd(tmp_path, fmnist, 'wandb',
             options=['visualizer.vis_backends.0.type=WandbVisBackend'])
    logged = set()
    for call in log.call_args_list:
        logged.update(call.args[0])
    assert set(EXPECTED) <= logged, sorted(logged)

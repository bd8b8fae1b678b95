"""Both REFILLED stages end to end through tools/train_refilled.py
(relkd_mm.utils.staged_run.StagedRun) on generated CIFAR-100 files."""
import os.path as osp

import pytest
import torch

from tests.train_utils import run_inprocess

CFG = 'configs/refilled/refilled-{}_wrn-40-2_wrn-16-1_1xb128_cifar100.py'
TASK_CFG = ('configs/refilled/refilled-tpami-{}_wrn-40-2_wrn-16-2_1xb256_'
            'cifar100-task-k50.py')
FEAT_DIM = 'model.distiller.distill_losses.loss_refilled.feat_dim=64'
FAST = ['train_dataloader.batch_size=64', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'model.teacher_ckpt=None',
        'model.allow_random_teacher=True']


def data_options(root, nested=False):
    key = 'dataset.dataset' if nested else 'dataset'
    return [f'{loader}.{key}.data_root={root}'
            for loader in ('train_dataloader', 'val_dataloader',
                           'test_dataloader')]


@pytest.fixture
def inprocess():
    """``inprocess(*args)``: tools/train_refilled.py in this process (its
    stages run in process too, by StagedRun; the tool's CLI in a fresh
    interpreter is tested by the first run of test_two_stages_and_resume)."""

    def call(*args):
        return run_inprocess('train_refilled.py', *args)

    return call


def centers(path):
    state = torch.load(path, map_location='cpu', weights_only=False)
    prefix = 'distiller.distill_losses.loss_refilled.'
    return (state['state_dict'][prefix + 'centers'],
            bool(state['state_dict'][prefix + 'centers_ready']))


def test_two_stages_and_resume(tool, inprocess, cifar100_root, tmp_path):
    work = tmp_path / 'run'
    options = [
        *data_options(cifar100_root), *FAST, 'train_cfg.max_epochs=1',
        # A small teacher keeps the test fast: wrn_16_1, 64-d features.
        'model.teacher.cfg_path=relkd_mm::_base_/models/cifar100/wrn_16_1.py'
    ]
    proc = tool('train_refilled.py', CFG.format('s1'), CFG.format('s2'),
                '--work-dir', work, '--cfg-options', *options,
                '--stage2-options',
                'model.distiller.distill_losses.loss_refilled.feat_dim=64')
    log = proc.stdout + proc.stderr
    assert 'distill.loss_refilled' in log
    assert f'Load checkpoint from {work}/stage1/epoch_1.pth' in log
    assert 'class centers of `loss_refilled` computed from 128' in log
    assert 'accuracy/top1' in log
    first, ready = centers(work / 'stage2' / 'epoch_1.pth')
    assert ready and first.shape == (100, 64)
    torch.testing.assert_close(first.norm(dim=1), torch.ones(100))

    # Resume stage 2 for one more epoch: the centers come back from the
    # checkpoint instead of a new teacher pass.
    proc = inprocess(CFG.format('s1'), CFG.format('s2'),
                     '--work-dir', work, '--resume', '--cfg-options',
                     *options, '--stage2-options', FEAT_DIM,
                     'train_cfg.max_epochs=2')
    log = proc.stdout + proc.stderr
    assert "centers of ['loss_refilled'] restored" in log
    assert 'computed from' not in log
    second, ready = centers(work / 'stage2' / 'epoch_2.pth')
    assert ready and torch.equal(first, second)


def test_cross_task_disjoint_labels(inprocess, cifar100_root, tmp_path):
    """Teacher on task k=0, student on the disjoint task k=50: both stages
    run (the teacher's head never sees the student's labels)."""
    small = [
        'model.architecture.backbone.arch=wrn_16_1',
        'model.architecture.head.in_channels=64',
        'model.teacher.backbone.arch=wrn_16_1',
        'model.teacher.head.in_channels=64',
    ]
    work = tmp_path / 'task'
    inprocess(TASK_CFG.format('s1'), TASK_CFG.format('s2'),
              '--work-dir', work, '--cfg-options',
              *data_options(cifar100_root, nested=True), *FAST, *small,
              'train_cfg.max_epochs=1', '--stage2-options',
              'model.distiller.distill_losses.loss_refilled.feat_dim=64')
    ckpt, ready = centers(work / 'stage2' / 'epoch_1.pth')
    assert ready and ckpt.shape == (50, 64)
    assert osp.isfile(work / 'stage1' / 'epoch_1.pth')

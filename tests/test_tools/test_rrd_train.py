"""RRD+KD end to end through tools/train.py, then --resume."""
import os
import os.path as osp
import shutil

import torch

from relkd_mm.runner.checkpoint import (load_checkpoint_file,
                                        trusted_checkpoints)
from tests.train_utils import run_inprocess

CONFIG = 'configs/rrd/rrd-kd_resnet56_resnet20_1xb64_cifar100.py'
QUEUE = 200  # 128 images per epoch: the second epoch wraps around the end
LOSS = 'distiller.distill_losses.loss_rrd.'
HEADS = 'distiller.connectors.loss_rrd_'


def state_dict(path):
    with trusted_checkpoints(path):  # written by this test
        return load_checkpoint_file(path)['state_dict']


def options(data_root, epochs):
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    opts = [f'{d}.{k}={v}' for d in loaders for k, v in (
        ('dataset.data_root', data_root), ('num_workers', 0),
        ('persistent_workers', False))]
    return opts + [
        # Batches of 48, 48 and 32: sizes that do not divide the memory.
        'train_dataloader.batch_size=48',
        f'train_cfg.max_epochs={epochs}',
        f'model.distiller.distill_losses.loss_rrd.queue_size={QUEUE}',
        'model.teacher_ckpt=None', 'model.allow_random_teacher=True',
        'randomness.seed=0',
        'default_hooks.logger.interval=1',
    ]


def test_rrd_kd_train_and_resume(cifar100_root, tool, tmp_path):
    work_dir = str(tmp_path / 'rrd')
    tool('train.py', CONFIG, '--work-dir', work_dir, '--cfg-options',
         *options(cifar100_root, epochs=2))
    state1 = state_dict(osp.join(work_dir, 'epoch_1.pth'))
    state2 = state_dict(osp.join(work_dir, 'epoch_2.pth'))
    assert state1[LOSS + 'queue_ptr'].tolist() == [128]
    torch.testing.assert_close(state1[LOSS + 'queue'][:128].norm(dim=1),
                               torch.ones(128))
    # Epoch 2 wrote 128 more rows at 128..199 and 0..55; the rows in
    # between are still epoch 1's.
    assert state2[LOSS + 'queue_ptr'].tolist() == [(128 + 128) % QUEUE]
    assert torch.equal(state2[LOSS + 'queue'][56:128],
                       state1[LOSS + 'queue'][56:128])
    assert not torch.equal(state2[LOSS + 'queue'][:56],
                           state1[LOSS + 'queue'][:56])
    # The teacher's head is frozen, the student's trained.
    for key in ('linear.weight', 'linear.bias'):
        assert torch.equal(state2[HEADS + 'tfeat.' + key],
                           state1[HEADS + 'tfeat.' + key])
        assert not torch.equal(state2[HEADS + 'sfeat.' + key],
                               state1[HEADS + 'sfeat.' + key])

    # Train epoch 2 again from epoch 1's checkpoint: it continues from the
    # saved memory and ends with exactly the same one.
    resume_dir = str(tmp_path / 'rrd_resume')
    shutil.copytree(work_dir, resume_dir)
    os.remove(osp.join(resume_dir, 'epoch_2.pth'))
    # In this process (the CLI ran above).
    proc = run_inprocess('train.py', CONFIG, '--work-dir', resume_dir,
                         '--resume', osp.join(resume_dir, 'epoch_1.pth'),
                         '--cfg-options', *options(cifar100_root, epochs=2),
                         'experiment_name=rrd_kd_resume')
    assert 'resumed epoch: 1' in proc.stdout + proc.stderr
    resumed = state_dict(osp.join(resume_dir, 'epoch_2.pth'))
    for key in ('queue', 'queue_ptr'):
        assert torch.equal(resumed[LOSS + key], state2[LOSS + key]), key

"""The user path of the foundation, through tools/train.py and test.py on
generated CIFAR-100 files: train a teacher, distil a KD student from its
checkpoint, validate (student and teacher), resume, test."""
import json
import os.path as osp
import re

import pytest
import torch

from relkd_mm.runner.checkpoint import sha256
from tests.data_utils import make_cifar100


def _opts(cifar100_root, batch=16, epochs=1, extra=()):
    return ['--cfg-options',
            f'train_dataloader.dataset.data_root={cifar100_root}',
            f'val_dataloader.dataset.data_root={cifar100_root}',
            f'test_dataloader.dataset.data_root={cifar100_root}',
            f'train_dataloader.batch_size={batch}',
            'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0',
            'val_dataloader.persistent_workers=False',
            'test_dataloader.num_workers=0',
            'test_dataloader.persistent_workers=False',
            f'train_cfg.max_epochs={epochs}',
            'default_hooks.logger.interval=1',
            'randomness.seed=0', *extra]


def _scalars(work_dir):
    """Every logged line of the last run in work_dir, as dicts."""
    runs = sorted(p for p in __import__('glob').glob(
        osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    with open(runs[-1]) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def cifar100_root(tmp_path_factory):
    """Half the shared generated CIFAR-100 (64 train, 32 test images): the
    resnet32x4 teacher's forward passes are most of this module's time."""
    return make_cifar100(str(tmp_path_factory.mktemp('cifar100_small')),
                         num_train=64, num_test=32)


@pytest.fixture(scope='module')
def teacher_ckpt(tmp_path_factory, cifar100_root, tool):
    work = tmp_path_factory.mktemp('teacher')
    tool('train.py', 'configs/teachers/resnet32x4_1xb64_cifar100.py',
         '--work-dir', work, *_opts(cifar100_root))
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.isfile(ckpt)
    return ckpt


def test_kd_train_validate_resume_test(tmp_path, cifar100_root, tool,
                                       teacher_ckpt):
    cfg = 'configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py'
    work = str(tmp_path / 'kd')
    opts = _opts(cifar100_root, batch=32, epochs=2,
                 extra=[f'model.teacher_ckpt={teacher_ckpt}'])
    out = tool('train.py', cfg, '--work-dir', work, *opts)
    log = out.stdout + out.stderr
    # Validation reports the student's and the teacher's accuracy.
    assert re.search(r'accuracy/top1: \d', log)
    assert re.search(r'teacher\.accuracy/top1: \d', log)
    assert osp.isfile(osp.join(work, 'epoch_2.pth'))
    first = {(r['epoch'], r['iter']): r for r in _scalars(work)
             if 'loss' in r}

    # The teacher loaded from teacher_ckpt equals the trained one: the
    # checkpoint leaves it out (TeacherCheckpointHook does only when every
    # tensor equals the file's) and records that file.
    ckpt = torch.load(osp.join(work, 'epoch_2.pth'), weights_only=False)
    teacher = torch.load(teacher_ckpt, weights_only=False)['state_dict']
    assert not [k for k in ckpt['state_dict'] if k.startswith('teacher.')]
    assert ckpt['meta']['teacher_ckpt']['sha256'] == sha256(teacher_ckpt)
    assert ckpt['meta']['teacher_ckpt']['tensors'] == len(teacher)

    # Resume from epoch 1 and train epoch 2 again: same losses.
    resume_work = str(tmp_path / 'kd_resume')
    __import__('shutil').copytree(work, resume_work)
    out = tool('train.py', cfg, '--work-dir', resume_work, '--resume',
               osp.join(resume_work, 'epoch_1.pth'), *opts)
    assert 'resumed epoch: 1' in (out.stdout + out.stderr)
    again = {(r['epoch'], r['iter']): r for r in _scalars(resume_work)
             if 'loss' in r}
    assert again, 'no training iteration was logged after resuming'
    for key, row in again.items():
        assert row['epoch'] == 2
        assert row['loss'] == pytest.approx(first[key]['loss'], rel=1e-4)

    out = tool('test.py', cfg, osp.join(work, 'epoch_2.pth'), '--work-dir',
               str(tmp_path / 'test'), *opts)
    assert re.search(r'accuracy/top1: \d', out.stdout + out.stderr)

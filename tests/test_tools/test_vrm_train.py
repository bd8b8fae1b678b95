"""VRM end to end through tools/train.py: CIFAR-100 files with checkpoint
and resume, and the ImageNet config on a generated folder tree."""
import os.path as osp
import re

import pytest
import torch

from relkd_mm.runner.checkpoint import (load_checkpoint_file, sha256,
                                        trusted_checkpoints)
from tests.data_utils import make_cifar100
from tests.train_utils import run_inprocess

CIFAR_CFG = 'configs/vrm/vrm_resnet32x4_resnet8x4_1xb64_cifar100.py'
IMAGENET_CFG = 'configs/vrm/vrm_resnet50_mobilenetv2_8xb32_in1k.py'


def state_dict(path):
    with trusted_checkpoints(path):  # written by this test
        return load_checkpoint_file(path)['state_dict']


def loaders(**values):
    return [
        f'{d}.{k}={v}' for d in ('train_dataloader', 'val_dataloader',
                                 'test_dataloader') for k, v in values.items()
    ]


def vrm_losses(log):
    return [float(x) for x in re.findall(r'distill\.loss_vrm: ([\d.e+-]+)',
                                         log)]


@pytest.fixture(scope='module')
def small_cifar100(tmp_path_factory):
    """64 train, 32 test images (half the shared set): the resnet32x4
    teacher's forward passes on 2 x B views are most of the time."""
    return make_cifar100(str(tmp_path_factory.mktemp('cifar100_small')),
                         num_train=64, num_test=32)


def test_vrm_cifar100_train_and_resume(small_cifar100, tool, tmp_path):
    work = str(tmp_path / 'vrm')
    opts = loaders(**{
        'dataset.data_root': small_cifar100,
        'num_workers': 0,
        'persistent_workers': False
    }) + [
        'train_dataloader.batch_size=16', 'model.teacher_ckpt=None',
        'model.allow_random_teacher=True',
        'randomness.seed=0', 'default_hooks.logger.interval=1'
    ]
    out = tool('train.py', CIFAR_CFG, '--work-dir', work, '--cfg-options',
               *opts, 'train_cfg.max_epochs=1')
    log = out.stdout + out.stderr
    losses = vrm_losses(log)
    assert len(losses) == 4 and all(0 < x < 8 for x in losses)
    assert re.search(r'teacher\.accuracy/top1: \d', log)
    state1 = state_dict(osp.join(work, 'epoch_1.pth'))

    # The resume in this process (tools/train.py's CLI and --resume are
    # tested through subprocesses in test_train_e2e.py).
    out = run_inprocess('train.py', CIFAR_CFG, '--work-dir', work,
                        '--resume', osp.join(work, 'epoch_1.pth'),
                        '--cfg-options', *opts, 'train_cfg.max_epochs=2',
                        'experiment_name=vrm_cifar100_resume')
    assert 'resumed epoch: 1' in out.stdout + out.stderr
    state2 = state_dict(osp.join(work, 'epoch_2.pth'))
    teacher = [k for k in state2 if k.startswith('teacher.')]
    student = [k for k in state2 if k.startswith('architecture.')]
    assert teacher and student
    assert all(torch.equal(state1[k], state2[k]) for k in teacher
               if 'running' not in k and 'num_batches' not in k)
    assert not torch.equal(state1['architecture.head.fc.weight'],
                           state2['architecture.head.fc.weight'])


def test_r50_mbv2_imagenet_is_the_conventionally_named_config(repo_root):
    """The name the documentation first gave runs the same config."""
    from mmengine.config import Config
    alias, config = (
        Config.fromfile(osp.join(repo_root, path)).to_dict()
        for path in ('configs/vrm/r50_mbv2_imagenet.py', IMAGENET_CFG))
    assert alias == config


def test_vrm_r50_mbv2_imagenet_config(imagenet_root, tmp_path):
    """The exact ImageNet config, the teacher from a locally saved
    checkpoint (no download), on a 4-class folder tree."""
    from mmengine.hub import get_config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        teacher = MODELS.build(
            get_config('mmpretrain::resnet/resnet50_8xb32_in1k.py').model)
    ckpt = str(tmp_path / 'resnet50.pth')
    torch.save({'state_dict': teacher.state_dict()}, ckpt)

    work = str(tmp_path / 'vrm_in1k')
    classes = '[' + ','.join(f'n{c:08d}' for c in range(4)) + ']'
    out = run_inprocess(
        'train.py', IMAGENET_CFG, '--work-dir', work, '--cfg-options',
        *loaders(**{
            'dataset.data_root': imagenet_root,
            'dataset.metainfo.classes': classes,
            # Four images: one step of 4 real + 4 virtual 224 x 224 views.
            'dataset.indices': 4,
            'num_workers': 0,
            'batch_size': 4,
        }), f'model.teacher_ckpt={ckpt}', 'train_cfg.max_epochs=1',
        'default_hooks.logger.interval=1', 'experiment_name=vrm_in1k')
    log = out.stdout + out.stderr
    assert len(vrm_losses(log)) == 1
    state = state_dict(osp.join(work, 'epoch_1.pth'))
    # The teacher is the saved one, frozen: the checkpoint leaves it out
    # (TeacherCheckpointHook does only when every tensor equals the
    # file's) and records that file.
    assert not [k for k in state if k.startswith('teacher.')]
    with trusted_checkpoints(osp.join(work, 'epoch_1.pth')):
        meta = load_checkpoint_file(osp.join(work, 'epoch_1.pth'))['meta']
    assert meta['teacher_ckpt']['sha256'] == sha256(ckpt)
    assert meta['teacher_ckpt']['tensors'] == len(teacher.state_dict())
    assert state['architecture.head.fc.weight'].shape == (1000, 1280)

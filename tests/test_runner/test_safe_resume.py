"""``--resume`` loads through the same allow-list as every other path: a
real resume (optimizer and scheduler state, message hub, random states)
needs no full unpickling, and a crafted file runs nothing, whether named
with ``--resume FILE`` or planted in ``work_dir/last_checkpoint``."""
import builtins
import os.path as osp

import pytest
import torch
from mmrazor.registry import MODELS

from relkd_mm.runner import UnsafeCheckpointError
from relkd_mm.runner.checkpoint import load_checkpoint_file
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, STUDENT, fmnist_options, log_text, train

#: AdamW and MultiStepLR (a Counter of milestones) besides SGD + cosine:
#: what the repo's configs put into a checkpoint.
ADAMW_STEPS = f"""_base_ = [{osp.join(REPO, STUDENT)!r}]
optim_wrapper = dict(optimizer=dict(
    _delete_=True, type='AdamW', lr=0.001, weight_decay=0.05))
param_scheduler = dict(_delete_=True, type='MultiStepLR', milestones=[1],
                       gamma=0.1, by_epoch=True)
"""


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


class _Evals:

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (builtins.eval, (f'open({self.sentinel!r}, "w").close()', ))


def crafted_resume_file(path, sentinel):
    """A plausible resume checkpoint of the student config, with a payload
    in its meta."""
    cfg = dict(type='mmpretrain.ImageClassifier',
               backbone=dict(type='mmpretrain.RepDistillerResNet',
                             arch='resnet8', in_channels=1),
               neck=dict(type='mmpretrain.GlobalAveragePooling'),
               head=dict(type='mmpretrain.LinearClsHead', num_classes=10,
                         in_channels=64,
                         loss=dict(type='mmpretrain.CrossEntropyLoss')))
    state = MODELS.build(cfg).state_dict()
    torch.save({'state_dict': state, 'message_hub': {},
                'meta': {'epoch': 1, 'iter': 2,
                         'payload': _Evals(str(sentinel))}}, str(path))
    return str(path)


@pytest.mark.parametrize('adamw', [False, True], ids=['sgd', 'adamw'])
def test_resume_is_safe_loaded(fmnist, tmp_path, adamw):
    config = STUDENT
    if adamw:
        config = tmp_path / 'adamw_multistep.py'
        config.write_text(ADAMW_STEPS)
    work = tmp_path / 'work'
    train(config, work, options=fmnist_options(fmnist, 1))
    saved = load_checkpoint_file(str(work / 'epoch_1.pth'))  # allow-list
    assert {'optimizer', 'param_schedulers', 'message_hub',
            'random_states'} <= set(saved)
    train(config, work, '--resume',
          options=fmnist_options(fmnist, 2))
    log = log_text(work)
    assert 'resumed epoch: 1' in log
    assert 'full unpickling' not in log
    assert (work / 'epoch_2.pth').is_file()


def test_resume_from_a_crafted_file_runs_nothing(fmnist, tmp_path):
    sentinel = tmp_path / 'code_ran'
    crafted = crafted_resume_file(tmp_path / 'elsewhere.pth', sentinel)
    with pytest.raises(UnsafeCheckpointError, match='elsewhere.pth'):
        train(STUDENT, tmp_path / 'work', '--resume', crafted,
              options=fmnist_options(fmnist))
    assert not sentinel.exists()


def test_planted_last_checkpoint_runs_nothing(fmnist, tmp_path):
    """A copied, shared or unpacked work dir whose last_checkpoint names a
    crafted file."""
    sentinel = tmp_path / 'code_ran'
    crafted = crafted_resume_file(tmp_path / 'planted.pth', sentinel)
    work = tmp_path / 'work'
    work.mkdir()
    (work / 'last_checkpoint').write_text(crafted)
    with pytest.raises(UnsafeCheckpointError, match='planted.pth'):
        train(STUDENT, work, '--resume', options=fmnist_options(fmnist))
    assert not sentinel.exists()


def test_resume_does_not_execute_a_config_in_meta(fmnist, tmp_path):
    """Plain strings load safely, but MMEngine's resume would run
    ``meta['config']`` as a Python config."""
    work = tmp_path / 'work'
    train(STUDENT, work, options=fmnist_options(fmnist, epochs=1))
    sentinel = tmp_path / 'code_ran'
    path = str(work / 'epoch_1.pth')
    ckpt = load_checkpoint_file(path)
    ckpt['meta']['config'] = f'open({str(sentinel)!r}, "w").close()\n'
    torch.save(ckpt, path)
    train(STUDENT, work, '--resume', path,
          options=fmnist_options(fmnist, epochs=2))
    assert not sentinel.exists()
    assert 'ignored meta["config"]' in log_text(work)

"""Reliability III (issue 19): careless inputs of a hostile trial that used
to fail without naming the key, the file or the fix. Each is now named,
early (at build or before the runner writes anything)."""
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

from relkd_mm.compat import (ConfigArgumentError, ConfigValueError,
                             ResumeConfigError)
from relkd_mm.models.losses import RRDLoss
from relkd_mm.models.utils.strict_loading import CheckpointMismatchError
from tests.test_runner.test_strict_loading import (built_by_runner, distill,
                                                   save_classifier)
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import (REPO, STUDENT, fmnist_options, log_text,
                               run_inprocess, train)


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


def test_negative_running_var_in_a_teacher_is_named_at_load(tmp_path):
    """Blamed by NonFiniteLossHook on the learning rate or temperature at
    iteration 1 before."""
    path = str(tmp_path / 'teacher.pth')
    save_classifier(path)
    ckpt = torch.load(path)
    key = next(k for k in ckpt['state_dict'] if k.endswith('running_var'))
    ckpt['state_dict'][key][:3] = -1.0
    torch.save(ckpt, path)
    with pytest.raises(CheckpointMismatchError) as info:
        distill(teacher_ckpt=path)
    msg = str(info.value)
    assert path in msg and key in msg
    assert 'running_var with 3 negative value(s)' in msg
    assert 'use another one' in msg


def test_batch_size_as_a_string_is_named_before_the_run(fmnist, tmp_path):
    config = tmp_path / 'quoted.py'
    config.write_text(f'_base_ = [{osp.join(REPO, STUDENT)!r}]\n'
                      "train_dataloader = dict(batch_size='16')\n")
    work = tmp_path / 'work'
    options = [o for o in fmnist_options(fmnist)
               if not o.startswith('train_dataloader.batch_size')]
    with pytest.raises(ConfigValueError) as info:
        train(config, work, options=options)
    msg = str(info.value)
    assert "train_dataloader.batch_size='16' must be a positive integer" \
        in msg and 'remove the quotes' in msg
    assert '--cfg-options train_dataloader.batch_size=16' in msg
    assert log_text(work) == ''  # refused before the runner wrote a log


def test_a_word_for_a_number_is_named_at_build(tmp_path):
    """``--cfg-options ...loss_kd.loss_weight=abc``: a TypeError at the
    first step before."""
    with pytest.raises(ConfigArgumentError) as info:
        built_by_runner(dict(type='KLDivergence', loss_weight='abc'),
                        tmp_path)
    msg = str(info.value)
    assert "loss_weight='abc' is a string, but loss_weight takes a number" \
        in msg and 'e.g. loss_weight=1.0' in msg


@pytest.mark.parametrize('option,said', [
    ("optim_wrapper.optimizer=dict(type='AdamW',lr=0.001)",
     'write optim_wrapper.optimizer.type=AdamW '
     'optim_wrapper.optimizer.lr=0.001'),
    ("optim_wrapper.optimizer={'type':'AdamW','lr':0.001}",
     'optim_wrapper.optimizer.type=AdamW'),
    ('custom_imports.imports=[my_module]',
     'custom_imports is read when the config file is loaded'),
])
def test_cfg_options_that_can_not_work_are_named(option, said):
    """A dict value was a RecursionError; custom_imports silently
    ignored."""
    proc = run_inprocess('train.py', STUDENT, '--cfg-options', option,
                         check=False)
    assert proc.returncode == 2  # argparse's usage error
    assert said in proc.stderr and '--cfg-options' in proc.stderr
    assert 'RecursionError' not in proc.stderr


def test_resume_after_the_training_set_changed_names_the_data(
        fmnist, tmp_path):
    """The message blamed T_max (16 against 32 iterations)."""
    work = tmp_path / 'work'
    train(STUDENT, work, options=fmnist_options(fmnist, 1))  # 2 it/epoch
    with pytest.raises(ResumeConfigError) as info:
        train(STUDENT, work, '--resume',
              options=fmnist_options(fmnist, 2) +
              ['train_dataloader.dataset.indices=16'])  # 1 it/epoch
    msg = str(info.value)
    assert msg.index('the training data changed') < msg.index('T_max')
    assert 'now gives 1 iterations per epoch' in msg
    assert "the checkpoint's run had 2 (2 iterations in 1 epoch(s))" in msg
    assert 'train_dataloader.dataset' in msg


@pytest.mark.parametrize('queue_size,said', [
    (1e10, 'queue_size=10000000000.0 must be a positive integer'),
    (2**40, 'more than this machine'),
])
def test_rrd_memory_that_can_not_be_made_is_named(queue_size, said):
    """torch's "DefaultCPUAllocator: can't allocate" named no key."""
    with pytest.raises(ValueError) as info:
        RRDLoss(queue_size=queue_size)
    msg = str(info.value)
    assert said in msg and 'queue_size=16384' in msg
    if isinstance(queue_size, int):
        assert 'GiB' in msg and 'embed_dim=128' in msg


def test_multiview_with_a_count_per_pipeline_missing_is_named(tmp_path):
    """VRM's ``num_views=[1]`` for two pipelines: a bare AssertionError
    inside mmpretrain's MultiView."""
    from relkd_mm.runner.relkd_runner import RelKDRunner
    real = [dict(type='RandomFlip', prob=0.5)]
    pipeline = [dict(type='MultiView', num_views=[1],
                     transforms=[real, real])]
    loader = dict(dataset=dict(type='CustomDataset', data_root=str(tmp_path),
                               lazy_init=True, pipeline=pipeline),
                  sampler=dict(type='DefaultSampler'), batch_size=1)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(ConfigValueError) as info:
            RelKDRunner.build_dataloader(loader)
    msg = str(info.value)
    assert 'MultiView' in msg and 'num_views=[1]' in msg
    assert 'assert len(num_views) == len(transforms)' in msg
    assert 'num_views=[1, 1]' in msg


@pytest.mark.parametrize('std', [[0], [58.0, 0.0, 57.0], [-1.0]])
def test_zero_std_is_named_at_build(std, tmp_path):
    """``data_preprocessor.std=[0]``: NaN inputs stopped the run at
    iteration 1 without pointing at the std."""
    with pytest.raises(ConfigValueError) as info:
        built_by_runner(dict(type='mmpretrain.ClsDataPreprocessor',
                             mean=[0.0] * len(std), std=std), tmp_path)
    msg = str(info.value)
    assert f'std={std!r} has a zero or negative entry' in msg
    assert 'inf or NaN' in msg and 'standard deviation' in msg

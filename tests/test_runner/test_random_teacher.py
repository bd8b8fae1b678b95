"""A distiller never trains from a teacher that nothing loaded, unless the
config opts in (``teacher_ckpt=None`` with ``allow_random_teacher=True``);
and a checkpoint whose values are not tensors of a fitting dtype fails the
strict check instead of leaving the weights random."""
import logging
from types import SimpleNamespace

import pytest
import torch
from mmrazor.registry import MODELS

from relkd_mm.compat import RandomTeacherError
from relkd_mm.models.utils.strict_loading import CheckpointMismatchError
from relkd_mm.runner.load_checks import check_teacher_loaded
from tests.test_runner.test_strict_loading import (classifier, distill,
                                                   runner_for, save_classifier)
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import KD, fmnist_options, log_text, train


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


def test_distillation_config_without_teacher_refuses_to_train(fmnist,
                                                              tmp_path):
    """Every quick-start distillation config run directly (teacher_ckpt is
    set by tools/quickstart.py only)."""
    work = tmp_path / 'work'
    with pytest.raises(RandomTeacherError) as info:
        train(KD, work, options=fmnist_options(fmnist))
    msg = str(info.value)
    assert 'teacher was never loaded' in msg
    assert 'model.teacher_ckpt=PATH' in msg
    assert 'model.allow_random_teacher=True' in msg
    assert not (work / 'epoch_1.pth').exists()
    assert 'Epoch(train)' not in log_text(work)


def test_random_teacher_on_purpose_and_teacher_from_checkpoints(fmnist,
                                                                tmp_path):
    work = tmp_path / 'work'
    train(KD, work, options=fmnist_options(fmnist, epochs=1)
          + ['model.allow_random_teacher=True'])
    assert 'training with a RANDOM teacher' in log_text(work)
    # The teacher comes from the checkpoint: no opt-in needed to resume or
    # to start from it (REFILLED stage 2 starts so from stage 1).
    train(KD, work, '--resume', options=fmnist_options(fmnist, epochs=2))
    assert (work / 'epoch_2.pth').is_file()
    train(KD, tmp_path / 'from', options=fmnist_options(fmnist, epochs=1)
          + [f'load_from={work / "epoch_2.pth"}'])
    assert 'RANDOM teacher' not in log_text(tmp_path / 'from')


def test_pretrained_init_of_the_whole_teacher_counts(tmp_path):
    path = str(tmp_path / 'teacher.pth')
    save_classifier(path)
    model = distill(teacher=classifier(
        init_cfg=dict(type='StrictPretrained', checkpoint=path)))
    runner = SimpleNamespace(model=model, logger=logging.getLogger('t'))
    with pytest.raises(RandomTeacherError):
        check_teacher_loaded(runner)
    model.init_weights()
    check_teacher_loaded(runner)


def checkpoint_with(path, convert):
    torch.manual_seed(1)
    state = MODELS.build(classifier()).state_dict()
    state = {k: convert(v) if v.is_floating_point() else v
             for k, v in state.items()}
    torch.save({'state_dict': state}, path)
    return path


@pytest.mark.parametrize('kind,convert,shown', [
    ('numpy', lambda v: v.numpy(), 'numpy.ndarray'),
    ('string', lambda v: 'x' * v.numel(), 'is str'),
    ('int64', lambda v: (v * 100).long(), 'a torch.int64 tensor'),
])
def test_values_that_are_no_fitting_tensor_fail_the_strict_check(
        tmp_path, kind, convert, shown):
    path = checkpoint_with(str(tmp_path / f'{kind}.pth'), convert)
    for attempt in (
            lambda: distill(teacher_ckpt=path),  # teacher_ckpt
            # tools/test.py and load_from
            lambda: runner_for(MODELS.build(classifier()),
                               tmp_path).load_checkpoint(path)):
        with pytest.raises(CheckpointMismatchError) as info:
            attempt()
        msg = str(info.value)
        assert 'not loadable' in msg and 'backbone.conv1.weight' in msg
        assert shown in msg and 'floating tensor' in msg
        assert ('backbone.conv1.weight' in
                [k for k, _, _ in info.value.wrong_type])


def test_other_floating_dtypes_still_load(tmp_path):
    for dtype in (torch.float64, torch.float16):
        path = checkpoint_with(str(tmp_path / f'{dtype}.pth'),
                               lambda v: v.to(dtype))
        model = distill(teacher_ckpt=path)
        assert model.teacher.backbone.conv1.weight.dtype == torch.float32
        saved = torch.load(path)['state_dict']['backbone.conv1.weight']
        assert torch.allclose(model.teacher.backbone.conv1.weight,
                              saved.float())

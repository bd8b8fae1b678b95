"""A frozen teacher is evaluated once across validations
(``TeacherCachedDistillValLoop``, the ``val_cfg`` of relkd_mm's configs),
and ``model.teacher_expected_top1`` (CheckedSingleTeacherDistill's
argument, checked by RelKDRunner) checks it before the first training
iteration."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import RUNNERS
from mmrazor.registry import MODELS

from relkd_mm import compat
from relkd_mm.runner.teacher_eval import TeacherAccuracyError
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import KD, REPO, fmnist_options, train

VAL_BATCH = 4  # 16 test images: 4 validation batches


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


class ValMetrics(Hook):
    """Keeps the metrics of every validation."""

    def __init__(self):
        self.metrics = []

    def after_val_epoch(self, runner, metrics=None):
        self.metrics.append(dict(metrics))


def make_runner(root, work_dir, epochs=3, **options):
    cfg = Config.fromfile(osp.join(REPO, KD))
    for d in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[d]['dataset']['data_root'] = root
    cfg.train_dataloader.batch_size = 16
    cfg.val_dataloader.batch_size = VAL_BATCH
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = 1
    cfg.randomness = dict(seed=0)
    cfg.model.allow_random_teacher = True
    cfg.merge_from_dict(options)
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'teacher_eval_{osp.basename(str(work_dir))}'
    runner = RUNNERS.build(cfg)
    hook = ValMetrics()
    runner.register_hook(hook)
    calls = []
    teacher = runner.model.teacher
    val_step = teacher.val_step

    def counted(data):
        calls.append(len(data['inputs']))
        return val_step(data)

    teacher.val_step = counted
    return runner, hook, calls


def teacher_top1(hook):
    return [m['teacher.accuracy/top1'] for m in hook.metrics]


def test_frozen_teacher_runs_over_the_val_set_once(fmnist, tmp_path):
    runner, hook, calls = make_runner(fmnist, tmp_path / 'cached')
    runner.train()
    assert len(hook.metrics) == 3
    # One pass over the 16 validation images across three validations.
    assert calls == [VAL_BATCH] * 4
    assert runner.val_loop.teacher_evaluations == 1
    top1 = teacher_top1(hook)
    assert top1[0] == top1[1] == top1[2]
    assert len({m['accuracy/top1'] for m in hook.metrics}) >= 1

    # Opt out: evaluated at each validation, with the same value and the
    # same training: a reused validation consumes the random number its
    # teacher pass would, so the runs are bit-identical.
    rng_cached = torch.get_rng_state()
    student_cached = {k: v.clone() for k, v in
                      runner.model.architecture.state_dict().items()}
    runner2, hook2, calls2 = make_runner(
        fmnist, tmp_path / 'each', **{'val_cfg.teacher_cache': False})
    runner2.train()
    assert calls2 == [VAL_BATCH] * 12
    assert teacher_top1(hook2) == top1
    assert [m['accuracy/top1'] for m in hook2.metrics] == \
        [m['accuracy/top1'] for m in hook.metrics]
    assert torch.equal(torch.get_rng_state(), rng_cached)
    for key, value in runner2.model.architecture.state_dict().items():
        assert torch.equal(value, student_cached[key]), key

    # Invalidated when the validation set or the teacher changes.
    loop = runner.val_loop
    loop.run()
    assert len(calls) == 4
    loop.dataloader = runner.build_dataloader(
        dict(runner.cfg.val_dataloader,
             dataset=dict(runner.cfg.val_dataloader.dataset,
                          indices=8)))
    loop.run()
    assert calls[4:] == [VAL_BATCH] * 2
    with torch.no_grad():
        next(runner.model.teacher.parameters()).mul_(1.0)
    loop.run()
    assert calls[6:] == [VAL_BATCH] * 2
    loop.run()
    assert len(calls) == 8


def test_trainable_teacher_is_evaluated_each_time(fmnist, tmp_path):
    runner, hook, calls = make_runner(
        fmnist, tmp_path / 'trainable', epochs=2,
        **{'model.teacher_trainable': True})
    runner.train()
    assert calls == [VAL_BATCH] * 8


def save_teacher(path):
    cfg = Config.fromfile(osp.join(REPO, KD))
    torch.manual_seed(3)
    teacher = MODELS.build(cfg.model.teacher)
    torch.save({'state_dict': teacher.state_dict()}, path)
    return path


def test_teacher_check_passes_then_refuses(fmnist, tmp_path):
    ckpt = save_teacher(str(tmp_path / 'teacher.pth'))
    options = {'model.teacher_ckpt': ckpt,
               'model.allow_random_teacher': False}
    # Measure (expected 0 always passes) ...
    runner, hook, calls = make_runner(fmnist, tmp_path / 'measure', epochs=1,
                                      **options,
                                      **{'model.teacher_expected_top1': 0})
    runner.train()
    measured = runner.message_hub.get_info('teacher_check_top1')
    # ... once: the first validation reuses the check's evaluation.
    assert calls == [VAL_BATCH] * 4
    assert teacher_top1(hook) == [measured]

    # Within the margin: trains.
    runner, hook, calls = make_runner(
        fmnist, tmp_path / 'pass', epochs=1, **options, **{
            'model.teacher_expected_top1': measured + 0.9,
            'model.teacher_top1_margin': 1.0})
    runner.train()
    assert runner.iter == 2 and calls == [VAL_BATCH] * 4

    # More than the margin below: refused before the first iteration.
    runner, hook, calls = make_runner(
        fmnist, tmp_path / 'refuse', epochs=1, **options, **{
            'model.teacher_expected_top1': measured + 30.0})
    with pytest.raises(TeacherAccuracyError) as info:
        runner.train()
    msg = str(info.value)
    assert f'teacher_ckpt={ckpt!r}' in msg
    assert f'scores accuracy/top1 = {measured:.2f}' in msg
    assert f'30.00 points below the expected {measured + 30:.2f}' in msg
    assert 'margin of 1.00 (model.teacher_top1_margin)' in msg
    assert 'model.teacher_expected_top1' in msg
    assert runner.iter == 0
    assert not (tmp_path / 'refuse' / 'epoch_1.pth').exists()


def test_teacher_check_without_a_validation_set(fmnist, tmp_path):
    with pytest.raises(TeacherAccuracyError, match='--no-validate'):
        train(KD, tmp_path / 'noval', options=fmnist_options(fmnist) + [
            'model.allow_random_teacher=True',
            'model.teacher_expected_top1=50'])


def test_expected_top1_must_be_a_percentage():
    cfg = Config.fromfile(osp.join(REPO, KD))
    cfg.model.teacher_expected_top1 = 0.74
    MODELS.build(cfg.model)  # a fraction is a small percentage: allowed
    cfg.model.teacher_expected_top1 = 174.0
    with pytest.raises(ValueError, match='between 0 and 100'):
        MODELS.build(cfg.model)


def test_configs_name_the_loop_and_mmrazor_keeps_its_own(fmnist, tmp_path):
    """relkd_mm's distillation configs name TeacherCachedDistillValLoop;
    MMRazor's SingleTeacherDistillValLoop is left as upstream wrote it, so a
    config that names it evaluates the teacher at every validation."""
    from mmrazor.engine import SingleTeacherDistillValLoop

    from relkd_mm.engine.loops import TeacherCachedDistillValLoop
    assert 'teacher_val_cache' not in compat.APPLIED
    assert SingleTeacherDistillValLoop.run.__module__.startswith('mmrazor.')
    assert SingleTeacherDistillValLoop.__init__.__module__.startswith(
        'mmrazor.')
    cfg = Config.fromfile(osp.join(REPO, KD))
    assert cfg.val_cfg.type == 'mmrazor.TeacherCachedDistillValLoop'
    runner, hook, calls = make_runner(
        fmnist, tmp_path / 'upstream', epochs=2,
        **{'val_cfg': dict(type='mmrazor.SingleTeacherDistillValLoop')})
    runner.train()
    assert type(runner.val_loop) is SingleTeacherDistillValLoop
    assert not isinstance(runner.val_loop, TeacherCachedDistillValLoop)
    assert calls == [VAL_BATCH] * 8


def test_expected_top1_from_the_metafile(tmp_path):
    """``'metafile'``: the zoo checkpoint's top-1 from MMPretrain's
    metafiles (a local copy under the zoo's file name counts)."""
    zoo = tmp_path / 'resnet34_8xb32_in1k_20210831-f257d4e6.pth'
    save_teacher(str(zoo))  # the quick start's teacher, zoo's name
    cfg = Config.fromfile(osp.join(REPO, KD))
    cfg.model.teacher_ckpt = str(zoo)
    cfg.model.teacher_expected_top1 = 'metafile'
    assert MODELS.build(cfg.model).teacher_expected_top1 == 73.62
    other = tmp_path / 'teacher.pth'
    save_teacher(str(other))
    cfg.model.teacher_ckpt = str(other)
    with pytest.raises(ValueError, match='in none of them'):
        MODELS.build(cfg.model)

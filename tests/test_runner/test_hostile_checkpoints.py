"""Reliability III (issue 19), checkpoints: no path unpickles a planted
``last_checkpoint`` fully (REFILLED's stages, the benchmark, the
protocol's runs: ``StagedRun``); values a copy can not take (meta,
sparse, quantized, subclassed tensors) fail the strict check instead of
leaving random weights behind a "loaded"; and a distiller's teacher comes
from one place (``teacher_ckpt`` or a ``load_from`` checkpoint, never the
second silently over the first)."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmrazor.registry import MODELS

from relkd_mm.compat import RandomTeacherError
from relkd_mm.models.utils.strict_loading import CheckpointMismatchError
from relkd_mm.runner import UnsafeCheckpointError
from relkd_mm.runner.load_checks import (TeacherConflictError,
                                         check_teacher_loaded)
from relkd_mm.utils.staged_run import StageConfigs, StagedRun
from tests.test_runner.test_safe_resume import crafted_resume_file
from tests.test_runner.test_strict_loading import (classifier, distill,
                                                   runner_for, save_classifier)
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, run_inprocess
from tools.benchmarks.quick_runs import RUNS, config_paths

REFILLED = next(m for m in RUNS if m.name == 'REFILLED')
ALONE = next(m for m in RUNS if m.baseline and 'alone' in m.name)


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


def _options(root):
    return {f'{d}.dataset.data_root': root
            for d in ('train_dataloader', 'val_dataloader',
                      'test_dataloader')}


def _plant(work_dir, sentinel):
    """A copied work dir: its last_checkpoint names a file whose meta
    holds a payload."""
    work_dir.mkdir(parents=True, exist_ok=True)
    crafted = crafted_resume_file(work_dir / 'epoch_1.pth', sentinel)
    (work_dir / 'last_checkpoint').write_text(crafted)
    return crafted


@pytest.mark.parametrize('test_only', [False, True], ids=['resume', 'test'])
def test_planted_last_checkpoint_in_staged_run_runs_nothing(
        fmnist, tmp_path, test_only):
    """``tools/train_refilled.py --resume`` and the benchmark (which always
    resumes) both run a ``StagedRun``; it used to trust the resumed
    file."""
    sentinel = tmp_path / 'code_ran'
    work = tmp_path / 'refilled'
    _plant(work / 'stage1', sentinel)
    _plant(work / 'stage2', sentinel)
    run = StagedRun('refilled', StageConfigs(config_paths(REFILLED),
                                             _options(fmnist)), str(work))
    with pytest.raises(UnsafeCheckpointError, match='epoch_1.pth'):
        if test_only:
            run.test()
        else:
            run.train(resume=True)
    assert not sentinel.exists()


def test_train_refilled_resume_of_a_copied_work_dir_runs_nothing(
        fmnist, tmp_path):
    sentinel = tmp_path / 'code_ran'
    work = tmp_path / 'copied'
    _plant(work / 'stage1', sentinel)
    stage1, stage2 = config_paths(REFILLED)
    proc = run_inprocess('train_refilled.py', stage1, stage2, '--work-dir',
                         str(work), '--resume', '--cfg-options',
                         *(f'{k}={v}' for k, v in _options(fmnist).items()),
                         check=False)
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError' in proc.stderr
    assert 'full unpickling' not in proc.stdout + proc.stderr
    assert not sentinel.exists()


def _benchmark_module():
    spec = importlib.util.spec_from_file_location(
        'relkd_mm_benchmark_tool', osp.join(REPO, 'tools', 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_resume_of_a_planted_checkpoint_runs_nothing(
        fmnist, tmp_path):
    sentinel = tmp_path / 'code_ran'
    work = tmp_path / 'bench'
    argv = ['--methods', 'alone', '--seeds', '0', '--train-size', '32',
            '--test-size', '16', '--epochs', '1', '--data-root', fmnist,
            '--work-dir', str(work)]
    bench = _benchmark_module()
    folder = bench.budget(bench.parse_args(argv))[3]
    _plant(work / folder / 'teacher', sentinel)  # trained first
    proc = run_inprocess('benchmark.py', *argv, check=False)
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError' in proc.stderr
    assert not sentinel.exists()


# -- values the copy can not take --------------------------------------------
VALUES = {
    'meta': (lambda v: v.to('meta'), 'meta device'),
    'sparse': (lambda v: v.to_sparse(), 'sparse_coo tensor'),
    'quantized': (lambda v: torch.quantize_per_tensor(v, 0.1, 0,
                                                      torch.qint8),
                  'quantized torch.qint8'),
}


def _state_with(convert, prefix='', model=None):
    torch.manual_seed(1)
    model = model or MODELS.build(classifier())
    return {k: convert(v) if v.is_floating_point() and
            k.startswith(prefix) else v
            for k, v in model.state_dict().items()}


@pytest.mark.parametrize('kind', list(VALUES))
def test_values_a_copy_can_not_take_fail_the_strict_check(tmp_path, kind):
    """Right keys, shapes and dtypes: the teacher of ``teacher_ckpt``, a
    ``load_from`` and ``tools/test.py`` (its load_from) used to keep their
    random weights, logged as loaded."""
    convert, shown = VALUES[kind]
    path = str(tmp_path / f'{kind}.pth')
    torch.save({'state_dict': _state_with(convert)}, path)
    for attempt in (
            lambda: distill(teacher_ckpt=path),
            lambda: runner_for(MODELS.build(classifier()),
                               tmp_path).load_checkpoint(path)):
        with pytest.raises(CheckpointMismatchError) as info:
            attempt()
        msg = str(info.value)
        assert 'not loadable' in msg and 'backbone.conv1.weight' in msg
        assert shown in msg


@pytest.mark.parametrize('kind', list(VALUES))
def test_lenient_load_from_of_a_meta_teacher_is_no_loaded_teacher(
        tmp_path, kind):
    """``load_from_strict=False`` loads what it can; a teacher whose
    tensors it could not copy is still random: RandomTeacherError fires
    (it used to count as loaded)."""
    convert, _ = VALUES[kind]
    path = str(tmp_path / 'distill.pth')
    torch.save({'state_dict': _state_with(convert, 'teacher.',
                                          distill())}, path)
    runner = runner_for(distill(), tmp_path, load_from_strict=False)
    runner.load_checkpoint(path)
    with pytest.raises(RandomTeacherError):
        check_teacher_loaded(runner)


def test_nan_student_weights_fail_the_strict_check(tmp_path):
    path = str(tmp_path / 'diverged_student.pth')
    save_classifier(path)
    ckpt = torch.load(path)
    ckpt['state_dict']['head.fc.weight'][0, 0] = float('inf')
    torch.save(ckpt, path)
    with pytest.raises(CheckpointMismatchError,
                       match='head.fc.weight is a tensor holding 1 NaN'):
        runner_for(MODELS.build(classifier()), tmp_path).load_checkpoint(
            path)


# -- one teacher --------------------------------------------------------------
def _two_teachers(tmp_path):
    a, b = str(tmp_path / 'teacher_a.pth'), str(tmp_path / 'teacher_b.pth')
    save_classifier(a)
    torch.manual_seed(7)
    torch.save({'state_dict': MODELS.build(classifier()).state_dict()}, b)
    # A distillation checkpoint that holds its teacher (save_teacher=True,
    # MMRazor's, every earlier one), trained with teacher A.
    torch.manual_seed(3)
    run = distill(teacher_ckpt=a)
    ckpt = str(tmp_path / 'run_epoch_1.pth')
    torch.save({'state_dict': run.state_dict(), 'meta': {}}, ckpt)
    return a, b, ckpt, run


def test_load_from_does_not_replace_the_configured_teacher(tmp_path):
    """``--load-from RUN/epoch_1.pth --cfg-options
    model.teacher_ckpt=OTHER.pth`` used to log "teacher_ckpt: loaded
    OTHER.pth" and validate the checkpoint's teacher."""
    _, b, ckpt, run = _two_teachers(tmp_path)
    model = distill(teacher_ckpt=b)
    with pytest.raises(TeacherConflictError) as info:
        runner_for(model, tmp_path).load_checkpoint(ckpt)
    msg = str(info.value)
    assert ckpt in msg and b in msg and 'load_from_strict=False' in msg
    # The fix the message gives works: the student is the checkpoint's,
    # the teacher teacher_ckpt's.
    model = distill(teacher_ckpt=b)
    runner_for(model, tmp_path, load_from_strict=False).load_checkpoint(ckpt)
    expected_b = torch.load(b)['state_dict']
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, expected_b[key]), key
    for key, value in model.architecture.state_dict().items():
        assert torch.equal(value, run.architecture.state_dict()[key]), key


def test_load_from_of_the_same_teacher_still_loads(tmp_path):
    """REFILLED's stage 2 from stage 1, or a checkpoint of the configured
    teacher's run: nothing to refuse."""
    a, _, ckpt, run = _two_teachers(tmp_path)
    model = distill(teacher_ckpt=a)
    runner_for(model, tmp_path).load_checkpoint(ckpt)
    assert torch.equal(model.architecture.head.fc.weight,
                       run.architecture.head.fc.weight)


def test_student_only_checkpoint_without_its_record_names_the_fix(tmp_path):
    """``meta['teacher_ckpt']`` lost: the missing teacher.* keys used to be
    listed with no hint why or what to do."""
    a, _, ckpt, run = _two_teachers(tmp_path)
    state = {k: v for k, v in run.state_dict().items()
             if not k.startswith('teacher.')}
    path = str(tmp_path / 'student_only_no_record.pth')
    torch.save({'state_dict': state, 'meta': {}}, path)
    model = distill(teacher_ckpt=a)
    with pytest.raises(CheckpointMismatchError) as info:
        runner_for(model, tmp_path).load_checkpoint(path)
    msg = str(info.value)
    assert 'missing keys are all the teacher' in msg
    assert 'student-only' in msg and 'load_from_strict=False' in msg
    # The fix it names works.
    model = distill(teacher_ckpt=a)
    runner_for(model, tmp_path, load_from_strict=False).load_checkpoint(path)
    assert torch.equal(model.architecture.head.fc.weight,
                       run.architecture.head.fc.weight)

"""Distillation checkpoints without the frozen teacher
(:mod:`relkd_mm.runner.teacher_checkpoint`): smaller, resumed exactly, the
teacher rebuilt from ``teacher_ckpt`` and another teacher file refused;
checkpoints that hold the teacher (every earlier one) still resume and test;
export, test and REFILLED's stage 2 work from student-only ones."""
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config
from mmrazor.registry import MODELS

from relkd_mm.runner.checkpoint import load_checkpoint_file, sha256
from relkd_mm.runner.teacher_checkpoint import TeacherCheckpointError
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.test_tools.test_kill_resume import assert_same_tree, logged_losses
from tests.train_utils import (KD, REPO, fmnist_options, log_text,
                               run_inprocess, train)

#: The quick start's hook list plus one that saves the teacher: a run
#: writing checkpoints as MMRazor (and relkd_mm before) did.
SAVE_TEACHER = f"""_base_ = [{osp.join(REPO, KD)!r}]
custom_hooks = _base_.custom_hooks + [
    dict(type='mmrazor.TeacherCheckpointHook', save_teacher=True)]
"""


def teacher_file(path, seed):
    """A teacher checkpoint of the quick start's wrn_16_2 (weights only, as
    MMPretrain's model zoo and the protocol write them)."""
    cfg = Config.fromfile(osp.join(REPO, KD))
    torch.manual_seed(seed)
    teacher = MODELS.build(cfg.teacher_model)
    torch.save({'state_dict': teacher.state_dict()}, str(path))
    return str(path)


def options(root, epochs, teacher):
    return fmnist_options(root, epochs) + [f'model.teacher_ckpt={teacher}']


def checkpoint(path):
    return load_checkpoint_file(str(path), map_location='cpu')


def nbytes(state, prefix=''):
    return sum(v.numel() * v.element_size() for k, v in state.items()
               if k.startswith(prefix))


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """One epoch student-only, two epochs straight, one epoch saving the
    teacher: the quick start's KD (wrn_16_2 -> resnet8) on a generated
    Fashion-MNIST, the teacher from a file."""
    tmp = tmp_path_factory.mktemp('student_only')
    root = make_fashion_mnist(str(tmp / 'fmnist'), num_train=32, num_test=16)
    teacher = teacher_file(tmp / 'teacher.pth', seed=1)
    one = tmp / 'one'
    train(KD, one, options=options(root, 1, teacher))
    straight = tmp / 'straight'
    train(KD, straight, options=options(root, 2, teacher))
    full_cfg = tmp / 'kd_save_teacher.py'
    full_cfg.write_text(SAVE_TEACHER)
    full = tmp / 'full'
    train(full_cfg, full, options=options(root, 1, teacher))
    return dict(tmp=tmp, root=root, teacher=teacher, one=one,
                straight=straight, full=full)


def test_student_only_checkpoint_has_no_teacher_and_is_smaller(runs):
    small = checkpoint(runs['one'] / 'epoch_1.pth')
    full = checkpoint(runs['full'] / 'epoch_1.pth')
    assert not [k for k in small['state_dict'] if k.startswith('teacher.')]
    teacher_keys = [k for k in full['state_dict'] if k.startswith('teacher.')]
    assert teacher_keys
    # Everything but the teacher is kept, with the same values (same seed).
    assert set(small['state_dict']) == set(full['state_dict']) - set(
        teacher_keys)
    assert_same_tree(small['state_dict'], {
        k: v for k, v in full['state_dict'].items() if k in small[
            'state_dict']}, 'state_dict')
    assert {'optimizer', 'param_schedulers', 'message_hub',
            'random_states'} <= set(small)
    record = small['meta']['teacher_ckpt']
    assert record == dict(path=runs['teacher'], file=runs['teacher'],
                          sha256=sha256(runs['teacher']),
                          tensors=len(teacher_keys))
    assert 'teacher_ckpt' not in full['meta']
    # What was left out is the teacher file's content, tensor for tensor.
    expected = checkpoint(runs['teacher'])['state_dict']
    assert len(expected) == len(teacher_keys)
    for key, value in expected.items():
        assert torch.equal(full['state_dict']['teacher.' + key], value), key
    # wrn_16_2 (2.7 MB of float32) -> resnet8 (0.3 MB): the teacher is
    # about three quarters of the whole file.
    teacher_bytes = nbytes(full['state_dict'], 'teacher.')
    small_size = osp.getsize(runs['one'] / 'epoch_1.pth')
    full_size = osp.getsize(runs['full'] / 'epoch_1.pth')
    assert full_size - small_size == pytest.approx(teacher_bytes, rel=0.05)
    assert small_size / full_size < 0.3
    assert 'checkpoints omit the teacher (83 tensors, 2.6 MiB)' in log_text(
        runs['one'])
    assert 'checkpoints keep the teacher (save_teacher=True)' in log_text(
        runs['full'])


def test_exact_resume_from_a_student_only_checkpoint(runs, tmp_path):
    """Epoch 2 resumed from the student-only epoch 1 logs the losses of the
    uninterrupted run and ends with its weights, optimizer and schedule;
    the teacher comes from a byte-identical copy at another path (what is
    checked is the content, not the name)."""
    work = tmp_path / 'resumed'
    shutil.copytree(runs['one'], work)
    copy = shutil.copy(runs['teacher'], tmp_path / 'same_teacher.pth')
    train(KD, work, '--resume', work / 'epoch_1.pth',
          options=options(runs['root'], 2, copy))
    log = log_text(work)
    assert 'resumed epoch: 1' in log
    assert 'a student-only checkpoint; its teacher' in log
    expected, resumed = logged_losses(runs['straight']), logged_losses(work)
    assert sorted(resumed) == [(2, 3), (2, 4)]
    for key, values in resumed.items():
        assert values == pytest.approx(expected[key], rel=1e-5,
                                       abs=1e-7), key
    a = checkpoint(runs['straight'] / 'epoch_2.pth')
    b = checkpoint(work / 'epoch_2.pth')
    assert_same_tree(a['state_dict'], b['state_dict'], 'state_dict')
    assert_same_tree(a['optimizer'], b['optimizer'], 'optimizer')
    assert_same_tree(a['param_schedulers'], b['param_schedulers'],
                     'param_schedulers')
    assert b['meta']['teacher_ckpt']['sha256'] == sha256(runs['teacher'])


def test_resume_with_another_teacher_file_is_refused(runs, tmp_path):
    other = teacher_file(tmp_path / 'other_teacher.pth', seed=2)
    work = tmp_path / 'work'
    shutil.copytree(runs['one'], work)
    with pytest.raises(TeacherCheckpointError) as info:
        train(KD, work, '--resume', work / 'epoch_1.pth',
              options=options(runs['root'], 2, other))
    msg = str(info.value)
    assert 'holds no teacher weights' in msg
    assert f"'{runs['teacher']}' (sha256 {sha256(runs['teacher'])[:16]}" \
        in msg
    assert f"model.teacher_ckpt='{other}'" in msg
    assert f'has sha256 {sha256(other)[:16]}' in msg
    assert f"--cfg-options model.teacher_ckpt={runs['teacher']}" in msg
    assert 'Epoch(train) [2]' not in log_text(work)

    # The other way the message offers: a new run from the student's
    # weights with the other teacher, the teacher keys left to it.
    assert 'load_from_strict=False' in msg
    fresh = tmp_path / 'fresh'
    train(KD, fresh, options=options(runs['root'], 1, other) + [
        f'load_from={work / "epoch_1.pth"}', 'load_from_strict=False'])
    log = log_text(fresh)
    assert "the teacher stays the one of model.teacher_ckpt='" in log
    saved = checkpoint(fresh / 'epoch_1.pth')
    assert saved['meta']['teacher_ckpt']['sha256'] == sha256(other)


def test_teacher_rebuilt_from_the_recorded_file_when_none_is_set(runs,
                                                                 tmp_path):
    """tools/test.py with the quick-start config as it is (teacher_ckpt
    None): the recorded teacher is loaded; a missing one is named."""
    ckpt = str(runs['one'] / 'epoch_1.pth')
    test_opts = [f'test_dataloader.dataset.data_root={runs["root"]}',
                 'experiment_name=student_only_test']
    proc = run_inprocess('test.py', osp.join(REPO, KD), ckpt, '--work-dir',
                         tmp_path / 'test', '--cfg-options', *test_opts)
    assert 'a student-only checkpoint; its teacher' in proc.stdout + \
        proc.stderr
    # The same run saved with its teacher: the same accuracy.
    full = run_inprocess(
        'test.py', osp.join(REPO, KD), str(runs['full'] / 'epoch_1.pth'),
        '--work-dir', tmp_path / 'test_full', '--cfg-options',
        *test_opts[:1], 'experiment_name=full_test')
    top1 = [line.split('accuracy/top1: ')[1].split()[0]
            for line in (proc.stdout + proc.stderr,
                         full.stdout + full.stderr)
            for line in line.splitlines() if 'accuracy/top1: ' in line]
    assert len(top1) == 2 and top1[0] == top1[1]

    moved = tmp_path / 'moved.pth'
    shutil.copy(ckpt, moved)
    saved = checkpoint(moved)
    saved['meta']['teacher_ckpt'].update(path=str(tmp_path / 'gone.pth'),
                                         file=str(tmp_path / 'gone.pth'))
    torch.save(saved, str(moved))
    # Neither a configured nor the recorded teacher file: the student is
    # tested alone (its accuracy is the same), and the log says the
    # teacher's is skipped (tools/test.py, issue 22).
    gone = run_inprocess('test.py', osp.join(REPO, KD), str(moved),
                         '--work-dir', tmp_path / 'test_gone',
                         '--cfg-options', *test_opts[:1],
                         'experiment_name=gone_test')
    text = gone.stdout + gone.stderr
    assert 'model.teacher_ckpt is not set.' in text
    assert 'gone.pth' in text and 'Testing the student alone' in text
    assert f'accuracy/top1: {top1[0]}' in text


def test_full_checkpoint_still_resumes_exactly(runs, tmp_path):
    """A checkpoint holding the teacher (as every earlier one does) resumes
    as before; the resumed run then writes student-only checkpoints."""
    work = tmp_path / 'work'
    shutil.copytree(runs['full'], work)
    train(KD, work, '--resume', work / 'epoch_1.pth',
          options=options(runs['root'], 2, runs['teacher']))
    assert 'a student-only checkpoint' not in log_text(work)
    a = checkpoint(runs['straight'] / 'epoch_2.pth')
    b = checkpoint(work / 'epoch_2.pth')
    assert_same_tree(a['state_dict'], b['state_dict'], 'state_dict')
    assert_same_tree(a['optimizer'], b['optimizer'], 'optimizer')


def test_export_student_from_a_student_only_checkpoint(runs, tmp_path):
    ckpt = runs['one'] / 'epoch_1.pth'
    run_inprocess('export_student.py', osp.join(REPO, KD), ckpt,
                  tmp_path / 'out', '--name', 'student')
    exported = checkpoint(tmp_path / 'out' / 'student.pth')['state_dict']
    saved = checkpoint(ckpt)['state_dict']
    assert set(exported) == {k[len('architecture.'):] for k in saved
                             if k.startswith('architecture.')}
    for key, value in exported.items():
        assert torch.equal(value, saved['architecture.' + key]), key


def test_teacher_kept_where_teacher_ckpt_does_not_rebuild_it(runs, tmp_path):
    """Teacher BatchNorm statistics that move (teacher_norm_eval=False):
    the checkpoint keeps the teacher it trained with, and says why."""
    work = tmp_path / 'work'
    train(KD, work, options=options(runs['root'], 1, runs['teacher']) +
          ['model.teacher_norm_eval=False'])
    saved = checkpoint(work / 'epoch_1.pth')
    assert any(k.startswith('teacher.') for k in saved['state_dict'])
    assert 'teacher_ckpt' not in saved['meta']
    assert 'teacher_norm_eval=False' in log_text(work)


def test_refilled_stage2_from_a_student_only_stage1(runs, tmp_path):
    from relkd_mm.utils.staged_run import StageConfigs, StagedRun
    from tools.benchmarks.quick_runs import CFG_DIR
    work = str(tmp_path / 'refilled')
    configs = [osp.join(CFG_DIR, f'refilled-s{k}_wrn-16-2_resnet8_fmnist.py')
               for k in (1, 2)]
    opts = dict(cfg.split('=', 1) for cfg in fmnist_options(runs['root'], 1))
    opts = {k: v if not v.isdigit() else int(v) for k, v in opts.items()}
    StagedRun('refilled', StageConfigs(configs, opts,
                                       teacher_ckpt=runs['teacher']),
              work, log_level='INFO').train(test=False)
    stage1 = checkpoint(osp.join(work, 'stage1', 'epoch_1.pth'))
    stage2 = checkpoint(osp.join(work, 'stage2', 'epoch_1.pth'))
    for saved in (stage1, stage2):
        assert not any(k.startswith('teacher.') for k in saved['state_dict'])
        assert saved['meta']['teacher_ckpt']['sha256'] == sha256(
            runs['teacher'])
    # Stage 2 started from stage 1's student, its centers filled.
    log = log_text(osp.join(work, 'stage2'))
    assert 'a student-only checkpoint; its teacher' in log
    prefix = 'distiller.distill_losses.loss_refilled.'
    assert bool(stage2['state_dict'][prefix + 'centers_ready'])


def test_visualiser_rebuilds_the_teacher_of_a_student_only_checkpoint(runs):
    import sys
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import visualize_relations as vis
    cfg = Config.fromfile(osp.join(REPO, KD))
    model, _ = vis.build_distiller(cfg, str(runs['one'] / 'epoch_1.pth'),
                                   'cpu')
    expected = checkpoint(runs['teacher'])['state_dict']
    got = model.teacher.state_dict()
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


def test_other_keys_stay_strict(runs, tmp_path):
    """Only the teacher is put back: a student key missing from a
    student-only checkpoint is refused as before, and the teacher's keys
    are not reported."""
    from relkd_mm.models.utils.strict_loading import CheckpointMismatchError
    work = tmp_path / 'work'
    shutil.copytree(runs['one'], work)
    path = work / 'epoch_1.pth'
    saved = checkpoint(path)
    del saved['state_dict']['architecture.head.fc.bias']
    torch.save(saved, str(path))
    with pytest.raises(CheckpointMismatchError) as info:
        train(KD, work, '--resume', path,
              options=options(runs['root'], 2, runs['teacher']))
    assert info.value.missing == ['architecture.head.fc.bias']
    assert not info.value.unexpected and not info.value.mismatched

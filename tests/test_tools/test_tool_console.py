"""tools/train.py and tools/test.py as a person reads them: a one-epoch
run of a quick-start config prints at most 40 lines (the run, work dir,
data, schedule, teacher, loss terms, a progress bar, the loss lines and
the validation results), and its log file keeps everything MMEngine
writes (environment, config, hook table, the harmless upstream notices).
Run as a user runs them: a fresh interpreter, Python's warnings on."""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch

from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, log_text

KD = 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py'
TEACHER = osp.join(REPO, 'checkpoints', 'fmnist',
                   'wrn-16-2_fmnist-lowdata.pth')
#: The issue's target for a one-epoch run of a quick-start config.
MAX_LINES = 40


def run(script, *args, cwd=REPO):
    """A tool in a fresh interpreter with the user's default warnings (no
    PYTHONWARNINGS), so that an unfiltered upstream warning shows."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}
    env['OMP_NUM_THREADS'] = '1'
    return subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', script), *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def options(root):
    return [*(f'{d}.dataset.data_root={root}' for d in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')),
            'train_dataloader.batch_size=16', 'train_cfg.max_epochs=1',
            'randomness.seed=0']


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('console')
    root = make_fashion_mnist(str(tmp / 'fmnist'), num_train=64,
                              num_test=32)
    # A copy of the committed teacher, so that a test can remove it.
    teacher = str(tmp / 'teacher.pth')
    shutil.copy(TEACHER, teacher)
    work = tmp / 'kd'
    proc = run('train.py', KD, '--work-dir', work, '--cfg-options',
               *options(root), f'model.teacher_ckpt={teacher}')
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return dict(root=root, teacher=teacher, work=work, proc=proc, tmp=tmp)


def lines(proc):
    return (proc.stdout + proc.stderr).strip().splitlines()


def test_train_console_is_short_and_informative(trained):
    console = lines(trained['proc'])
    text = '\n'.join(console)
    assert len(console) <= MAX_LINES, text
    for expected in ('Run kd_wrn-16-2_resnet8_fmnist', 'Work dir: ',
                     'Log file: ', 'Train data: LocalFashionMNIST (64 images',
                     'Val data: ', 'Schedule: 1 epoch(s) = 4 iterations',
                     'Teacher: ImageClassifier from ', 'Loss terms: '
                     'student.loss, distill.loss_kd (KLDivergence',
                     'Epoch(val) [1][', 'accuracy/top1',
                     'teacher_ckpt: loaded',
                     'Loads checkpoint by local backend from path'):
        assert expected in text, expected
    assert re.search(r'^train +.* 4/4 iters', text, re.M), text  # the bar
    for absent in ('System environment', 'Config:', 'Hooks will be executed',
                   'FileClient', 'HardDiskBackend', 'point_file', 'Warning'):
        assert absent not in text, absent


def test_log_file_keeps_everything(trained):
    log = log_text(trained['work'])
    for expected in ('System environment', 'PyTorch compiling details',
                     'Config:', 'Hooks will be executed in the following',
                     '"FileClient" will be deprecated', 'Train data: ',
                     'Epoch(train) [1][4/4]', 'Epoch(val) [1][',
                     'teacher_ckpt: loaded'):
        assert expected in log, expected


def test_student_only_checkpoint_without_the_teacher_file(trained,
                                                          tmp_path):
    """tools/test.py --verbose; then without the teacher file: the
    student's accuracy, as with the teacher there, and a notice that
    names the working directory and the skipped teacher."""
    ckpt = osp.join(trained['work'], 'epoch_1.pth')
    with_teacher = run('test.py', KD, ckpt, '--work-dir', tmp_path / 'a',
                       '--verbose', '--cfg-options',
                       *options(trained['root']),
                       f'model.teacher_ckpt={trained["teacher"]}')
    assert with_teacher.returncode == 0, with_teacher.stderr[-3000:]
    # --verbose brings the environment and the config back; the test bar.
    text = with_teacher.stdout + with_teacher.stderr
    assert 'System environment' in text and 'Config:' in text
    assert re.search(r'^test +.* 1/1 iters', text, re.M), text
    assert 'FileClient' not in text  # harmless, whatever --verbose says
    moved = str(trained['tmp'] / 'moved.pth')
    os.rename(trained['teacher'], moved)
    try:
        # The relative path of the config, run from another folder.
        alone = run('test.py', osp.join(REPO, KD), ckpt, '--work-dir',
                    tmp_path / 'b', '--cfg-options',
                    *options(trained['root']),
                    'model.teacher_ckpt=checkpoints/fmnist/missing.pth',
                    cwd=str(tmp_path))
    finally:
        os.rename(moved, trained['teacher'])
    text = alone.stdout + alone.stderr
    assert alone.returncode == 0, text[-3000:]
    assert f'working directory {tmp_path}' in text
    assert 'Testing the student alone' in text
    assert "teacher's accuracy is skipped" in text

    def top1(proc):
        return re.findall(r'accuracy/top1: ([0-9.]+)',
                          proc.stdout + proc.stderr)[-1]

    assert top1(alone) == top1(with_teacher)

    # With the teacher back where the checkpoint's record says, that file
    # is used even though the config names another one.
    found = run('test.py', osp.join(REPO, KD), ckpt, '--work-dir',
                tmp_path / 'c', '--cfg-options', *options(trained['root']),
                'model.teacher_ckpt=checkpoints/fmnist/missing.pth',
                cwd=str(tmp_path))
    assert found.returncode == 0, found.stderr[-3000:]
    assert "Using the teacher the checkpoint's record names: " \
        f"{trained['teacher']}" in found.stdout + found.stderr
    assert top1(found) == top1(with_teacher)


def test_result_shows_under_a_quiet_log_level(trained, tmp_path):
    """The configs tools/benchmark.py saves beside its runs carry
    log_level='WARNING'; tools/test.py of such a config still prints the
    result."""
    ckpt = osp.join(trained['work'], 'epoch_1.pth')
    proc = run('test.py', KD, ckpt, '--work-dir', tmp_path, '--cfg-options',
               *options(trained['root']), 'log_level=WARNING',
               f'model.teacher_ckpt={trained["teacher"]}')
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r'^Test: accuracy/top1: [0-9.]+', proc.stdout, re.M), \
        proc.stdout[-3000:]


def test_missing_files_name_the_working_directory(tmp_path):
    proc = run('test.py', osp.join(REPO, KD), 'nothere.pth', cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        "tools/test.py: checkpoint='nothere.pth': no such file (relative "
        f'paths are read from the working directory {tmp_path}). Run from '
        'the folder the path is relative to, or pass an absolute path.')
    proc = run('train.py', osp.join(REPO, KD), '--cfg-options',
               'model.teacher_ckpt=teachers/t.pth', cwd=tmp_path)
    assert proc.returncode == 1
    assert f'working directory {tmp_path}' in proc.stderr.splitlines()[-1]


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='AMP trains on a GPU here')
def test_amp_without_a_gpu_fails_at_start_in_one_line(tmp_path):
    proc = run('train.py', KD, '--amp', '--work-dir', tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ''
    (line, ) = proc.stderr.strip().splitlines()
    assert line.startswith('tools/train.py: --amp asks for mixed-precision '
                           'training')
    assert 'drop --amp' in line and 'device: cpu' in line

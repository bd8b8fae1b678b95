"""Exact resume after a crash: each method's training is killed with SIGKILL
in the middle of epoch 2, resumed with ``--resume`` (from epoch 1's
checkpoint), and must log the same losses at every iteration of epoch 2 as
an uninterrupted run with the same seed, and end with the same weights,
optimizer state, loss memories (RRD queue, REFILLED centers) and scheduler.

A later method is covered by adding one entry to METHODS."""
import functools
import glob
import itertools
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from relkd_mm.runner.checkpoint import (load_checkpoint_file,
                                        trusted_checkpoints)
from tests.train_utils import fork_tool, run_inprocess, wait_forked

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MODELS = 'relkd_mm::_base_/models/cifar100/'
STUDENT = f'model.architecture.cfg_path={MODELS}resnet8.py'
TEACHER = f'model.teacher.cfg_path={MODELS}resnet20.py'
# Random teachers on purpose: opted in explicitly (training refuses one).
NO_CKPT = 'model.teacher_ckpt=None'
RANDOM_OK = 'model.allow_random_teacher=True'

#: method -> (config, extra --cfg-options). Tiny networks (resnet8 student,
#: resnet20 teacher, 64-d features), random teachers (no checkpoint).
METHODS = {
    'kd': ('configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py',
           [STUDENT, TEACHER, NO_CKPT, RANDOM_OK]),
    'rrd_kd': ('configs/rrd/rrd-kd_resnet56_resnet20_1xb64_cifar100.py', [
        STUDENT, TEACHER, NO_CKPT, RANDOM_OK,
        'model.distiller.distill_losses.loss_rrd.queue_size=40'
    ]),
    'vrm': ('configs/vrm/vrm_resnet56_resnet20_1xb64_cifar100.py',
            [STUDENT, TEACHER, NO_CKPT, RANDOM_OK]),
    'refilled_s1': (
        'configs/refilled/refilled-s1_wrn-40-2_wrn-16-1_1xb128_cifar100.py', [
            f'model.teacher.cfg_path={MODELS}wrn_16_1.py', NO_CKPT, RANDOM_OK,
            'model.distiller.distill_losses.loss_refilled.tuple_mode=pad'
        ]),
    'refilled_s2': (
        'configs/refilled/refilled-s2_wrn-40-2_wrn-16-1_1xb128_cifar100.py', [
            f'model.teacher.cfg_path={MODELS}wrn_16_1.py', NO_CKPT, RANDOM_OK,
            'load_from=None',
            'model.distiller.distill_losses.loss_refilled.feat_dim=64'
        ]),
}
ITERS = 8  # 128 generated images, batch 16
KILL_AT = 3  # SIGKILL once epoch 2 has logged this iteration


def options(root, extra):
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    opts = [f'{d}.{k}={v}' for d in loaders for k, v in (
        ('dataset.data_root', root), ('num_workers', 0),
        ('persistent_workers', False))]
    return ['--no-validate', '--cfg-options', *opts,
            'train_dataloader.batch_size=16', 'train_cfg.max_epochs=2',
            'default_hooks.logger.interval=1', 'randomness.seed=0', *extra]


def command(config, work_dir, opts, resume=False):
    return [sys.executable, osp.join(REPO, 'tools', 'train.py'), config,
            '--work-dir', str(work_dir), *(['--resume'] if resume else []),
            *opts]


def environment():
    return dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1',
                PYTHONUNBUFFERED='1')


_RUNS = itertools.count()


def run(cmd):
    """``cmd`` (a tools/train.py command line) in this process: the same
    code path as the subprocess, without a second interpreter start. Only
    the run that is killed needs a process of its own."""
    assert cmd[0] == sys.executable and cmd[1].endswith('train.py'), cmd
    # A unique name: MMEngine's logger and visualizer are named instances.
    proc = run_inprocess('train.py', *cmd[2:],
                         f'experiment_name=kill_resume_{next(_RUNS)}')
    return proc.stdout + proc.stderr


class _Forked:
    """The part of ``subprocess.Popen`` that :func:`run_and_kill` uses, for
    tools/train.py forked from this process (:func:`fork_tool`)."""

    def __init__(self, cmd):
        assert cmd[0] == sys.executable and cmd[1].endswith('train.py')
        read, write = os.pipe()
        self.pid = fork_tool('train.py', *cmd[2:],
                             f'experiment_name=kill_resume_{next(_RUNS)}',
                             output=write)
        os.close(write)
        self.stdout = os.fdopen(read)
        self.returncode = None

    def send_signal(self, sig):
        os.kill(self.pid, sig)

    kill = functools.partialmethod(send_signal, signal.SIGKILL)

    def poll(self):
        return self.returncode

    def wait(self):
        self.returncode = wait_forked(self.pid)
        self.stdout.close()
        return self.returncode


def run_and_kill(cmd, work_dir, timeout=300, forked=True):
    """Start training; SIGKILL it once epoch 2 logs iteration KILL_AT.

    ``forked``: the training process is forked from this one (it starts
    with this process's imports) rather than a fresh interpreter."""
    if forked:
        proc = _Forked(cmd)
    else:
        proc = subprocess.Popen(cmd, cwd=REPO, env=environment(), text=True,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
    pattern = re.compile(r'Epoch\(train\)\s*\[2\]\[\s*(\d+)/')
    deadline = time.time() + timeout
    output = []
    try:
        for line in proc.stdout:
            output.append(line)
            match = pattern.search(line)
            if match and int(match.group(1)) >= KILL_AT:
                proc.send_signal(signal.SIGKILL)
                break
            assert time.time() < deadline, 'training did not reach epoch 2'
    finally:
        if proc.poll() is None and proc.returncode is None:
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, ''.join(output)[-4000:]
    # Killed mid-epoch: epoch 2 never finished.
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))


def logged_losses(work_dir):
    """{(epoch, iter): {key: value}} of the last run's loss entries."""
    runs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    rows = {}
    with open(runs[-1]) as f:
        for line in f:
            row = json.loads(line)
            keys = {k: v for k, v in row.items() if 'loss' in k}
            if keys:
                rows[(row['epoch'], row['iter'])] = keys
    return rows


def checkpoint(path):
    with trusted_checkpoints(path):  # written by this test
        return load_checkpoint_file(path, map_location='cpu')


def assert_same_tree(a, b, where):
    if isinstance(a, torch.Tensor):
        assert torch.allclose(a.double(), b.double(), rtol=1e-5,
                              atol=1e-7), where
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for key in a:
            assert_same_tree(a[key], b[key], f'{where}.{key}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_tree(x, y, f'{where}[{i}]')
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-6), where
    else:
        assert a == b, where


@pytest.mark.parametrize('method', list(METHODS))
def test_sigkill_mid_epoch_then_resume(method, tmp_path, cifar100_root):
    config, extra = METHODS[method]
    opts = options(cifar100_root, extra)
    straight = tmp_path / 'straight'
    run(command(config, straight, opts))

    crashed = tmp_path / 'crashed'
    # One method's crash in a fresh interpreter, as a user's would be.
    run_and_kill(command(config, crashed, opts), str(crashed),
                 forked=method != 'kd')
    log = run(command(config, crashed, opts, resume=True))
    assert 'resumed epoch: 1' in log
    # Resume loads through the allow-list like every other path.
    assert 'with full unpickling' not in log

    expected = logged_losses(straight)
    resumed = logged_losses(crashed)
    assert sorted(resumed) == [(2, ITERS + i) for i in range(1, ITERS + 1)]
    for key, values in resumed.items():
        assert set(values) == set(expected[key]), key
        for name, value in values.items():
            assert value == pytest.approx(expected[key][name], rel=1e-5,
                                          abs=1e-7), (key, name)

    # Same end state: weights, loss memories (RRD queue, REFILLED centers),
    # optimizer moments, schedulers, random states.
    a = checkpoint(straight / 'epoch_2.pth')
    b = checkpoint(crashed / 'epoch_2.pth')
    assert_same_tree(a['state_dict'], b['state_dict'], 'state_dict')
    assert_same_tree(a['optimizer'], b['optimizer'], 'optimizer')
    assert_same_tree(a['param_schedulers'], b['param_schedulers'],
                     'param_schedulers')
    assert a['meta']['iter'] == b['meta']['iter'] == 2 * ITERS
    assert_same_tree(a['random_states']['torch'],
                     b['random_states']['torch'], 'torch random state')

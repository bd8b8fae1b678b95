"""DDP on CPU (gloo, 2 processes of tools/train.py --launcher pytorch:
through torch.distributed.run once, forked from the test process with the
variables torch.distributed.run sets otherwise) against 1 process over the
same global batch, and checkpoints that cross world sizes.

Where the method's loss is a mean of per-sample terms (KD, RRD with its
all-gathered memory), 2 processes x B must equal 1 process x 2B: the mean of
the ranks' logged losses equals the single process's at every iteration,
and the weights and the RRD memory (a step's rows in rank order, a
permutation of the single process's) match after two epochs. For that the
runs avoid what DDP cannot share: random augmentation (each rank draws its
own) and the student's BatchNorm batch statistics (per rank; eval mode
here, or SyncBN on GPUs).

VRM's graphs, REFILLED stage 1's tuples and REFILLED stage 2's classifier
(a softmax over the classes present in the batch) depend on the batch:
under DDP each rank uses its own B samples, so the loss differs from the
single process's 2B-sample one by definition (docs/errors.md, DDP). What
must hold is tested: training runs, each rank's loss is finite, and the
checkpoint resumes on 1 process.

Every method but REFILLED stage 1 trains under DDP without
``find_unused_parameters`` (DDP would stop at the second iteration if a
parameter went without gradient); the runs check the wrapper's setting.

A checkpoint written by 2 processes resumes on 1 (and vice versa) and
continues with the single process's losses (RandomStateHook warns and keeps
the fresh seeds, which these deterministic pipelines do not use).
"""
import itertools
import json
import os
import os.path as osp
import socket
import subprocess
import sys
from collections import defaultdict

import numpy as np
import pytest
import torch

from relkd_mm.runner.checkpoint import (load_checkpoint_file,
                                        trusted_checkpoints)
from tests.train_utils import fork_tool, run_inprocess, wait_forked

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BATCH = 16  # per process; the single process uses 2 x BATCH
ITERS = 4  # 128 images / 32 per step

STUDENT = '''
model = dict(
    teacher_ckpt=None,
    allow_random_teacher=True,
    architecture=dict(
        _delete_=True,
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='{backbone}', arch='{arch}', norm_eval=True),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=64,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/{teacher}.py'))
'''
DETERMINISTIC = '''
train_dataloader = dict(dataset=dict(pipeline=[dict(type='PackInputs')]))
'''
HOOKS = ['mmrazor.RandomStateHook', 'mmrazor.NonFiniteLossHook',
         'mmrazor.TrainCheckHook']

#: method -> (config, student backbone and arch, teacher, extra config
#: text, extra hooks, per-sample loss?)
METHODS = {
    'kd': ('configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py',
           ('RepDistillerResNet', 'resnet8'), 'resnet20', '', [], True),
    'rrd_kd': ('configs/rrd/rrd-kd_resnet56_resnet20_1xb64_cifar100.py',
               ('RepDistillerResNet', 'resnet8'), 'resnet20',
               'model.update(distiller=dict(distill_losses=dict(loss_rrd='
               'dict(queue_size=64))))\n', [], True),
    'refilled_s2': (  # batch-local, see the module docstring
        'configs/refilled/refilled-s2_wrn-40-2_wrn-16-1_1xb128_cifar100.py',
        ('RepDistillerWRN', 'wrn_16_1'), 'wrn_16_1',
        # Frozen BatchNorm statistics of a random student diverge at
        # lr 0.1 (NonFiniteLossHook stops it at iteration 7).
        'load_from = None\nmodel.update(distiller=dict(distill_losses=dict('
        'loss_refilled=dict(feat_dim=64))))\n'
        'optim_wrapper = dict(optimizer=dict(lr=0.005))\n',
        ['mmrazor.RefilledCentersHook'], False),
    'vrm': ('configs/vrm/vrm_resnet56_resnet20_1xb64_cifar100.py',
            ('RepDistillerResNet', 'resnet8'), 'resnet20', '', [], False),
    'refilled_s1': (
        'configs/refilled/refilled-s1_wrn-40-2_wrn-16-1_1xb128_cifar100.py',
        ('RepDistillerWRN', 'wrn_16_1'), 'wrn_16_1', '', [], False),
}


def write_config(tmp_path, method):
    config, (backbone, arch), teacher, extra, hooks, per_sample = \
        METHODS[method]
    hook_list = ', '.join(f"dict(type='{h}')" for h in HOOKS + hooks)
    text = (f'_base_ = [{osp.join(REPO, config)!r}]\n'
            "custom_imports = dict(imports=['relkd_mm', "
            "'tests.test_tools.rank_losses'], allow_failed_imports=False)\n"
            f"custom_hooks = [{hook_list}, dict(type='RankLossHook')]\n"
            "env_cfg = dict(dist_cfg=dict(backend='gloo'))\n"
            + STUDENT.format(backbone=backbone, arch=arch, teacher=teacher)
            + (DETERMINISTIC if per_sample else '') + extra)
    path = tmp_path / f'{method}.py'
    path.write_text(text)
    return str(path)


_RUNS = itertools.count()


def forked_ranks(args, procs, work_dir):
    """tools/train.py --launcher pytorch on ``procs`` processes forked from
    this one, with the variables torch.distributed.run gives its workers
    (env:// rendezvous on a free port): the same ranks without starting
    and importing ``procs`` + 1 interpreters."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    pids, logs = [], []
    for rank in range(procs):
        logs.append(f'{work_dir}_rank{rank}.log')
        env = dict(RANK=str(rank), LOCAL_RANK=str(rank),
                   WORLD_SIZE=str(procs), LOCAL_WORLD_SIZE=str(procs),
                   GROUP_RANK='0', MASTER_ADDR='127.0.0.1',
                   MASTER_PORT=str(port))
        pids.append(fork_tool('train.py', *args, env=env,
                              output=logs[-1]))
    codes = [wait_forked(pid) for pid in pids]
    text = ''
    for path in logs:
        with open(path) as f:
            text += f.read()
    assert codes == [0] * procs, (codes, text[-6000:])
    return text


def train(config, work_dir, root, procs, batch, epochs=2, resume=None,
          extra=(), torchrun=False):
    """tools/train.py on ``procs`` processes: one in this process, more
    forked from it (:func:`forked_ranks`) or, with ``torchrun``, through
    ``python -m torch.distributed.run`` as a user launches them."""
    opts = [f'{d}.{k}={v}' for d in ('train_dataloader', 'val_dataloader',
                                     'test_dataloader')
            for k, v in (('dataset.data_root', root), ('num_workers', 0),
                         ('persistent_workers', False))]
    opts += [f'train_dataloader.batch_size={batch}',
             f'train_cfg.max_epochs={epochs}', 'randomness.seed=0',
             'default_hooks.logger.interval=1', *extra]
    args = [config, '--work-dir', str(work_dir), '--no-validate']
    if procs > 1:
        args += ['--launcher', 'pytorch']
    if resume:
        args += ['--resume', str(resume)]
    args += ['--cfg-options', *opts]
    if procs == 1:
        # tools/train.py in this process, on one thread as the DDP ranks
        # (OMP_NUM_THREADS=1): the same maths as a subprocess of its own,
        # without an interpreter start. A unique name: MMEngine's logger
        # and visualizer are named instances.
        proc = run_inprocess('train.py', *args,
                             f'experiment_name=ddp_single_{next(_RUNS)}')
        return proc.stdout + proc.stderr
    if not torchrun:
        return forked_ranks(args, procs, work_dir)
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone',
           f'--nproc_per_node={procs}',
           osp.join(REPO, 'tools', 'train.py'), *args]
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1',
               PYTHONPATH=REPO)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    return proc.stdout + proc.stderr


def rank_losses(work_dir):
    """{iter: {key: mean over ranks}} and the number of ranks."""
    per_iter = defaultdict(dict)
    for name in os.listdir(work_dir):
        if name.startswith('rank_losses_'):
            with open(osp.join(work_dir, name)) as f:
                for line in f:
                    row = json.loads(line)
                    per_iter[row['iter']][row['rank']] = row['losses']
    means = {}
    for it, ranks in per_iter.items():
        keys = next(iter(ranks.values()))
        means[it] = {k: sum(r[k] for r in ranks.values()) / len(ranks)
                     for k in keys}
    return means, {len(r) for r in per_iter.values()}


def ddp_find_unused(work_dir):
    """The ``find_unused_parameters`` of the DDP wrapper of every logged
    iteration and rank."""
    found = set()
    for name in os.listdir(work_dir):
        if name.startswith('rank_losses_'):
            with open(osp.join(work_dir, name)) as f:
                found |= {json.loads(line)['find_unused'] for line in f}
    return found


#: The method whose config sets find_unused_parameters (its student's head
#: gets no gradient, see test_configs/test_find_unused_parameters.py); the
#: others train under DDP without it.
FIND_UNUSED = {'refilled_s1'}


def state(path):
    with trusted_checkpoints(str(path)):  # written by this test
        return load_checkpoint_file(str(path), map_location='cpu')


#: How far DDP may sit from the single process, in units of the measured
#: summation-order noise floor (see :func:`test_ddp_equals_single_process`).
NOISE_FACTOR = 8
#: The floor's float32 resolution: a difference of a few ulps of the value
#: is rounding whatever the order (a floor measured as exactly 0 at one
#: iteration would otherwise demand bitwise equality of DDP).
ULPS = 4
#: The sensitivity check: the bound must stay below this fraction of what
#: the weights moved in the last epoch, so that a defect that changes the
#: updates (a wrong gradient average, a missing gather) cannot hide in it.
MAX_BOUND_VS_UPDATE = 0.05
REORDER = ['train_dataloader.sampler.type=RankOrderSampler',
           f'train_dataloader.sampler.batch_size={2 * BATCH}']


def ulp(value):
    return ULPS * float(np.spacing(np.float32(abs(value))))


def loss_bounds(single, reordered):
    """{iter: {key: bound}}: NOISE_FACTOR x the largest summation-order
    difference of the loss so far (noise grows with training), at least a
    few ulps of the value."""
    bounds, worst = {}, defaultdict(float)
    for it in sorted(single):
        bounds[it] = {}
        for key, value in single[it].items():
            worst[key] = max(worst[key], abs(reordered[it][key] - value))
            bounds[it][key] = NOISE_FACTOR * max(worst[key], ulp(value))
    return bounds


def assert_losses_close(got, expected, bounds, iters):
    assert sorted(got) == sorted(iters), sorted(got)
    for it in iters:
        for key, value in expected[it].items():
            diff = abs(got[it][key] - value)
            assert diff <= bounds[it][key], (it, key, diff, bounds[it][key])


def rank_ordered(key, value):
    """The RRD memory in DDP's row order: each step's 32 rows are rank 0's
    samples (even positions of the single process's batch), then rank 1's
    (odd positions)."""
    if not key.endswith('loss_rrd.queue'):
        return value
    order = list(range(0, 2 * BATCH, 2)) + list(range(1, 2 * BATCH, 2))
    return torch.cat([value[i:i + 2 * BATCH][order]
                      for i in range(0, len(value), 2 * BATCH)])


def max_diff(a, b):
    return (a.double() - b.double()).abs().max().item() if a.numel() else 0.


@pytest.mark.parametrize('method', ['kd', 'rrd_kd'])
def test_ddp_equals_single_process(method, tmp_path, cifar100_root):
    """DDP equals one process as tightly as float32 allows on this CPU.

    The noise floor is measured in the test, not assumed: a second
    single-process run sees each global batch in DDP's rank order
    (``RankOrderSampler``), the same samples and maths in another summation
    order. Its difference from the plain run is the floor; DDP (which sums
    in yet another order: per rank, then all-reduce) may differ from the
    plain run by at most NOISE_FACTOR times it (ULPS ulps at least).

    Measured on an AMD EPYC (2 cores, OMP_NUM_THREADS=1, torch 2.13 CPU):
    after 8 SGD steps the floor of the weights is 3e-5 (rrd_kd, weights of
    magnitude 0.5, where a loss spike at step 6 amplifies rounding) and
    1e-7 (kd); DDP's differences were 0.97-1.04 x the floor for rrd_kd and
    at most 1.4 x for kd, the losses' at most 2 x (rrd_kd, iteration 4).
    NOISE_FACTOR = 8 leaves 4 x margin over the worst ratio, for CPUs whose
    kernels split sums otherwise (the old fixed rtol=2e-4/atol=2e-5 failed
    on this machine at 4.1e-5). The bound stays below 1% of the last
    epoch's weight updates here, and the test asserts it below 5%
    (MAX_BOUND_VS_UPDATE) on any machine, so it still catches a wrong
    gradient average (every update 2 x or 0.5 x), a missing all-gather or
    a memory written out of rank order (rows off by their whole size)."""
    config = write_config(tmp_path, method)
    one, perm, two = tmp_path / 'one', tmp_path / 'perm', tmp_path / 'two'
    train(config, one, cifar100_root, 1, 2 * BATCH)
    train(config, perm, cifar100_root, 1, 2 * BATCH, extra=REORDER)
    # One DDP run through torch.distributed.run, as a user launches it;
    # the others forked (the same ranks, no interpreter starts).
    train(config, two, cifar100_root, 2, BATCH, torchrun=method == 'kd')
    single, ranks1 = rank_losses(one)
    reordered, _ = rank_losses(perm)
    ddp, ranks2 = rank_losses(two)
    assert ranks1 == {1} and ranks2 == {2}
    assert ddp_find_unused(two) == {False}
    bounds = loss_bounds(single, reordered)
    assert_losses_close(ddp, single, bounds, range(2 * ITERS))

    a, p, b = (state(d / 'epoch_2.pth')['state_dict'] for d in (one, perm,
                                                                two))
    a1 = state(one / 'epoch_1.pth')['state_dict']
    for key, value in a.items():
        if not value.is_floating_point():
            assert torch.equal(b[key], value), key
            continue
        value = rank_ordered(key, value)
        bound = NOISE_FACTOR * max(max_diff(p[key], value),
                                   ulp(value.abs().max().item()))
        diff = max_diff(b[key], value)
        assert diff <= bound, (key, diff, bound)
        update = max_diff(value, rank_ordered(key, a1[key]))
        if update > 0:  # trained (the frozen teacher's are exactly equal)
            assert bound <= MAX_BOUND_VS_UPDATE * update, (key, bound,
                                                           update)

    # The 2-process checkpoint of epoch 1 resumes on 1 process, and vice
    # versa: epoch 2 repeats the uninterrupted runs' losses (epoch 1 having
    # been summed in the other order, the same noise bound applies).
    cross = tmp_path / 'two_to_one'
    log = train(config, cross, cifar100_root, 1, 2 * BATCH,
                resume=two / 'epoch_1.pth')
    assert 'written by 2 process(es), this run has 1' in log
    got, _ = rank_losses(cross)
    assert_losses_close(got, single, bounds, range(ITERS, 2 * ITERS))
    if method == 'rrd_kd':
        cross = tmp_path / 'one_to_two'
        train(config, cross, cifar100_root, 2, BATCH,
              resume=one / 'epoch_1.pth')
        got, _ = rank_losses(cross)
        assert_losses_close(got, ddp, bounds, range(ITERS, 2 * ITERS))


@pytest.mark.parametrize('method', ['vrm', 'refilled_s1', 'refilled_s2'])
def test_ddp_batch_local_relations(method, tmp_path, cifar100_root):
    config = write_config(tmp_path, method)
    two = tmp_path / 'two'
    train(config, two, cifar100_root, 2, BATCH, epochs=1)
    losses, ranks = rank_losses(two)
    assert ranks == {2} and sorted(losses) == list(range(ITERS))
    assert ddp_find_unused(two) == {method in FIND_UNUSED}
    for row in losses.values():
        assert all(torch.isfinite(torch.tensor(v)) for v in row.values())
    one = tmp_path / 'two_to_one'
    log = train(config, one, cifar100_root, 1, 2 * BATCH, epochs=2,
                resume=two / 'epoch_1.pth')
    assert 'resumed epoch: 1' in log
    resumed = state(one / 'epoch_2.pth')['state_dict']
    first = state(two / 'epoch_1.pth')['state_dict']
    assert set(resumed) == set(first)

"""DistillDiagnosticsHook on a generated Fashion-MNIST: each method's
diagnostics reach MMEngine's visualiser (vis_data/scalars.json), the
gradient norms are those of the terms at the student's features, and the
validation agreement equals the loss's own ``agreement``."""
import glob
import json
import os.path as osp

import pytest

from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import run_inprocess

CONFIGS = {
    'kd': 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py',
    'vrm': 'configs/quickstart/vrm_wrn-16-2_resnet8_fmnist.py',
    'rrd': 'configs/quickstart/rrd_wrn-16-2_resnet8_fmnist.py',
    'refilled_s1': 'configs/quickstart/refilled-s1_wrn-16-2_resnet8_fmnist.py',
}
#: The agreement each method's loss reports on the validation split.
AGREEMENT = {
    'kd': set(),
    'vrm': {'loss_vrm.is_discrepancy', 'loss_vrm.ic_discrepancy'},
    'rrd': {'loss_rrd.kl'},
    'refilled_s1': {'loss_refilled.order', 'loss_refilled.kl'},
}


def scalars(work_dir):
    (path, ) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=64, num_test=32)


@pytest.mark.parametrize('method', list(CONFIGS))
def test_diagnostics_are_logged(method, fmnist, tmp_path, repo_root):
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        f'_base_ = [{osp.join(repo_root, CONFIGS[method])!r}]\n'
        'custom_hooks = _base_.custom_hooks + '
        "[dict(type='mmrazor.DistillDiagnosticsHook', val_batches=2)]\n"
        'train_cfg = dict(max_epochs=1, val_interval=1, val_begin=1)\n'
        'model = dict(teacher_ckpt=None, allow_random_teacher=True)\n')
    work = tmp_path / 'work'
    opts = [f'{d}.dataset.data_root={fmnist}' for d in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')]
    # tools/train.py in this process (the hook is tested, not the CLI).
    run_inprocess('train.py', cfg, '--work-dir', work, '--cfg-options',
                  *opts, 'train_dataloader.batch_size=16',
                  'val_dataloader.batch_size=16',
                  'default_hooks.logger.interval=1', 'randomness.seed=0',
                  f'experiment_name=diagnostics_{method}')
    rows = scalars(str(work))
    train = [r for r in rows if 'diag/grad.distill.' + (
        'loss_kd' if method == 'kd' else 'loss_' + method.split('_')[0])
        in r]
    assert len(train) == 4, rows[:2]  # 64 images / 16, logged every step
    for row in train:
        grads = {k: v for k, v in row.items() if k.startswith('diag/grad.')}
        assert grads and all(v >= 0 for v in grads.values()), row
    # MMEngine logs means over a window of iterations; the first row's
    # window holds one iteration, where ratio = grad(distill) / grad(CE).
    first = train[0]
    if 'diag/grad.student.loss' in first:  # a CE term to compare with
        for key, value in first.items():
            if key.startswith('diag/grad.distill.'):
                ratio = first['diag/ratio.' + key[len('diag/grad.'):]]
                assert ratio == pytest.approx(
                    value / first['diag/grad.student.loss'], rel=1e-6)
    (val, ) = [r for r in rows if 'accuracy/top1' in r]
    got = {k[len('diag/'):] for k in val if k.startswith('diag/')}
    assert got == AGREEMENT[method]
    for key in got:
        assert val['diag/' + key] >= 0

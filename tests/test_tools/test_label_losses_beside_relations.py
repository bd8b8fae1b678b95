"""MMRazor's losses that take labels train beside VRM and RRD: DKD added to
the Fashion-MNIST VRM and RRD quick-start configs, through tools/train.py
on tiny generated data. Under ``VRMDistill`` the logits have ``2B`` rows
(real and virtual views); the labels DKD sees used to have ``B``, and
``distill.loss_dkd`` was NaN at iteration 1."""
import math
import os.path as osp
import re

import pytest
import torch

from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, fmnist_options, log_text, train

DKD = '''
_base_ = [{base!r}]
model = dict(distiller=dict(
    student_recorders=dict(
        dkd_fc=dict(type='ModuleOutputs', source='head.fc'),
        gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
    teacher_recorders=dict(
        dkd_fc=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(loss_dkd=dict(
        type='DKDLoss', tau=4, alpha=1.0, beta=8.0,
        reduction='batchmean', loss_weight=1.0)),
    loss_forward_mappings=dict(loss_dkd=dict(
        preds_S=dict(from_student=True, recorder='dkd_fc'),
        preds_T=dict(from_student=False, recorder='dkd_fc'),
        gt_labels=dict(recorder='gt_labels', from_student=True,
                       data_idx=1)))))
'''

BATCH = 8


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


def config_with_dkd(tmp_path, base):
    path = tmp_path / f'dkd_{osp.basename(base)}'
    path.write_text(DKD.format(base=osp.join(REPO, base)))
    return str(path)


@pytest.fixture
def dkd_inputs(monkeypatch):
    """The shapes and labels every DKDLoss call gets."""
    from mmrazor.models.losses import DKDLoss
    seen = []
    forward = DKDLoss.forward

    def recording(self, preds_S, preds_T, gt_labels):
        seen.append((tuple(preds_S.shape), tuple(preds_T.shape),
                     gt_labels.detach().clone()))
        return forward(self, preds_S, preds_T, gt_labels)

    monkeypatch.setattr(DKDLoss, 'forward', recording)
    return seen


def losses_logged(work_dir, key):
    values = re.findall(rf'{re.escape(key)}: (\S+)', log_text(work_dir))
    return [float(v) for v in values]


def run(tmp_path, fmnist, base, *options):
    work = tmp_path / 'work'
    # tools/train.py reads the config from disk, relative paths resolved.
    config = config_with_dkd(tmp_path, base)
    train(osp.relpath(config, REPO), work, options=fmnist_options(
        fmnist, epochs=1, batch=BATCH) + ['model.allow_random_teacher=True',
                                          *options])
    return work


def test_vrm_with_dkd_trains_and_labels_cover_both_views(fmnist, tmp_path,
                                                         dkd_inputs):
    work = run(tmp_path, fmnist,
               'configs/quickstart/vrm_wrn-16-2_resnet8_fmnist.py')
    dkd = losses_logged(work, 'distill.loss_dkd')
    vrm = losses_logged(work, 'distill.loss_vrm')
    assert len(dkd) == 4 and len(vrm) == 4
    assert all(math.isfinite(v) for v in dkd + vrm)
    assert len(dkd_inputs) == 4
    for shape_s, shape_t, labels in dkd_inputs:
        assert shape_s == shape_t == (2 * BATCH, 10)
        # One label per logit row: the real rows' labels, then the same
        # labels for the virtual views of the same samples.
        assert labels.shape == (2 * BATCH, )
        assert torch.equal(labels[:BATCH], labels[BATCH:])
        assert 0 <= int(labels.min()) and int(labels.max()) < 10


def test_vrm_both_views_ce_with_dkd(fmnist, tmp_path, dkd_inputs):
    """student_ce='both' records the loss module on 2B rows itself."""
    work = run(tmp_path, fmnist,
               'configs/quickstart/vrm_wrn-16-2_resnet8_fmnist.py',
               'model.student_ce=both')
    assert all(math.isfinite(v)
               for v in losses_logged(work, 'distill.loss_dkd'))
    for shape_s, _, labels in dkd_inputs:
        assert shape_s[0] == labels.shape[0] == 2 * BATCH
        assert torch.equal(labels[:BATCH], labels[BATCH:])


def test_rrd_with_dkd_trains(fmnist, tmp_path, dkd_inputs):
    work = run(tmp_path, fmnist,
               'configs/quickstart/rrd_wrn-16-2_resnet8_fmnist.py')
    dkd = losses_logged(work, 'distill.loss_dkd')
    rrd = losses_logged(work, 'distill.loss_rrd')
    assert len(dkd) == 4 and len(rrd) == 4
    assert all(math.isfinite(v) for v in dkd + rrd)
    for shape_s, shape_t, labels in dkd_inputs:
        assert shape_s == shape_t == (BATCH, 10)
        assert labels.shape == (BATCH, )

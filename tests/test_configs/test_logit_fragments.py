"""MMRazor's logit losses as one-line fragments (configs/_base_/distill/
dkd_logits.py, dist_logits.py, beside kd_logits.py): each trains beside VRM,
RRD and REFILLED's stage 2 for a few iterations; a mapping key a loss's
forward does not take names the loss, the key and the keys it takes; a
distiller run that never validates says so once at start."""
import math
import os.path as osp
import re

import pytest

from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import (REPO, fmnist_options, log_text, run_inprocess,
                               train)

QUICK = osp.join(REPO, 'configs', 'quickstart')
FRAGMENTS = {
    'dkd': ('dkd_logits', 'distill.loss_dkd'),
    'dist': ('dist_logits', 'distill.loss_dist'),
}
RELATIONS = {
    'vrm': ('vrm_wrn-16-2_resnet8_fmnist.py', 'distill.loss_vrm'),
    'rrd': ('rrd_wrn-16-2_resnet8_fmnist.py', 'distill.loss_rrd'),
    'refilled-s2': ('refilled-s2_wrn-16-2_resnet8_fmnist.py',
                    'distill.loss_refilled'),
}


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


@pytest.mark.parametrize('relation', sorted(RELATIONS))
@pytest.mark.parametrize('fragment', sorted(FRAGMENTS))
def test_fragment_trains_beside_a_relation(fmnist, tmp_path, fragment,
                                           relation):
    name, key = FRAGMENTS[fragment]
    base, relation_key = RELATIONS[relation]
    config = tmp_path / 'cfg.py'
    # The one line a user adds, with the fragment among the bases.
    config.write_text(
        f"_base_ = [{osp.join(QUICK, base)!r}, "
        f"'relkd_mm::_base_/distill/{name}.py']\n"
        f'model = dict(distiller=_base_.{name})\n')
    work = tmp_path / 'work'
    train(str(config), work, options=fmnist_options(fmnist, batch=8) + [
        'model.allow_random_teacher=True'])
    log = log_text(work)
    for term in (key, relation_key):
        values = [float(v) for v in re.findall(
            rf'{re.escape(term)}: (\S+)', log)]
        assert len(values) == 4 and all(map(math.isfinite, values)), term


def test_a_mapping_key_the_loss_does_not_take(fmnist, tmp_path):
    """The README's preds_S/preds_T keys for DISTLoss."""
    config = tmp_path / 'cfg.py'
    config.write_text(f'''
_base_ = [{osp.join(QUICK, 'kd_wrn-16-2_resnet8_fmnist.py')!r}]
model = dict(distiller=dict(
    distill_losses=dict(loss_dist=dict(type='DISTLoss')),
    loss_forward_mappings=dict(loss_dist=dict(
        preds_S=dict(from_student=True, recorder='fc'),
        preds_T=dict(from_student=False, recorder='fc')))))
''')
    with pytest.raises(ValueError) as info:
        train(str(config), tmp_path / 'work', options=fmnist_options(
            fmnist, batch=8) + ['model.allow_random_teacher=True'])
    assert str(info.value) == (
        "distiller: loss_forward_mappings['loss_dist'] maps ['preds_S', "
        "'preds_T'], which the forward of loss 'loss_dist' (DISTLoss) does "
        "not take: it takes ['logits_S', 'logits_T']. Rename the key(s) to "
        'those (e.g. DISTLoss takes logits_S/logits_T where KLDivergence '
        'takes preds_S/preds_T).')


def test_a_stage_that_never_validates_says_so(fmnist, tmp_path):
    """KD + REFILLED's stage 1 in one distiller: stage 1 never validates
    (val_begin beyond the run) and the log says so once, at start."""
    config = tmp_path / 'cfg.py'
    config.write_text(
        f"_base_ = [{osp.join(QUICK, 'refilled-s1_wrn-16-2_resnet8_fmnist.py')!r}, "  # noqa: E501
        "'relkd_mm::_base_/distill/kd_logits.py']\n"
        'model = dict(distiller=_base_.kd_logits)\n')
    work = tmp_path / 'work'
    proc = run_inprocess(
        'train.py', str(config), '--work-dir', str(work), '--cfg-options',
        *fmnist_options(fmnist, batch=8), 'model.allow_random_teacher=True')
    notes = re.findall(r'TrainCheckHook: this run never validates.*',
                       log_text(work))
    assert notes == [
        'TrainCheckHook: this run never validates: train_cfg.val_begin='
        '1000000 is beyond its 1 epoch(s), so no accuracy is logged for it '
        '(the distillation losses are). This stage trains without the '
        "student's cross-entropy (calculate_student_loss=False, as "
        "REFILLED's stage 1): its classifier is trained by the next stage, "
        'whose validation measures the student. To validate it anyway, set '
        'train_cfg.val_begin=1.']
    assert 'this run never validates' in proc.stdout

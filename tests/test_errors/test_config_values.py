"""Config values that used to fail obscurely or pass silently: numbers given
as strings, a negative loss_weight, a recorder of a tuple, an RRD memory
smaller than VRMDistill's 2B rows per step, a misspelt top-level key."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from mmrazor.registry import MODELS

from relkd_mm.compat import ConfigArgumentError, ConfigValueError
from relkd_mm.engine.hooks.config_keys import unknown_config_keys
from tests.test_errors.test_config_errors import (batch, check, distiller,
                                                  rrd_distiller)
from tests.test_runner.test_strict_loading import (built_by_runner, distill,
                                                   distill_cfg)
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, STUDENT, fmnist_options, log_text, train


@pytest.mark.parametrize('registry,cfg,key,value', [
    (MODELS, dict(type='KLDivergence', tau='4'), 'tau', '4'),
    (MODELS, dict(type='KLDivergence', loss_weight='1.0'), 'loss_weight',
     '1.0'),
    (MODELS, dict(type='mmrazor.RRDLoss', queue_size='64'), 'queue_size',
     '64'),
    (PRETRAIN_MODELS, dict(type='CrossEntropyLoss', loss_weight='1.0'),
     'loss_weight', '1.0'),
])
def test_numbers_given_as_strings(registry, cfg, key, value, tmp_path):
    with pytest.raises(ConfigArgumentError) as info:
        built_by_runner(cfg, tmp_path, registry.scope)
    msg = str(info.value)
    assert f'{key}={value!r} is a string' in msg
    assert f'Write {key}={value} without quotes' in msg


def test_string_number_deep_in_a_distiller(tmp_path):
    cfg = distiller(losses=dict(loss_kd=dict(type='KLDivergence', tau='4')))
    with pytest.raises(ConfigArgumentError,
                       match=r"KLDivergence .*tau='4' is a string"):
        built_by_runner(distill_cfg(distiller=cfg), tmp_path)


def test_negative_loss_weight(tmp_path):
    cfg = distiller(losses=dict(loss_kd=dict(type='KLDivergence', tau=4,
                                             loss_weight=-1.0)))
    with pytest.raises(ConfigValueError,
                       match=r'KLDivergence .*loss_weight=-1.0 is negative'
                       r'.*maximise.*loss_weight >= 0'):
        built_by_runner(distill_cfg(distiller=cfg), tmp_path)


def test_recorder_of_a_tuple_names_recorder_loss_and_data_idx():
    """GlobalAveragePooling returns a tuple: KLDivergence used to fail with
    "'tuple' object has no attribute 'detach'"."""
    cfg = distiller(
        student=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher=dict(feat=dict(type='ModuleOutputs', source='neck')),
        mappings=dict(loss_kd=dict(
            preds_S=dict(from_student=True, recorder='feat'),
            preds_T=dict(from_student=False, recorder='feat'))))
    model = distill(distiller=cfg)
    with pytest.raises(Exception) as info:
        model(*batch(), mode='loss')
    msg = str(info.value)
    assert "loss 'loss_kd' (KLDivergence)" in msg
    assert "student_recorders['feat'] (source='neck')" in msg
    assert "data_idx=0 in loss_forward_mappings['loss_kd']" in msg


def test_rrd_memory_smaller_than_vrm_rows_per_step():
    """VRMDistill writes 2B teacher rows a step: a queue of 12 holds one
    batch of 8 samples but not its 16 rows."""
    model = distill('VRMDistill', distiller=rrd_distiller(queue=12))
    with pytest.raises(ValueError,
                       match=r'queue_size=12, smaller than the 16 teacher '
                       r'embeddings written per step \(batch_size=8 x 2 '
                       r'views'):
        check(model, range(16), batch_size=8)
    check(distill('VRMDistill', distiller=rrd_distiller(queue=16)),
          range(16), batch_size=8)
    check(distill(distiller=rrd_distiller(queue=12)), range(16),
          batch_size=8)  # one row per sample elsewhere


def test_misspelt_top_level_key_is_warned(tmp_path):
    root = make_fashion_mnist(str(tmp_path / 'fmnist'), num_train=16,
                              num_test=8)
    config = tmp_path / 'typo.py'
    config.write_text(
        f'_base_ = [{osp.join(REPO, STUDENT)!r}]\n'
        "optim_wraper = dict(optimizer=dict(type='SGD', lr=0.5))\n")
    train(config, tmp_path / 'work', options=fmnist_options(root))
    log = log_text(tmp_path / 'work')
    assert "top-level key 'optim_wraper' is read by no part of MMEngine " \
        "or relkd_mm" in log
    assert "Did you mean 'optim_wrapper'?" in log


@pytest.mark.parametrize('config', [
    'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py',
    'configs/rrd/rrd-kd_resnet56_resnet20_1xb64_cifar100.py',
    'configs/refilled/refilled-s2_wrn-40-2_wrn-16-2_1xb128_cifar100.py',
    'configs/vrm/vrm_resnet50_mobilenetv2_8xb32_in1k.py',
])
def test_repo_configs_have_no_unread_keys(config):
    assert unknown_config_keys(Config.fromfile(osp.join(REPO, config))) == []

"""One test per row of docs/errors.md (configuration rows): each bad config
fails early with a message naming the key, the value and the fix."""
import os.path as osp
import sys
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmrazor.registry import MODELS

from relkd_mm.compat import ConfigArgumentError
from relkd_mm.engine.hooks import TrainCheckHook

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)),
                            'test_runner'))
from test_strict_loading import (built_by_runner, classifier,  # noqa: E402
                                 distill, distill_cfg)

KD = dict(type='KLDivergence', tau=4)


def distiller(student=None, teacher=None, losses=None, mappings=None,
              connectors=None):
    return dict(
        type='CheckedConfigurableDistiller',
        student_recorders=student or dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=teacher or dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=losses or dict(loss_kd=KD),
        connectors=connectors or dict(),
        loss_forward_mappings=mappings or dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc'))))


def batch(n=4, num_classes=100):
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    return torch.randn(n, 3, 32, 32), [
        DataSample().set_gt_label(i % num_classes) for i in range(n)
    ]


def test_misspelt_loss_key_suggests_the_valid_one(tmp_path):
    with pytest.raises(ConfigArgumentError) as info:
        built_by_runner(dict(type='mmrazor.RRDLoss', tau_S=0.04), tmp_path)
    msg = str(info.value)
    assert "RRDLoss (type='mmrazor.RRDLoss') has no argument 'tau_S'" \
        in msg
    assert 'tau_S=0.04' in msg and "Did you mean 'tau_s'" in msg


def test_misspelt_key_deep_in_a_distiller_config(tmp_path):
    cfg = distiller(losses=dict(loss_kd=dict(type='KLDivergence', taus=4)))
    with pytest.raises(ConfigArgumentError,
                       match=r"KLDivergence.*'taus'.*Did you mean 'tau'"):
        built_by_runner(distill_cfg(distiller=cfg), tmp_path)


def test_misspelt_key_in_a_config_file(repo_root, cifar100_root, tmp_path):
    """Through the whole user path: Config + the runner it names."""
    from mmengine.registry import RUNNERS
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/rrd/rrd_resnet56_resnet20_1xb64_'
                 'cifar100.py'))
    cfg.model.distiller.distill_losses.loss_rrd.tau_S = 0.1
    cfg.model.teacher_ckpt = None
    cfg.work_dir = str(tmp_path)
    cfg.train_dataloader.dataset.data_root = cifar100_root
    with pytest.raises(ConfigArgumentError, match="'tau_S'.*'tau_s'"):
        RUNNERS.build(cfg)


def test_recorder_source_not_in_model():
    cfg = distiller(student=dict(
        fc=dict(type='ModuleOutputs', source='head.fcx')))
    with pytest.raises(ValueError,
                       match=r"student_recorders\['fc'\] records "
                       r"source='head.fcx'.*Close names: \['head.fc'"):
        distill(distiller=cfg)


def test_recorder_that_never_ran():
    cfg = distiller(teacher=dict(
        fc=dict(type='ModuleOutputs', source='head.loss_module')))
    model = distill('RefilledDistill', distiller=cfg)  # teacher: tensor mode
    with pytest.raises(RuntimeError,
                       match=r"teacher_recorders\['fc'\] \(source="
                       r"'head.loss_module'\) recorded 0 call.*did not run"):
        model(*batch(), mode='loss')


def test_loss_argument_mapped_to_nothing():
    cfg = distiller(mappings=dict(loss_kd=dict(
        preds_S=dict(from_student=True, recorder='fc'))))
    with pytest.raises(ValueError,
                       match=r"loss 'loss_kd' \(KLDivergence\) needs the "
                       r"argument\(s\) \['preds_T'\].*maps only "
                       r"\['preds_S'\]"):
        distill(distiller=cfg)


def test_mapping_to_an_undefined_recorder():
    cfg = distiller(mappings=dict(loss_kd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='fc'))))
    with pytest.raises(ValueError,
                       match=r"recorder='logits', which is not one of the "
                       r"student_recorders \['fc'\]"):
        distill(distiller=cfg)


def rrd_distiller(dim_in_s=64, embed_dim=16, queue=64):
    return distiller(
        student=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher=dict(feat=dict(type='ModuleOutputs', source='neck')),
        losses=dict(loss_rrd=dict(type='RRDLoss', queue_size=queue,
                                  embed_dim=embed_dim)),
        connectors=dict(
            es=dict(type='EmbedConnector', dim_in=dim_in_s, dim_out=16),
            et=dict(type='EmbedConnector', dim_in=64, dim_out=16)),
        mappings=dict(loss_rrd=dict(
            preds_S=dict(from_student=True, recorder='feat', data_idx=0,
                         connector='es'),
            preds_T=dict(from_student=False, recorder='feat', data_idx=0,
                         connector='et'))))


def test_embedding_dim_does_not_match_connector():
    model = distill(distiller=rrd_distiller(dim_in_s=128))
    with pytest.raises(ValueError,
                       match=r'EmbedConnector: dim_in=128 .* 64 values per '
                       r'sample; set dim_in'):
        model(*batch(), mode='loss')


def test_embedding_dim_does_not_match_loss():
    model = distill(distiller=rrd_distiller(embed_dim=32))
    with pytest.raises(ValueError,
                       match=r"loss 'loss_rrd' \(RRDLoss\) failed on preds_S "
                       r'\(4, 16\).*connector .es.*expected \(B, 32\)'):
        model(*batch(), mode='loss')


def test_vrm_without_virtual_views():
    with pytest.raises(TypeError,
                       match='VRMDistill: model.data_preprocessor is a '
                       'ClsDataPreprocessor.*MultiView'):
        distill('VRMDistill',
                data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'))
    model = distill('VRMDistill', data_preprocessor=dict(
        type='mmpretrain.MultiViewClsDataPreprocessor'))
    with pytest.raises(ValueError, match='needs a real and a virtual view'):
        model.loss(*batch())


def test_teacher_student_class_count_mismatch_kd():
    model = distill(teacher=classifier(num_classes=10))
    with pytest.raises(RuntimeError,
                       match=r"loss 'loss_kd' \(KLDivergence\) failed on "
                       r'preds_S \(4, 100\).*preds_T \(4, 10\).*different '
                       r'numbers of classes.*REFILLED'):
        model(*batch(num_classes=10), mode='loss')


def test_refilled_labels_outside_student_head():
    loss = MODELS.build(dict(type='mmrazor.RefilledClassifierLoss',
                             num_classes=5, feat_dim=16, center_mode='batch'))
    labels = torch.tensor([0, 1, 2, 7])
    with pytest.raises(ValueError,
                       match=r'labels in \[0, 7\] for num_classes=5'):
        loss(torch.randn(4, 5), torch.randn(4, 16), labels)


def test_vrm_batch_of_one():
    loss = MODELS.build(dict(type='mmrazor.VRMLoss'))
    with pytest.raises(ValueError,
                       match='at least 2 samples per batch.*drop_last'):
        loss(torch.randn(2, 10), torch.randn(2, 10))


# ---------------------------------------------------------------------------
# TrainCheckHook: checks before the first step.
# ---------------------------------------------------------------------------
class Labelled(torch.utils.data.Dataset):

    def __init__(self, labels):
        self.labels = list(labels)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return idx

    def get_gt_labels(self):
        return self.labels

    def get_data_info(self, idx):
        return dict(img_path=f'img_{idx}.png')


def check(model, labels, batch_size=4, drop_last=False):
    loader = torch.utils.data.DataLoader(
        Labelled(labels), batch_size=batch_size, drop_last=drop_last)
    TrainCheckHook().before_train(
        SimpleNamespace(model=model, train_dataloader=loader))


def test_check_hook_passes_a_good_setup():
    check(distill(), range(100))
    check(distill(distiller=rrd_distiller(queue=4)), range(8))


def test_empty_training_set():
    with pytest.raises(ValueError, match='the training set Labelled.* is '
                       'empty. Check train_dataloader.dataset'):
        check(distill(), [])


def test_label_file_out_of_range_names_the_sample():
    labels = list(range(10))
    labels[5] = 150
    with pytest.raises(ValueError,
                       match=r'sample 5 \(img_5.png\) .* has label 150, '
                       r'outside the student head \(num_classes=100\)'):
        check(distill(), labels)
    with pytest.raises(ValueError, match='label -1'):
        check(MODELS.build(classifier()), [0, -1, 2])


def test_teacher_head_smaller_than_the_labels():
    """CheckedSingleTeacherDistill, as MMRazor's SingleTeacherDistill,
    runs the teacher with the student's labels."""
    with pytest.raises(ValueError,
                       match=r'label 10, outside the teacher head '
                       r'\(num_classes=10\).*RefilledDistill'):
        check(distill(teacher=classifier(num_classes=10)), range(20))
    # RefilledDistill runs its teacher in tensor mode: no constraint.
    check(distill('RefilledDistill', teacher=classifier(num_classes=10),
                  distiller=rrd_distiller()), range(20))


def test_rrd_queue_smaller_than_the_batch():
    with pytest.raises(ValueError,
                       match=r"'loss_rrd' \(RRDLoss\) has queue_size=4, "
                       r'smaller than the 8 teacher embeddings.*queue_size'):
        check(distill(distiller=rrd_distiller(queue=4)), range(16),
              batch_size=8)


@pytest.mark.parametrize('loss', ['VRMLoss', 'RefilledTupleLoss'])
def test_batch_too_small_for_a_relation(loss):
    model = distill(distiller=distiller(
        losses=dict(loss_kd=dict(type=loss)),
        mappings=dict(loss_kd=dict(
            preds_S=dict(from_student=True, recorder='fc'),
            preds_T=dict(from_student=False, recorder='fc'),
            **({'gt_labels': dict(from_student=True, recorder='fc')}
               if loss == 'RefilledTupleLoss' else {})))))
    with pytest.raises(ValueError, match='batch_size=1. Use a batch size'):
        check(model, range(8), batch_size=1)
    with pytest.raises(ValueError,
                       match=r'ends with a batch of 1 sample \(9 samples '
                       r'per process, batch_size=4\).*drop_last=True'):
        check(model, range(9))
    check(model, range(9), drop_last=True)


def test_check_hook_in_default_runtime(repo_root):
    cfg = Config.fromfile(f'{repo_root}/configs/_base_/default_runtime.py')
    assert 'mmrazor.TrainCheckHook' in [h['type'] for h in cfg.custom_hooks]


def test_amp_losses_are_fp32_and_finite():
    """Under bf16 and fp16 autocast every relational loss computes in fp32
    and returns a finite value (also for half-precision inputs)."""
    torch.manual_seed(0)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    cases = {
        'VRMLoss': (dict(), lambda d: (torch.randn(16, 10, dtype=d) * 30,
                                       torch.randn(16, 10, dtype=d) * 30)),
        'RRDLoss': (dict(queue_size=32, embed_dim=16), lambda d: (
            F.normalize(torch.randn(8, 16)).to(d),
            F.normalize(torch.randn(8, 16)).to(d))),
        'RefilledTupleLoss': (dict(), lambda d: (
            torch.randn(8, 16, dtype=d) * 30, torch.randn(8, 16, dtype=d)
            * 30, labels)),
        'RefilledClassifierLoss': (dict(num_classes=4, feat_dim=16,
                                        center_mode='batch'), lambda d: (
            torch.randn(8, 4, dtype=d) * 30, torch.randn(8, 16, dtype=d),
            labels)),
    }
    for dtype in (torch.bfloat16, torch.float16):
        for name, (kwargs, inputs) in cases.items():
            loss = MODELS.build(dict(type='mmrazor.' + name, **kwargs))
            with torch.autocast('cpu', dtype=dtype):
                value = loss(*inputs(dtype))
            assert value.dtype == torch.float32, (name, dtype)
            assert torch.isfinite(value), (name, dtype)

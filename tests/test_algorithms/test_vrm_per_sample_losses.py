"""VRMDistill gives MMRazor's losses that take labels or per-sample data
(DKD's labels from ``head.loss_module``, CRD's data samples from
``source=''``) one entry per logit row: ``2B``, real rows first, each
sample's entry repeated for its virtual view, in both ``student_ce``
modes."""
import math

import pytest
import torch
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

import relkd_mm  # noqa: F401  (compat patches before any mm* import)
from tests.test_algorithms.test_vrm_distill import classifier

B = 4


def vrm_with_dkd_and_crd(student_ce):
    return MODELS.build(dict(
        _scope_='mmrazor',
        type='VRMDistill',
        architecture=classifier(),
        teacher=classifier('resnet14'),
        student_ce=student_ce,
        data_preprocessor=dict(type='mmpretrain.MultiViewClsDataPreprocessor'),
        distiller=dict(
            type='CheckedConfigurableDistiller',
            student_recorders=dict(
                fc=dict(type='ModuleOutputs', source='head.fc'),
                feat=dict(type='ModuleOutputs', source='neck.gap'),
                gt_labels=dict(type='ModuleInputs',
                               source='head.loss_module'),
                data_samples=dict(type='ModuleInputs', source='')),
            teacher_recorders=dict(
                fc=dict(type='ModuleOutputs', source='head.fc'),
                feat=dict(type='ModuleOutputs', source='neck.gap')),
            connectors=dict(
                crd_s=dict(type='CRDConnector', dim_in=64, dim_out=16),
                crd_t=dict(type='CRDConnector', dim_in=64, dim_out=16)),
            distill_losses=dict(
                loss_vrm=dict(type='VRMLoss'),
                loss_dkd=dict(type='DKDLoss', tau=4, beta=8.0,
                              reduction='batchmean'),
                loss_crd=dict(type='WeightedCRDLoss', loss_weight=0.8,
                              neg_num=8, sample_n=32, dim_out=16)),
            loss_forward_mappings=dict(
                loss_vrm=dict(
                    preds_S=dict(from_student=True, recorder='fc'),
                    preds_T=dict(from_student=False, recorder='fc')),
                loss_dkd=dict(
                    preds_S=dict(from_student=True, recorder='fc'),
                    preds_T=dict(from_student=False, recorder='fc'),
                    gt_labels=dict(from_student=True, recorder='gt_labels',
                                   data_idx=1)),
                loss_crd=dict(
                    s_feats=dict(from_student=True, recorder='feat',
                                 connector='crd_s'),
                    t_feats=dict(from_student=False, recorder='feat',
                                 connector='crd_t'),
                    data_samples=dict(from_student=True,
                                      recorder='data_samples',
                                      data_idx=1))))))


@pytest.mark.parametrize('student_ce', ['real', 'both'])
def test_labels_and_data_samples_cover_both_views(student_ce):
    torch.manual_seed(0)
    model = vrm_with_dkd_and_crd(student_ce)
    g = torch.Generator().manual_seed(0)
    views = [torch.randn(B, 3, 32, 32, generator=g) for _ in range(2)]
    labels = [3, 7, 1, 7]
    samples = [DataSample(sample_idx=torch.tensor(i)).set_gt_label(y)
               for i, y in enumerate(labels)]
    losses = model.loss(views, samples)
    for key in ('distill.loss_vrm', 'distill.loss_dkd', 'distill.loss_crd',
                'student.loss'):
        assert math.isfinite(float(losses[key])), key
    distiller = model.distiller
    logits = distiller.get_record('fc', True)
    seen = distiller.get_record('gt_labels', True, data_idx=1)
    assert logits.shape == (2 * B, 100)
    assert seen.tolist() == labels + labels
    records = distiller.get_record('data_samples', True, data_idx=1)
    assert [int(s.sample_idx) for s in records] == [0, 1, 2, 3] * 2
    # The task loss stays on the real rows with 'real'.
    if student_ce == 'real':
        import torch.nn.functional as F
        expected = F.cross_entropy(logits[:B], torch.tensor(labels))
        assert torch.allclose(losses['student.loss'], expected)

"""VRMDistill and its two-view data path: pipeline, preprocessor, rows."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import default_collate, pseudo_collate
from mmengine.registry import DefaultScope
from mmpretrain.models import LinearClsHead
from mmpretrain.registry import DATASETS
from mmpretrain.registry import MODELS as PRETRAIN_MODELS
from mmrazor.registry import MODELS

import relkd_mm  # noqa: F401  (compat patches before any mm* import)

DATA_CFG = 'configs/_base_/distill/vrm_cifar100_1xb64.py'


def classifier(arch='resnet8', num_classes=100):
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='RepDistillerResNet', arch=arch),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=64,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def algorithm(preprocessor=None, losses=None, student_ce='real',
              student=None):
    losses = losses or dict(loss_vrm=dict(type='VRMLoss'))
    return MODELS.build(
        dict(
            _scope_='mmrazor',
            type='VRMDistill',
            architecture=student or classifier(),
            teacher=classifier('resnet14'),
            student_ce=student_ce,
            data_preprocessor=preprocessor
            or dict(type='mmpretrain.MultiViewClsDataPreprocessor'),
            distiller=dict(
                type='CheckedConfigurableDistiller',
                student_recorders=dict(
                    fc=dict(type='ModuleOutputs', source='head.fc')),
                teacher_recorders=dict(
                    fc=dict(type='ModuleOutputs', source='head.fc')),
                distill_losses=losses,
                loss_forward_mappings={
                    name: dict(
                        preds_S=dict(from_student=True, recorder='fc'),
                        preds_T=dict(from_student=False, recorder='fc'))
                    for name in losses
                })))


def two_views(batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    views = [torch.randn(batch, 3, 32, 32, generator=g) for _ in range(2)]
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(i % 100) for i in range(batch)]
    return views, samples


def test_config_pipeline_keeps_sample_and_view_order(cifar100_root):
    """The config's real pipeline, dataset, collate and preprocessor:
    view 0 is the real view, view 1 the virtual one, of the same sample."""
    # The runner's default scope, without leaking into other tests.
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        check_pipeline(cifar100_root)


def check_pipeline(cifar100_root):
    cfg = Config.fromfile(DATA_CFG)
    pipeline = copy.deepcopy(cfg.train_pipeline)
    multi_view = pipeline[0]
    assert multi_view.type == 'MultiView' and multi_view.num_views == [1, 1]
    real, virtual = multi_view.transforms
    assert virtual[:-1] == real
    randaug = virtual[-1]
    assert randaug.type == 'RandAugment'
    assert (randaug.num_policies, randaug.magnitude_level,
            randaug.total_level) == (2, 9, 10)
    # The config's pipeline runs as is (RandAugment included) ...
    dataset = DATASETS.build(
        dict(
            type=cfg.dataset_type,
            data_root=cifar100_root,
            split='train',
            pipeline=pipeline))
    packed = dataset[0]
    assert isinstance(packed['inputs'], list) and len(packed['inputs']) == 2
    assert packed['inputs'][0].shape == packed['inputs'][1].shape
    # ... and with an identifiable virtual op (colour inversion instead of
    # RandAugment), every virtual row is its real row's inverse, up to the
    # independent crop and flip: compare the center pixel.
    virtual[-1] = dict(type='Invert', prob=1.0)
    dataset = DATASETS.build(
        dict(
            type=cfg.dataset_type,
            data_root=cifar100_root,
            split='train',
            pipeline=pipeline))
    raw = DATASETS.build(
        dict(
            type=cfg.dataset_type,
            data_root=cifar100_root,
            split='train',
            pipeline=[]))
    pre = PRETRAIN_MODELS.build(
        dict(cfg.data_preprocessor, type='MultiViewClsDataPreprocessor'))
    mean = torch.tensor(cfg.data_preprocessor.mean).view(3, 1)
    std = torch.tensor(cfg.data_preprocessor.std).view(3, 1)
    idx = [5, 0, 3, 7]
    for collate in (default_collate, pseudo_collate):
        out = pre(collate([dataset[i] for i in idx]), training=True)
        real_x, virtual_x = out['inputs']
        assert real_x.shape == virtual_x.shape == (4, 3, 32, 32)
        for row, i in enumerate(idx):
            img = torch.from_numpy(raw[i]['img']).permute(2, 0, 1).float()
            label = out['data_samples'][row].gt_label.item()
            assert label == raw[i]['gt_label']
            # Crop (pad 4) and flip move the center by at most 5 pixels.
            window = img[:, 11:21, 11:21].reshape(3, -1)
            for x, expect in ((real_x, window), (virtual_x, 255 - window)):
                pixel = x[row, :, 16, 16].view(3, 1) * std + mean
                assert (expect - pixel).abs().amax(0).min() < 1e-3


def test_preprocessor_single_view_is_cls_preprocessor():
    kwargs = dict(mean=[1., 2., 3.], std=[2., 2., 2.], to_rgb=True)
    multi = PRETRAIN_MODELS.build(
        dict(type='MultiViewClsDataPreprocessor', **kwargs))
    plain = PRETRAIN_MODELS.build(dict(type='ClsDataPreprocessor', **kwargs))
    x = torch.randint(0, 255, (3, 3, 8, 8), dtype=torch.uint8)
    torch.testing.assert_close(
        multi(dict(inputs=x))['inputs'], plain(dict(inputs=x))['inputs'])
    views = multi(dict(inputs=[x, x.flip(0)]))['inputs']
    torch.testing.assert_close(views[0], plain(dict(inputs=x))['inputs'])
    torch.testing.assert_close(views[1],
                               plain(dict(inputs=x.flip(0)))['inputs'])
    mixing = PRETRAIN_MODELS.build(
        dict(
            type='MultiViewClsDataPreprocessor',
            num_classes=10,
            batch_augments=dict(augments=dict(type='Mixup', alpha=1.))))
    with pytest.raises(ValueError, match='batch_augments'):
        mixing(dict(inputs=[x, x]), training=True)


@pytest.mark.parametrize('student_ce', ['real', 'both'])
def test_rows_real_then_virtual_and_student_ce(student_ce):
    algo = algorithm(student_ce=student_ce)
    algo.eval()  # BatchNorm statistics independent of the batch
    views, samples = two_views()
    losses = algo.loss(views, samples)
    rec_s = algo.distiller.student_recorders.get_recorder(
        'fc').get_record_data()
    rec_t = algo.distiller.teacher_recorders.get_recorder(
        'fc').get_record_data()
    assert rec_s.shape == rec_t.shape == (8, 100)
    with torch.no_grad():
        for rec, model in ((rec_s, algo.student), (rec_t, algo.teacher)):
            expect = torch.cat([model(v, mode='tensor') for v in views])
            torch.testing.assert_close(rec.detach(), expect)
    labels = torch.tensor([s.gt_label.item() for s in samples])
    rows = rec_s[:4] if student_ce == 'real' else rec_s
    targets = labels if student_ce == 'real' else labels.repeat(2)
    torch.testing.assert_close(losses['student.loss'],
                               F.cross_entropy(rows, targets))
    assert set(losses) >= {'student.loss', 'distill.loss_vrm'}


def test_gradients_reach_the_student_only():
    algo = algorithm()
    algo.train()
    views, samples = two_views()
    sum(algo.loss(views, samples).values()).backward()
    assert all(p.grad is None for p in algo.teacher.parameters())
    assert algo.student.head.fc.weight.grad.abs().sum() > 0
    # The distillation loss alone also reaches the student.
    algo.zero_grad()
    algo.loss(views, samples)['distill.loss_vrm'].backward()
    assert algo.student.backbone.conv1.weight.grad.abs().sum() > 0


def test_with_other_mmrazor_losses():
    algo = algorithm(
        losses=dict(
            loss_vrm=dict(type='VRMLoss', prune='entropy'),
            loss_kd=dict(type='KLDivergence', tau=4, loss_weight=0.5)))
    views, samples = two_views()
    losses = algo.loss(views, samples)
    assert {'distill.loss_vrm', 'distill.loss_kd'} <= set(losses)
    sum(losses.values()).backward()
    assert all(torch.isfinite(v) for v in losses.values())


def test_single_view_fails_with_a_clear_message():
    algo = algorithm()
    views, samples = two_views()
    with pytest.raises(ValueError, match=r'one view.*MultiView'):
        algo.loss(views[0], samples)
    with pytest.raises(ValueError, match='stacked the views'):
        algo.loss(torch.stack(views), samples)
    with pytest.raises(ValueError, match='exactly 2 views'):
        algo.loss(views + views[:1], samples)
    with pytest.raises(ValueError, match='3 data samples for 4 images'):
        algo.loss(views, samples[:3])
    with pytest.raises(TypeError, match='MultiViewClsDataPreprocessor'):
        algorithm(preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'))
    with pytest.raises(ValueError, match="student_ce='none'"):
        algorithm(student_ce='none')


def test_real_ce_needs_a_plain_cls_head():

    @PRETRAIN_MODELS.register_module(force=True)
    class _HeadWithOwnLoss(LinearClsHead):

        def loss(self, feats, data_samples, **kwargs):
            return super().loss(feats, data_samples, **kwargs)

    student = classifier()
    student['head']['type'] = '_HeadWithOwnLoss'
    with pytest.raises(TypeError, match="student_ce='both'"):
        algorithm(student=student)
    algo = algorithm(student=student, student_ce='both')
    views, samples = two_views()
    assert 'student.loss' in algo.loss(views, samples)

"""RefilledDistill (teacher of another label space) and RefilledCentersHook.
"""
import os
import os.path as osp
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS
from torch.utils.data import DataLoader

from relkd_mm.engine.hooks import RefilledCentersHook

FEAT = 120  # LeNet5's pooled feature


def classifier(num_classes, dropout=0.0):
    head = (dict(type='StackedLinearClsHead', num_classes=num_classes,
                 in_channels=FEAT, mid_channels=[16], dropout_rate=dropout)
            if dropout else
            dict(type='LinearClsHead', num_classes=num_classes,
                 in_channels=FEAT))
    return dict(_scope_='mmpretrain', type='ImageClassifier',
                backbone=dict(type='LeNet5'),
                neck=dict(type='GlobalAveragePooling'), head=head)


def algorithm_cfg(stage, teacher_classes=5, student_classes=10,
                  weighted=False, center_mode='global'):
    """A tiny REFILLED model's config: LeNet5 teacher (with dropout in its
    head) of ``teacher_classes`` classes, LeNet5 student of
    ``student_classes``."""
    if stage == 1:
        losses = dict(loss_tuple=dict(type='RefilledTupleLoss', margin=2.0))
        mappings = dict(loss_tuple=dict(
            preds_S=dict(from_student=True, recorder='feat'),
            preds_T=dict(from_student=False, recorder='feat'),
            gt_labels=dict(from_student=True, recorder='labels',
                           data_idx=1)))
    else:
        losses = dict(loss_cls=dict(
            type='RefilledClassifierLoss', num_classes=student_classes,
            feat_dim=FEAT, center_mode=center_mode, weighted=weighted))
        mappings = dict(loss_cls=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            feats_T=dict(from_student=False, recorder='feat'),
            gt_labels=dict(from_student=True, recorder='labels',
                           data_idx=1)))
        if weighted:
            mappings['loss_cls']['logits_T'] = dict(
                from_student=False, recorder='logits')
    cfg = dict(
        type='RefilledDistill',
        calculate_student_loss=stage == 2,
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
        architecture=classifier(student_classes),
        teacher=classifier(teacher_classes, dropout=0.5),
        distiller=dict(
            type='CheckedConfigurableDistiller',
            student_recorders=dict(
                feat=dict(type='ModuleOutputs', source='neck.gap'),
                logits=dict(type='ModuleOutputs', source='head.fc'),
                labels=dict(type='ModuleInputs',
                            source='head.loss_module')),
            teacher_recorders=dict(
                feat=dict(type='ModuleOutputs', source='neck.gap'),
                logits=dict(type='ModuleOutputs', source='head')),
            distill_losses=losses,
            loss_forward_mappings=mappings))
    return cfg


def algorithm(*args, **kwargs):
    return MODELS.build(algorithm_cfg(*args, **kwargs))


def batch(labels, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [dict(inputs=torch.randn(1, 32, 32, generator=gen),
                 data_samples=DataSample().set_gt_label(int(y)))
            for y in labels]


def preprocess(model, labels, seed=0):
    data = model.data_preprocessor(pseudo_collate(batch(labels, seed)), True)
    return data['inputs'], data['data_samples']


@pytest.mark.parametrize('stage', [1, 2])
def test_teacher_of_another_label_space(stage):
    torch.manual_seed(0)
    model = algorithm(stage, weighted=stage == 2, center_mode='batch')
    model.train()
    assert not any(m.training for m in model.teacher.modules())
    assert model.student.training
    # Labels 5..9 are beyond the teacher's five classes: it must never see
    # them as targets.
    labels = torch.arange(24) % 10
    inputs, samples = preprocess(model, labels)
    losses = model.loss(inputs, samples)
    expected = {'distill.loss_tuple'} if stage == 1 else {
        'distill.loss_cls', 'student.loss'}
    assert set(k for k in losses if 'loss' in k) == expected
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert total.isfinite() and total > 0
    total.backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    backbone = model.student.backbone.features[0].weight.grad
    assert backbone is not None and backbone.abs().sum() > 0
    head_grad = model.student.head.fc.weight.grad
    # Stage 1 trains the embedding only: the classifier gets no gradient.
    assert (head_grad is None) == (stage == 1)


def test_teacher_runs_in_tensor_mode_and_eval(monkeypatch):
    torch.manual_seed(0)
    model = algorithm(2, weighted=True, center_mode='batch')
    modes = []
    forward = model.teacher.forward
    monkeypatch.setattr(
        model.teacher, 'forward',
        lambda *a, mode='tensor': modes.append(mode) or forward(*a, mode))
    model.train()
    inputs, samples = preprocess(model, torch.arange(8) % 10)
    model.loss(inputs, samples)
    first = model.distiller.get_record('logits', from_student=False)
    model.loss(inputs, samples)
    second = model.distiller.get_record('logits', from_student=False)
    assert modes == ['tensor', 'tensor']
    # Dropout in the teacher's head is off: identical teacher logits.
    assert torch.equal(first, second)
    assert first.shape == (8, 5)


def test_calculate_student_loss_is_mmrazors_argument():
    """MMRazor's ``calculate_student_loss`` is the argument (VRMDistill's
    ``student_ce`` chooses views); REFILLED's old ``student_ce``, never
    released, is gone."""
    assert not algorithm(1).calculate_student_loss
    cfg = algorithm_cfg(1)
    cfg['student_ce'] = cfg.pop('calculate_student_loss')
    with pytest.raises(TypeError, match='student_ce'):
        MODELS.build(cfg)


def test_fixed_arguments_are_refused():
    with pytest.raises(ValueError, match='teacher_trainable'):
        MODELS.build(dict(type='RefilledDistill', teacher_trainable=True,
                          architecture={}, teacher={}, distiller={}))


def loader(labels, seed=0, batch_size=5):
    return DataLoader(batch(labels, seed), batch_size=batch_size,
                      collate_fn=pseudo_collate)


def expected_centers(model, labels, seed=0):
    data = model.data_preprocessor(pseudo_collate(batch(labels, seed)), False)
    with torch.no_grad():
        feats = model.teacher.extract_feat(data['inputs'])[-1].double()
    means = torch.stack([feats[labels == k].mean(0) for k in range(10)])
    return F.normalize(means, dim=1)


def test_centers_hook_values_and_resume(monkeypatch):
    torch.manual_seed(0)
    model = algorithm(2)
    labels = torch.arange(23) % 10
    runner = SimpleNamespace(model=model, train_dataloader=loader(labels))
    model.train()
    RefilledCentersHook().before_train(runner)
    loss = model.distiller.distill_losses['loss_cls']
    assert bool(loss.centers_ready)
    torch.testing.assert_close(loss.centers.double(),
                               expected_centers(model, labels),
                               rtol=1e-5, atol=1e-6)
    assert not any(m.training for m in model.teacher.modules())
    inputs, samples = preprocess(model, labels[:8])
    assert model.loss(inputs, samples)['distill.loss_cls'].isfinite()

    # A resumed run restores the buffers: the hook must not recompute.
    restored = algorithm(2)
    restored.load_state_dict(model.state_dict())
    monkeypatch.setattr(RefilledCentersHook, 'accumulate', None)
    RefilledCentersHook().before_train(
        SimpleNamespace(model=restored, train_dataloader=None))
    torch.testing.assert_close(
        restored.distiller.distill_losses['loss_cls'].centers, loss.centers)


def test_centers_hook_missing_class():
    torch.manual_seed(0)
    model = algorithm(2)
    labels = torch.tensor([0, 1, 2, 4, 5, 6, 8, 9] * 2)
    runner = SimpleNamespace(model=model, train_dataloader=loader(labels))
    with pytest.raises(ValueError, match=r'classes \[3, 7\]'):
        RefilledCentersHook().before_train(runner)


def _ddp_worker(rank, port, out):
    # Forked: no OpenMP pool of the parent in this child.
    torch.set_num_threads(1)
    torch.distributed.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=2)
    try:
        torch.manual_seed(0)
        model = algorithm(2)
        labels = torch.arange(20) % 10
        # Each rank sees its half of the data, as a distributed sampler does.
        mine = torch.arange(rank, 20, 2)
        data = batch(labels)
        dl = DataLoader([data[i] for i in mine], batch_size=4,
                        collate_fn=pseudo_collate)
        RefilledCentersHook().before_train(
            SimpleNamespace(model=model, train_dataloader=dl))
        loss = model.distiller.distill_losses['loss_cls']
        torch.save(dict(centers=loss.centers,
                        expected=expected_centers(model, labels)),
                   osp.join(out, f'rank{rank}.pth'))
        # Both ranks here before the group goes (a rank that left first
        # has hung its peer at exit: tools/analysis/ddp_unused_cost.py).
        torch.distributed.barrier()
    finally:
        torch.distributed.destroy_process_group()


def test_centers_hook_ddp_gloo(tmp_path):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    # Forked, not spawned: the ranks start with this process's imports
    # instead of importing the stack again (seconds each).
    mp.start_processes(_ddp_worker, args=(port, str(tmp_path)), nprocs=2,
                       join=True, start_method='fork')
    results = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    torch.testing.assert_close(results[0]['centers'], results[1]['centers'])
    torch.testing.assert_close(results[0]['centers'].double(),
                               results[0]['expected'], rtol=1e-5, atol=1e-6)

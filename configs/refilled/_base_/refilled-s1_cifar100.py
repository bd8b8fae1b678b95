# REFILLED stage 1 on CIFAR-100 (2021 REFILLED code): relationship matching
# on semi-hard tuples of the pooled embeddings, no cross-entropy. 200 epochs,
# batch 128, SGD (nesterov) with cosine annealing from 0.1 to 0.01.
# Method configs set `architecture`, `teacher` and `teacher_ckpt`.
_base_ = [
    '../../_base_/datasets/cifar100_bs64.py',
    '../../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=128)

model = dict(
    _scope_='mmrazor',
    type='RefilledDistill',
    calculate_student_loss=False,
    architecture=dict(pretrained=False),
    teacher=dict(pretrained=False),
    distiller=dict(
        type='CheckedConfigurableDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap')),
        distill_losses=dict(
            loss_refilled=dict(
                type='RefilledTupleLoss',
                loss_weight=1000.0,
                tau=4.0,
                margin=0.2,
                tuple_mode='pad')),
        loss_forward_mappings=dict(
            loss_refilled=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feat'),
                gt_labels=dict(
                    from_student=True, recorder='labels', data_idx=1)))))
# Stage 1 never updates the student's classifier: under DDP its head is a
# parameter without gradient.
find_unused_parameters = True

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, T_max=200, eta_min=0.01)
# Stage 1 trains no classifier, so there is no accuracy to validate (stage 2
# reports it): validation never begins. The loaders stay defined so that
# options shared with stage 2 (e.g. data_root) apply to both stages.
train_cfg = dict(by_epoch=True, max_epochs=200, val_begin=1_000_000)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

# REFILLED stage 2 on CIFAR-100 (2021 REFILLED code): cross-entropy plus
# 100 x KL to the classifier induced by the teacher's global class centers
# (tau 2 on both sides). 200 epochs, batch 128, SGD (nesterov) lr 0.1,
# x0.2 at epochs 100, 140, 180. Starts from stage 1's last checkpoint
# (`load_from`, set by each method config and by tools/train_refilled.py).
_base_ = [
    '../../_base_/datasets/cifar100_bs64.py',
    '../../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=128)

model = dict(
    _scope_='mmrazor',
    type='RefilledDistill',
    calculate_student_loss=True,
    architecture=dict(pretrained=False),
    teacher=dict(pretrained=False),
    distiller=dict(
        type='CheckedConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap'),
            logits=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_refilled=dict(
                type='RefilledClassifierLoss',
                num_classes=100,
                feat_dim=128,  # the teacher's feature (wrn_40_2)
                loss_weight=100.0,
                tau=2.0,
                student_tau=True,
                center_mode='global',
                weighted=False)),
        loss_forward_mappings=dict(
            loss_refilled=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                feats_T=dict(from_student=False, recorder='feat'),
                gt_labels=dict(
                    from_student=True, recorder='labels', data_idx=1)))))

# Fills the loss's global centers (one teacher pass over the training set)
# unless a resumed checkpoint already holds them; the shared runtime's hooks
# (exact resume, NaN guard, set-up checks) are kept.
custom_hooks = _base_.custom_hooks + [dict(type='mmrazor.RefilledCentersHook')]

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[100, 140, 180], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

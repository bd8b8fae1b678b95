# REFILLED stage 1 (relkd_mm RefilledTupleLoss, 2021 settings: 1000 x KL on
# semi-hard tuples, tau 4, margin 0.2) on the pooled features; no
# cross-entropy. Stage 2: refilled-s2_wrn-16-2_resnet8_fmnist.py.
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
    './_base_.py',
]
default_hooks = dict(logger=dict(interval=50))
model = dict(
    type='RefilledDistill',
    calculate_student_loss=False,
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap')),
        distill_losses=dict(
            loss_refilled=dict(type='RefilledTupleLoss', loss_weight=1000.0,
                               tau=4.0, margin=0.2, tuple_mode='pad')),
        loss_forward_mappings=dict(
            loss_refilled=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feat'),
                gt_labels=dict(
                    from_student=True, recorder='labels', data_idx=1)))))
# No classifier is trained in stage 1: nothing to validate, and under DDP
# the student's head is a parameter without gradient.
find_unused_parameters = True
train_cfg = dict(val_begin=1_000_000)

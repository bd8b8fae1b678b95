# REFILLED stage 2 (relkd_mm RefilledClassifierLoss, 2021 settings: CE +
# 100 x KL to the teacher's center classifier, tau 2, global centers),
# from stage 1's last checkpoint (tools/quickstart.py sets load_from).
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
    './_base_.py',
]
default_hooks = dict(logger=dict(interval=50))
model = dict(
    type='RefilledDistill',
    calculate_student_loss=True,
    distiller=dict(
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='head.fc'),
            labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap')),
        distill_losses=dict(
            loss_refilled=dict(type='RefilledClassifierLoss', num_classes=10,
                               feat_dim=128, loss_weight=100.0, tau=2.0)),
        loss_forward_mappings=dict(
            loss_refilled=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                feats_T=dict(from_student=False, recorder='feat'),
                gt_labels=dict(
                    from_student=True, recorder='labels', data_idx=1)))))
# The shared runtime's hooks, and the one that fills the global centers.
custom_hooks = _base_.custom_hooks + [dict(type='mmrazor.RefilledCentersHook')]

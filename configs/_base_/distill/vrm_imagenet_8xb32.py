# VRM on ImageNet: 8 GPUs x 32 images (64 views per GPU), 100 epochs, SGD
# lr 0.1, x0.1 at 30/60/90, wd 1e-4. VRMDistill runs teacher and student once
# each on the real + virtual views; VRMLoss on the head's (2B, C) logits.
# Method configs fill in `architecture`, `teacher` and `teacher_ckpt`.
_base_ = [
    '../datasets/imagenet_bs32_vrm.py',
    '../schedules/imagenet_bs256.py',
    '../default_runtime.py',
]

model = dict(
    _scope_='mmrazor',
    type='VRMDistill',
    student_ce='real',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_vrm=dict(
                type='VRMLoss',
                loss_weight=1.0,
                is_weight=1.0,
                ic_weight=1.0,
                zscore=True,
                is_pairs='all',
                prune='discrepancy',
                prune_ratio=0.1)),
        loss_forward_mappings=dict(
            loss_vrm=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))
find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

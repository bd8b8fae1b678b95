# VRM on CIFAR-100 with RepDistiller's protocol: VRMDistill runs teacher and
# student once each on the real + virtual views (2B = 128 images per step);
# the student's CE on the real view; VRMLoss on the head's (2B, C) logits.
# Method configs fill in `architecture`, `teacher` and `teacher_ckpt`.
_base_ = [
    '../datasets/cifar100_bs64_vrm.py',
    '../schedules/cifar100_240e.py',
    '../default_runtime.py',
]

model = dict(
    _scope_='mmrazor',
    type='VRMDistill',
    architecture=dict(pretrained=False),
    teacher=dict(pretrained=False),
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
# Reports the student's accuracy and the teacher's (prefixed `teacher.`).
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

# VRM on CIFAR-100 with RepDistiller's protocol: VRMDistill runs teacher and
# student once each on the real + virtual views (2B = 128 images per step);
# the student's CE on the real view; VRMLoss on the head's (2B, C) logits.
# Method configs fill in `architecture`, `teacher` and `teacher_ckpt`.
_base_ = [
    '../datasets/cifar100_bs64_vrm.py',
    '../schedules/cifar100_240e.py',
    '../default_runtime.py',
    './vrm_distiller.py',
]

model = dict(
    _scope_='mmrazor',
    type='VRMDistill',
    architecture=dict(pretrained=False),
    teacher=dict(pretrained=False),
    student_ce='real',
    distiller=_base_.vrm_distiller)
# find_unused_parameters stays off: every trainable parameter gets a gradient
# each step (test_configs/test_find_unused_parameters.py checks it), and
# DDP's search for unused ones would cost an autograd traversal per step.
# Reports the student's accuracy and the teacher's (prefixed `teacher.`).
# TeacherCachedDistillValLoop (relkd_mm): MMRazor's loop with the frozen
# teacher evaluated once, not at every validation.
val_cfg = dict(_delete_=True, type='mmrazor.TeacherCachedDistillValLoop')

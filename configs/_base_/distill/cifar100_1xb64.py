# A single-teacher distillation on CIFAR-100 with RepDistiller's protocol.
# Method configs fill in `architecture`, `teacher`, `teacher_ckpt` and the
# distiller (recorders, losses, mappings).
_base_ = [
    '../datasets/cifar100_bs64.py',
    '../schedules/cifar100_240e.py',
    '../default_runtime.py',
]

model = dict(
    _scope_='mmrazor',
    type='CheckedSingleTeacherDistill',
    architecture=dict(pretrained=False),
    teacher=dict(pretrained=False),
    distiller=dict(type='CheckedConfigurableDistiller'),
)
# find_unused_parameters stays off: every trainable parameter gets a gradient
# each step (test_configs/test_find_unused_parameters.py checks it), and
# DDP's search for unused ones would cost an autograd traversal per step.
# Reports the student's accuracy and the teacher's (prefixed `teacher.`).
# TeacherCachedDistillValLoop (relkd_mm): MMRazor's loop with the frozen
# teacher evaluated once, not at every validation.
val_cfg = dict(_delete_=True, type='mmrazor.TeacherCachedDistillValLoop')

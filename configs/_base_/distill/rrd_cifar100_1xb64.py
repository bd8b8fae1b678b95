# RRD on CIFAR-100 with RepDistiller's protocol (batch 64, 240 epochs); the
# distiller is ./rrd_distiller.py's. Method configs set `architecture`,
# `teacher`, `teacher_ckpt` and the connectors' `dim_in`.
_base_ = [
    '../datasets/cifar100_bs64.py',
    '../schedules/cifar100_240e.py',
    '../default_runtime.py',
    './rrd_distiller.py',
]

model = dict(
    _scope_='mmrazor',
    type='CheckedSingleTeacherDistill',
    architecture=dict(pretrained=False),
    teacher=dict(pretrained=False),
    distiller=_base_.rrd_distiller)
# find_unused_parameters stays off: every trainable parameter gets a gradient
# each step (test_configs/test_find_unused_parameters.py checks it), and
# DDP's search for unused ones would cost an autograd traversal per step.
# Reports the student's accuracy and the teacher's (prefixed `teacher.`).
# TeacherCachedDistillValLoop (relkd_mm): MMRazor's loop with the frozen
# teacher evaluated once, not at every validation.
val_cfg = dict(_delete_=True, type='mmrazor.TeacherCachedDistillValLoop')

# VRM on ImageNet: 8 GPUs x 32 images (64 views per GPU), 100 epochs, SGD
# lr 0.1, x0.1 at 30/60/90, wd 1e-4. VRMDistill runs teacher and student once
# each on the real + virtual views; VRMLoss on the head's (2B, C) logits.
# Method configs fill in `architecture`, `teacher` and `teacher_ckpt`.
_base_ = [
    '../datasets/imagenet_bs32_vrm.py',
    '../schedules/imagenet_bs256.py',
    '../default_runtime.py',
    './vrm_distiller.py',
]

model = dict(
    _scope_='mmrazor',
    type='VRMDistill',
    student_ce='real',
    distiller=_base_.vrm_distiller)
# find_unused_parameters stays off: every trainable parameter gets a gradient
# each step (test_configs/test_find_unused_parameters.py checks it), and
# DDP's search for unused ones would cost an autograd traversal per step.
# TeacherCachedDistillValLoop (relkd_mm): MMRazor's loop with the frozen
# teacher evaluated once, not at every validation.
val_cfg = dict(_delete_=True, type='mmrazor.TeacherCachedDistillValLoop')

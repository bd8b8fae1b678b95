# The quick start's single-teacher distillation skeleton: method configs add
# the distiller's recorders, losses and mappings.
_base_ = ['./_base_.py']
model = dict(
    _scope_='mmrazor',
    type='CheckedSingleTeacherDistill',
    architecture=_base_.student_model,
    teacher=_base_.teacher_model,
    # Set by tools/quickstart.py; a direct run must pass
    # --cfg-options model.teacher_ckpt=PATH (training refuses a random one).
    teacher_ckpt=None,
    distiller=dict(type='CheckedConfigurableDistiller'))
# find_unused_parameters stays off: every trainable parameter gets a gradient
# each step (test_configs/test_find_unused_parameters.py checks it), and
# DDP's search for unused ones would cost an autograd traversal per step.
# TeacherCachedDistillValLoop (relkd_mm): MMRazor's loop with the frozen
# teacher evaluated once, not at every validation.
val_cfg = dict(_delete_=True, type='mmrazor.TeacherCachedDistillValLoop')

# The quick start's single-teacher distillation skeleton: method configs add
# the distiller's recorders, losses and mappings.
_base_ = ['./_base_.py']
model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    architecture=_base_.student_model,
    teacher=_base_.teacher_model,
    teacher_ckpt=None,  # set by tools/quickstart.py
    distiller=dict(type='ConfigurableDistiller'))
find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

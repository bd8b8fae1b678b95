# fmnist-lowdata protocol: student@2B, resnet8 alone (no teacher) trained
# with the cross-entropy on both the real and the virtual view of each
# image: VRM's pipeline, data preprocessor and schedule, no distillation.
# What the virtual view gives without a teacher.
_base_ = ['./vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
model = dict(
    _delete_=True,
    _scope_='mmpretrain',
    type='MultiViewImageClassifier',
    backbone=_base_.student_model.backbone,
    neck=_base_.student_model.neck,
    head=_base_.student_model.head)
custom_hooks = [
    hook for hook in _base_.custom_hooks
    if hook['type'] != 'mmrazor.DistillWarmupHook'
]
val_cfg = dict(_delete_=True)

# VRM on CIFAR-100 with RepDistiller's protocol: VRMDistill runs teacher and
# student once each on the real + virtual views (2B = 128 images per step);
# the student's CE on the real view; VRMLoss on the head's (2B, C) logits.
# Method configs fill in `architecture`, `teacher` and `teacher_ckpt`.
_base_ = [
    '../datasets/cifar100_bs64.py',
    '../schedules/cifar100_240e.py',
    '../default_runtime.py',
    './vrm_distiller.py',
]

# The two views: every training image gives a real view (the base's
# RandomCrop 32 pad 4 + flip) and a virtual view (the same image through the
# real pipeline again, then RandAugment: 2 ops at magnitude 9 of 10). The two
# pipelines draw their crops and flips independently (MultiView runs each on
# its own copy of the image); for a virtual view that shares the real view's
# geometry, move the crop and flip before MultiView and give MultiView
# transforms=[[], [randaugment]]. Validation and test stay single-view.
# The views stay apart, (B, C, H, W) each, for VRMDistill.
data_preprocessor = dict(type='mmpretrain.MultiViewClsDataPreprocessor')

real_view = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
randaugment = dict(
    type='RandAugment',
    policies='timm_increasing',
    num_policies=2,
    total_level=10,
    magnitude_level=9,
    magnitude_std=0,
    hparams=dict(pad_val=[129, 124, 112]))  # the dataset's mean colour
train_pipeline = [
    dict(
        type='MultiView',
        num_views=[1, 1],
        transforms=[real_view, real_view + [randaugment]]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    dataset=dict(pipeline=train_pipeline),
    # A last batch of one sample has no inter-sample relation.
    drop_last=True)

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

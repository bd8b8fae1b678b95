# VRM on ImageNet: 8 GPUs x 32 images (64 views per GPU), 100 epochs, SGD
# lr 0.1, x0.1 at 30/60/90, wd 1e-4 (MMPretrain's imagenet_bs256).
# VRMDistill runs teacher and student once each on the real + virtual views;
# VRMLoss on the head's (2B, C) logits.
# Method configs fill in `architecture`, `teacher` and `teacher_ckpt`.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    '../default_runtime.py',
    './vrm_distiller.py',
]

# The two views: the real view is MMPretrain's RandomResizedCrop 224 + flip,
# the virtual view the same image through that pipeline again, then
# RandAugment (2 ops at magnitude 9 of 10). The image is decoded once; the
# views draw their crops and flips independently. Validation and test stay
# single-view. Training and validation read images with relkd_mm's
# CheckedLoadImageFromFile, which names a file that can not be decoded; the
# test pipeline keeps LoadImageFromFile for deployment (see
# ./imagenet_8xb32.py).
data_preprocessor = dict(type='mmpretrain.MultiViewClsDataPreprocessor')

real_view = [
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
randaugment = dict(
    type='RandAugment',
    policies='timm_increasing',
    num_policies=2,
    total_level=10,
    magnitude_level=9,
    magnitude_std=0,
    hparams=dict(pad_val=[104, 116, 124]))  # mean colour, BGR as decoded
train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(
        type='MultiView',
        num_views=[1, 1],
        transforms=[real_view, real_view + [randaugment]]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline), drop_last=True)
val_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))

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

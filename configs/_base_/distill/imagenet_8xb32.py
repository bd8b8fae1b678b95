# A single-teacher distillation on ImageNet: MMPretrain's pipeline, 8 GPUs x
# 32 images, 100 epochs (lr 0.1, x0.1 at 30/60/90). Method configs fill in
# `architecture`, `teacher`, `teacher_ckpt` and the distiller (recorders,
# losses, mappings).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    '../default_runtime.py',
]
# MMPretrain's layout (data/imagenet/{train,val}/ and meta/{train,val}.txt;
# with ann_file='' the class folders are scanned instead). The scope is
# explicit so that a distiller (built in MMRazor's scope) finds it too:
# MMEngine's Runner copies this dict into `model`
# (model.setdefault('data_preprocessor', ...)).
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')
# Training and validation read images with relkd_mm's
# CheckedLoadImageFromFile, which names a file that can not be decoded (and
# logs each file ignore_empty=True skips); otherwise MMPretrain's pipelines.
# The test pipeline keeps LoadImageFromFile: MMPretrain's inferencer and
# mmdeploy replace that name with their own loading in an exported student.
train_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
val_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))

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

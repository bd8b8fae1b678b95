# ImageNet-1k with MMPretrain's standard pipeline (RandomResizedCrop 224 +
# flip; resize 256, center crop 224), 32 images per GPU (8 GPUs x 32 = 256).
# Layout: MMPretrain's (data/imagenet/{train,val}/ and meta/{train,val}.txt);
# with ann_file='' the class folders are scanned instead.
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py']
# The scope is explicit so that a distiller (built in MMRazor's scope) finds
# it too: MMEngine's Runner copies this dict into `model`
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

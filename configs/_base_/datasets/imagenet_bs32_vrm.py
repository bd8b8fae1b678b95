# ImageNet for VRM: the real view is MMPretrain's RandomResizedCrop 224 +
# flip, the virtual view the same image through that pipeline again, then
# RandAugment (2 ops at magnitude 9 of 10). The image is decoded once; the
# views draw their crops and flips independently. Validation and test stay
# single-view. 32 images (64 views) per GPU. Training and validation read
# images with relkd_mm's CheckedLoadImageFromFile, which names a file that can
# not be decoded; the test pipeline keeps LoadImageFromFile for deployment
# (see ./imagenet_bs32.py).
# MMPretrain's base directly: ./imagenet_bs32.py also sets custom_imports,
# which default_runtime.py sets too (duplicate keys among bases fail).
_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py']

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

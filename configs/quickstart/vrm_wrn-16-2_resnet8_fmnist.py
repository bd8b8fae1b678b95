# VRM (relkd_mm VRMLoss with its defaults on the head's logits), as
# configs/vrm/ does on CIFAR-100: each image's real view (crop + flip) and a
# virtual view (crop + flip, then RandAugment: 2 ops at magnitude 9 of 10),
# CE on the real view + 1.0 * L_VRM.
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
    './_base_.py',
    '../_base_/distill/vrm_distiller.py',
]
default_hooks = dict(logger=dict(interval=50))

real_view = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
]
# MMPretrain's 'timm_increasing' ops without those that need three channels
# or a channel axis (AutoContrast, Equalize, ColorTransform, Contrast): the
# images are 28 x 28 grey arrays.
grey_policies = [
    dict(type='Invert'),
    dict(type='Rotate', magnitude_range=(0, 30)),
    dict(type='Posterize', magnitude_range=(4, 0)),
    dict(type='Solarize', magnitude_range=(256, 0)),
    dict(type='SolarizeAdd', magnitude_range=(0, 110)),
    dict(type='Brightness', magnitude_range=(0, 0.9)),
    dict(type='Sharpness', magnitude_range=(0, 0.9)),
    dict(type='Shear', magnitude_range=(0, 0.3), direction='horizontal'),
    dict(type='Shear', magnitude_range=(0, 0.3), direction='vertical'),
    dict(type='Translate', magnitude_range=(0, 0.45), direction='horizontal'),
    dict(type='Translate', magnitude_range=(0, 0.45), direction='vertical'),
]
randaugment = dict(
    type='RandAugment',
    policies=grey_policies,
    num_policies=2,
    total_level=10,
    magnitude_level=9,
    magnitude_std=0,
    hparams=dict(pad_val=73))  # the dataset's mean grey
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(
            type='MultiView',
            num_views=[1, 1],
            transforms=[real_view, real_view + [randaugment]]),
        dict(type='PackInputs'),
    ]),
    drop_last=True)
# Merged into the Fashion-MNIST base's (mean/std kept); the runner copies it
# into the model, so the model must not set its own.
data_preprocessor = dict(type='mmpretrain.MultiViewClsDataPreprocessor')

model = dict(type='VRMDistill', distiller=_base_.vrm_distiller)

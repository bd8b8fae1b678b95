# Fashion-MNIST (28 x 28 grey, 10 classes) from the idx files of Debian's
# `dataset-fashion-mnist` package (/usr/share/datasets/fashion-mnist).
dataset_type = 'LocalFashionMNIST'
data_root = '/usr/share/datasets/fashion-mnist'
data_preprocessor = dict(
    # The scope is explicit so that a distiller (built in MMRazor's scope)
    # finds it too: MMEngine's Runner copies this dict into `model`
    # (model.setdefault('data_preprocessor', ...)).
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=10,
    mean=[72.94],  # 0.2860 * 255
    std=[90.02],  # 0.3530 * 255
)

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=2),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# CIFAR-100 with RepDistiller's protocol: RandomCrop(32, padding 4), flip,
# its normalisation; batch 64 on one GPU. The files are the official python
# pickles (data_root/cifar-100-python/{train,test,meta}), read without
# download or md5 checks by relkd_mm's LocalCIFAR100.
dataset_type = 'LocalCIFAR100'
data_root = 'data/cifar100'
data_preprocessor = dict(
    # The scope is explicit so that a distiller (built in MMRazor's scope)
    # finds it too: MMEngine's Runner copies this dict into `model`
    # (model.setdefault('data_preprocessor', ...)).
    type='mmpretrain.ClsDataPreprocessor',
    num_classes=100,
    # (0.5071, 0.4867, 0.4408) and (0.2675, 0.2565, 0.2761) times 255
    mean=[129.3105, 124.1085, 112.404],
    std=[68.2125, 65.4075, 70.4055],
    to_rgb=False,  # the pickles are RGB already
)

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    persistent_workers=True,
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    persistent_workers=True,
)
val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

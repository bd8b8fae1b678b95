# RepDistiller ResNet50 (models/resnetv2.py) for CIFAR-100: 23,705,252
# parameters, 2048-d feature. mmpretrain's ResNet_CIFAR with depth 50 and the
# default style='pytorch' is the very same network; RepDistiller does not
# zero-initialise the last BN of each block. Its checkpoints convert with
# `shortcut` -> `downsample` (tools/convert_repdistiller_teacher.py).
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='ResNet_CIFAR', depth=50, zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

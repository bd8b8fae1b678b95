# RepDistiller resnet14 for CIFAR-100: 181,108 parameters, 64-d feature.
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='RepDistillerResNet', arch='resnet14'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

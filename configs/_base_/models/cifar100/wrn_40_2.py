# RepDistiller wrn_40_2 for CIFAR-100: 2,255,156 parameters, 128-d feature.
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='RepDistillerWRN', arch='wrn_40_2'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

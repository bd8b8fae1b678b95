# RepDistiller vgg13 (vgg13_bn) for CIFAR-100:
# 9,462,180 parameters, 512-d feature.
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='RepDistillerVGG', arch='vgg13'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

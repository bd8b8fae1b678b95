# MobileNet-V1 (width 1.0) for ImageNet, mdistiller's `MobileNetV1`, the
# student of the ResNet50 -> MobileNet benchmark: 4,231,976 parameters,
# 1024-d feature.
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='MobileNetV1', arch='1.0'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=1024,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

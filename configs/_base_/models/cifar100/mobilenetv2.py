# RepDistiller MobileNetV2 (mobile_half) for CIFAR-100:
# 812,836 parameters, 1280-d feature.
model = dict(
    _scope_='mmpretrain',
    type='ImageClassifier',
    backbone=dict(type='RepDistillerMobileNetV2', arch='mobile_half'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=1280,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

# Shared by the quick-start configs: Fashion-MNIST (28 x 28 grey, 10
# classes), a wrn_16_2 teacher and a resnet8 student (RepDistiller's CIFAR
# networks with one input channel), a short cosine schedule. The quick start
# (tools/quickstart.py) sets the subset, epochs and seed.
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
]


def classifier(backbone, feat_dim):
    # `_scope_`: also built from MMRazor's scope inside a distiller.
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(in_channels=1, **backbone),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=10,
            in_channels=feat_dim,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, )))


teacher_model = classifier(
    dict(type='RepDistillerWRN', arch='wrn_16_2'), 128)
student_model = classifier(
    dict(type='RepDistillerResNet', arch='resnet8'), 64)

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, T_max=3,
    convert_to_iter_based=True)
train_cfg = dict(by_epoch=True, max_epochs=3, val_interval=100)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(logger=dict(interval=50))

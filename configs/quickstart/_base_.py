# Shared by the quick-start configs, beside the Fashion-MNIST data
# (../_base_/datasets/fashion_mnist.py: 28 x 28 grey, 10 classes) and the
# runtime (../_base_/default_runtime.py): a wrn_16_2 teacher and a resnet8
# student (RepDistiller's CIFAR networks with one input channel), a short
# cosine schedule, and the single-teacher distillation the method configs
# fill in (the distiller's recorders, losses and mappings). The teacher's
# and the student's own configs replace `model` with their network. The
# quick start (tools/quickstart.py) sets the subset, epochs and seed.


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
# TeacherCachedDistillValLoop (relkd_mm): MMRazor's loop with the frozen
# teacher evaluated once, not at every validation.
val_cfg = dict(type='mmrazor.TeacherCachedDistillValLoop')
test_cfg = dict()
model = dict(
    _scope_='mmrazor',
    type='CheckedSingleTeacherDistill',
    architecture=student_model,
    teacher=teacher_model,
    # Set by tools/quickstart.py; a direct run must pass
    # --cfg-options model.teacher_ckpt=PATH (training refuses a random one).
    teacher_ckpt=None,
    distiller=dict(type='CheckedConfigurableDistiller'))
# find_unused_parameters stays off: every trainable parameter gets a gradient
# each step (test_configs/test_find_unused_parameters.py checks it), and
# DDP's search for unused ones would cost an autograd traversal per step.

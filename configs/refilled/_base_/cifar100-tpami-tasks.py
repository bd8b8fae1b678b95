# The TPAMI cross-task protocol, shared by both stages' task bases
# (refilled-tpami-s{1,2}_cifar100-tasks.py): 50-class tasks of CIFAR-100 in a
# fixed class order; the student's task starts at position `shift` (k), the
# wrn_40_2 teacher's at 0 (trained by
# configs/teachers/wrn-40-2_1xb128_cifar100-task-k0.py). Only keys that the
# stage bases do not have: a stage's task base applies them to its data and
# models (MMEngine refuses a key defined in two bases of one config).
_tpami_task = dict(
    type='ClassSubsetDataset',
    class_order='cifar100-seed1993',
    shift=0,
    num_classes=50)
teacher_ckpt = 'checkpoints/cifar100/wrn_40_2_tpami-task-k0.pth'
_head = dict(
    type='LinearClsHead',
    num_classes=50,
    loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    topk=(1, 5))
_tpami_models = dict(
    architecture=dict(
        _delete_=True,
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='RepDistillerWRN', arch='wrn_16_2'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(in_channels=128, **_head)),
    teacher=dict(
        _delete_=True,
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='RepDistillerWRN', arch='wrn_40_2', drop_rate=0.3),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(in_channels=128, **_head)),
    teacher_ckpt=teacher_ckpt)

# REFILLED stage 2 (TPAMI settings) on the TPAMI cross-task protocol:
# 50-class tasks of CIFAR-100 in a fixed class order; the student's task
# starts at position `shift` (k), the wrn_40_2 teacher's at 0 (trained by
# wrn-40-2_tpami-task-k0_1xb128_cifar100.py). Leaf configs set the shift.
_base_ = ['./refilled-tpami-s2_cifar100.py']

_task = dict(
    type='ClassSubsetDataset',
    class_order='cifar100-seed1993',
    shift=0,
    num_classes=50)
train_dataloader = dict(
    dataset=dict(
        _delete_=True, dataset={{_base_.train_dataloader.dataset}}, **_task))
val_dataloader = dict(
    dataset=dict(
        _delete_=True, dataset={{_base_.val_dataloader.dataset}}, **_task))
test_dataloader = val_dataloader
data_preprocessor = dict(num_classes=50)

_head = dict(
    type='LinearClsHead',
    num_classes=50,
    loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
    topk=(1, 5))
teacher_ckpt = 'checkpoints/cifar100/wrn_40_2_tpami-task-k0.pth'
model = dict(
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
    teacher_ckpt=teacher_ckpt,
    distiller=dict(distill_losses=dict(loss_refilled=dict(num_classes=50))))

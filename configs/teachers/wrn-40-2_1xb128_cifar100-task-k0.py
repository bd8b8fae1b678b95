# The cross-task teacher: wrn_40_2 (dropout 0.3, as the official teachers)
# trained on the first 50-class task (shift 0) of the TPAMI protocol.
# Official pre-training: SGD nesterov lr 0.1, wd 5e-4, batch 128, 200
# epochs, x0.2 at epochs 100, 140, 180. Then convert its last checkpoint to
# the teacher_ckpt of the cross-task configs, e.g.
#   cp work_dirs/wrn-40-2_1xb128_cifar100-task-k0/epoch_200.pth \
#      checkpoints/cifar100/wrn_40_2_tpami-task-k0.pth
_base_ = [
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/default_runtime.py',
]

_task = dict(
    type='ClassSubsetDataset',
    class_order='cifar100-seed1993',
    shift=0,
    num_classes=50)
train_dataloader = dict(
    batch_size=128,
    dataset=dict(
        _delete_=True, dataset={{_base_.train_dataloader.dataset}}, **_task))
val_dataloader = dict(
    dataset=dict(
        _delete_=True, dataset={{_base_.val_dataloader.dataset}}, **_task))
test_dataloader = val_dataloader
data_preprocessor = dict(num_classes=50)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='RepDistillerWRN', arch='wrn_40_2', drop_rate=0.3),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=50,
        in_channels=128,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[100, 140, 180], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

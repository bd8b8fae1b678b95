# REFILLED stage 2, cross-task: wrn_40_2 teacher on task k=0, wrn_16_2
# student on task k=0 (overlap 50 of 50 classes).
_base_ = ['./_base_/refilled-tpami-s2_cifar100-tasks.py']

train_dataloader = dict(dataset=dict(shift=0))
val_dataloader = dict(dataset=dict(shift=0))
test_dataloader = dict(dataset=dict(shift=0))
load_from = 'work_dirs/refilled-tpami-s1_wrn-40-2_wrn-16-2_1xb256_cifar100-task-k0/epoch_100.pth'  # noqa: E501

# REFILLED stage 1, cross-task: wrn_40_2 teacher on task k=0, wrn_16_2
# student on task k=20 (overlap 30 of 50 classes).
_base_ = ['./_base_/refilled-tpami-s1_cifar100-tasks.py']

train_dataloader = dict(dataset=dict(shift=20))
val_dataloader = dict(dataset=dict(shift=20))
test_dataloader = dict(dataset=dict(shift=20))

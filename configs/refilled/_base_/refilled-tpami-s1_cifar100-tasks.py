# REFILLED stage 1 (TPAMI settings) on the TPAMI cross-task protocol
# (./cifar100-tpami-tasks.py). Leaf configs set the shift.
_base_ = ['./refilled-tpami-s1_cifar100.py', './cifar100-tpami-tasks.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        dataset={{_base_.train_dataloader.dataset}},
        **_base_._tpami_task))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        dataset={{_base_.val_dataloader.dataset}},
        **_base_._tpami_task))
test_dataloader = val_dataloader
data_preprocessor = dict(num_classes=50)
model = dict(**_base_._tpami_models)

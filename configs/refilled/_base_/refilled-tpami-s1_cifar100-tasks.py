# REFILLED stage 1 on the TPAMI cross-task protocol (./cifar100-tpami-tasks.py)
# with the TPAMI (GKD) code's stage-1 settings, those of
# ../refilled-tpami-s1_wrn-40-2_wrn-16-2_1xb256_cifar100.py: tuples cut to
# the smallest group ('min'), 100 epochs, batch 256, the 2021 cosine
# (0.1 -> 0.01). Leaf configs set the shift.
_base_ = ['./refilled-s1_cifar100.py', './cifar100-tpami-tasks.py']

train_dataloader = dict(
    batch_size=256,
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
model = dict(
    distiller=dict(
        distill_losses=dict(loss_refilled=dict(tuple_mode='min'))),
    **_base_._tpami_models)
param_scheduler = dict(T_max=100)
train_cfg = dict(max_epochs=100)
auto_scale_lr = dict(base_batch_size=256)

# REFILLED stage 1 with the TPAMI (GKD) code's settings: tuples cut to the
# smallest group ('min'), 100 epochs, batch 256. The GKD code's stage-1
# learning-rate schedule is not known here (only its epochs and batch are):
# the 2021 cosine (0.1 -> 0.01) is kept, over 100 epochs.
_base_ = ['./refilled-s1_cifar100.py']

train_dataloader = dict(batch_size=256)
model = dict(
    distiller=dict(
        distill_losses=dict(loss_refilled=dict(tuple_mode='min'))))
param_scheduler = dict(T_max=100)
train_cfg = dict(max_epochs=100)
auto_scale_lr = dict(base_batch_size=256)

# REFILLED stage 1 with the TPAMI (GKD) code's hyperparameters:
# wrn_40_2 -> wrn_16_2 on CIFAR-100. Tuples cut to the smallest group
# ('min'), 100 epochs, batch 256. The GKD code's stage-1 learning-rate
# schedule is not known here (only its epochs and batch are): the 2021
# cosine (0.1 -> 0.01) is kept, over 100 epochs. The cross-task configs
# (`_base_/refilled-tpami-s1_cifar100-tasks.py`) take the same settings.
_base_ = ['./_base_/refilled-s1_cifar100.py']

train_dataloader = dict(batch_size=256)
param_scheduler = dict(T_max=100)
train_cfg = dict(max_epochs=100)
auto_scale_lr = dict(base_batch_size=256)

teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'
model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_16_2.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(loss_refilled=dict(tuple_mode='min'))))

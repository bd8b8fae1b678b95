# REFILLED stage 2 with the CVPR 2020 code's settings: centers from the
# current batch, lambda 1000 decayed by exp(-0.05) per epoch. tau2 and the
# schedule as the 2021 code (the CVPR code's are not known here). No centers
# pass is needed, so the centers hook is dropped.
_base_ = ['./refilled-s2_cifar100.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_refilled=dict(
                center_mode='batch', loss_weight=1000.0, epoch_decay=0.05))))
custom_hooks = [
    dict(type='mmrazor.RandomStateHook'),
    dict(type='mmrazor.NonFiniteLossHook'),
    dict(type='mmrazor.TrainCheckHook'),
    # The CVPR paper's weight (1000, decayed 5% per epoch) is 10x the 2021
    # settings', whose term is 16-25x the CE's (RefilledClassifierLoss'
    # balance_high, 30): the bound scales with it.
    dict(type='mmrazor.LossBalanceHook', high=300),
]

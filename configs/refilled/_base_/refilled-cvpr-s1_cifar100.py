# REFILLED stage 1 with the CVPR 2020 code's loss: every semi-hard triplet
# is its own tuple, 500 x mean binary KL. Schedule and batch as the 2021
# code (the CVPR code's are not known here).
_base_ = ['./refilled-s1_cifar100.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_refilled=dict(tuple_mode='triplet', loss_weight=500.0))))

# REFILLED stage 1 with the CVPR 2020 code's hyperparameters:
# wrn_40_2 -> wrn_16_2 on CIFAR-100 (see _base_/refilled-cvpr-s1_cifar100.py).
_base_ = ['./_base_/refilled-cvpr-s1_cifar100.py']

teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'
model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_16_2.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher_ckpt=teacher_ckpt)

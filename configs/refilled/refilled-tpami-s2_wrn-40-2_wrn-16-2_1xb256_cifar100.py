# REFILLED stage 2 with the TPAMI (GKD) code's hyperparameters:
# wrn_40_2 -> wrn_16_2 on CIFAR-100 (see _base_/refilled-tpami-s2_cifar100.py).
_base_ = ['./_base_/refilled-tpami-s2_cifar100.py']

teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'
model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_16_2.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher_ckpt=teacher_ckpt)
load_from = 'work_dirs/refilled-tpami-s1_wrn-40-2_wrn-16-2_1xb256_cifar100/epoch_100.pth'  # noqa: E501

# REFILLED stage 1: wrn_40_2 teacher -> wrn_40_2 student on CIFAR-100.
# Stage 2: refilled-s2_wrn-40-2_wrn-40-2_1xb128_cifar100.py; both with
# tools/train_refilled.py (see README.md).
_base_ = ['./_base_/refilled-s1_cifar100.py']

teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'
model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher_ckpt=teacher_ckpt)

# VRM, wrn_40_2 -> wrn_40_1 on CIFAR-100 (logit KD for comparison: KD 73.54, DKD 74.81).
_base_ = ['../_base_/distill/vrm_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/vrm/README.md).
teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_1.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher_ckpt=teacher_ckpt)

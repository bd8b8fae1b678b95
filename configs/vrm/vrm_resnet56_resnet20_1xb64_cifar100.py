# VRM, resnet56 -> resnet20 on CIFAR-100 (logit KD for comparison: KD 70.66, DKD 71.97).
_base_ = ['../_base_/distill/vrm_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/vrm/README.md).
teacher_ckpt = 'checkpoints/cifar100/resnet56.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/resnet20.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet56.py'),
    teacher_ckpt=teacher_ckpt)

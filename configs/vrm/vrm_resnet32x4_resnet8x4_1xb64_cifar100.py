# VRM, resnet32x4 -> resnet8x4 on CIFAR-100 (logit KD for comparison: KD 73.33, DKD 76.32, MLKD 77.08).
_base_ = ['../_base_/distill/vrm_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/vrm/README.md).
teacher_ckpt = 'checkpoints/cifar100/resnet32x4.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/resnet8x4.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet32x4.py'),
    teacher_ckpt=teacher_ckpt)

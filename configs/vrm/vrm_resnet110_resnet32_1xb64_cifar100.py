# VRM, resnet110 -> resnet32 on CIFAR-100 (logit KD for comparison: KD 73.08, DKD 74.11).
_base_ = ['../_base_/distill/vrm_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/vrm/README.md).
teacher_ckpt = 'checkpoints/cifar100/resnet110.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/resnet32.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet110.py'),
    teacher_ckpt=teacher_ckpt)

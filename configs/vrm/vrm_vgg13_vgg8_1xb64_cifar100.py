# VRM, vgg13 -> vgg8 on CIFAR-100 (logit KD for comparison: KD 72.98, DKD 74.68).
_base_ = ['../_base_/distill/vrm_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/vrm/README.md).
teacher_ckpt = 'checkpoints/cifar100/vgg13.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/vgg8.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/vgg13.py'),
    teacher_ckpt=teacher_ckpt)

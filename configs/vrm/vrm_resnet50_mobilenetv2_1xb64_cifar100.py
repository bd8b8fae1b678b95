# VRM, resnet50 -> mobilenetv2 on CIFAR-100 (logit KD for comparison: KD 67.35, DKD 70.35).
_base_ = ['../_base_/distill/vrm_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/vrm/README.md).
teacher_ckpt = 'checkpoints/cifar100/resnet50.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/mobilenetv2.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet50.py'),
    teacher_ckpt=teacher_ckpt)

# RepDistiller uses lr 0.01 for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))

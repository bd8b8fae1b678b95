# RRD, vgg13 -> MobileNetV2 on CIFAR-100 (paper: 67.93).
_base_ = ['../_base_/distill/rrd_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/rrd/README.md).
teacher_ckpt = 'checkpoints/cifar100/vgg13.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/mobilenetv2.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/vgg13.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        connectors=dict(
            loss_rrd_sfeat=dict(dim_in=1280),
            loss_rrd_tfeat=dict(dim_in=512))))

# RepDistiller uses lr 0.01 for MobileNetV2/ShuffleNet students.
optim_wrapper = dict(optimizer=dict(lr=0.01))

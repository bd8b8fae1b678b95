# RRD, vgg13 -> vgg8 on CIFAR-100 (paper: 73.99).
_base_ = ['../_base_/distill/rrd_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/rrd/README.md).
teacher_ckpt = 'checkpoints/cifar100/vgg13.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/vgg8.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/vgg13.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        connectors=dict(
            loss_rrd_sfeat=dict(dim_in=512),
            loss_rrd_tfeat=dict(dim_in=512))))

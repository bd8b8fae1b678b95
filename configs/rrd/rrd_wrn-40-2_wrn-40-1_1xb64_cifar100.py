# RRD, wrn_40_2 -> wrn_40_1 on CIFAR-100 (paper: 73.55).
_base_ = ['../_base_/distill/rrd_cifar100_1xb64.py']

# RepDistiller's teacher, converted first (see configs/rrd/README.md).
teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_1.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        connectors=dict(
            loss_rrd_sfeat=dict(dim_in=64),
            loss_rrd_tfeat=dict(dim_in=128))))

# RRD on CIFAR-100 with RepDistiller's protocol (batch 64, 240 epochs); the
# distiller is ./rrd_distiller.py's. Method configs set `architecture`,
# `teacher`, `teacher_ckpt` and the connectors' `dim_in`.
_base_ = ['./cifar100_1xb64.py', './rrd_distiller.py']

model = dict(distiller=_base_.rrd_distiller)

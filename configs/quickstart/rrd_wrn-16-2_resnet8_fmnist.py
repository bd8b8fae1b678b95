# RRD (relkd_mm RRDLoss, 2024 preset) on the pooled features, as
# configs/rrd/ does on CIFAR-100 (CE + 1.0 * L_RRD). The memory is smaller
# than the paper's 16384 rows so that it holds real teacher embeddings
# after a few hundred iterations on the quick start's 6000-image subset.
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
    './_base_.py',
    '../_base_/distill/rrd_distiller.py',
]
default_hooks = dict(logger=dict(interval=50))
model = dict(distiller=_base_.rrd_distiller)
model['distiller']['connectors']['loss_rrd_sfeat']['dim_in'] = 64  # resnet8
model['distiller']['connectors']['loss_rrd_tfeat']['dim_in'] = 128  # wrn16_2
model['distiller']['distill_losses']['loss_rrd']['queue_size'] = 4096

# fmnist-lowdata protocol: RRD + KD, as in the RRD paper's best rows:
# CE + L_RRD + KLDivergence (T=4) on the logits.
_base_ = [
    './rrd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
    '../_base_/distill/kd_logits.py'
]
model = dict(distiller=_base_.kd_logits)

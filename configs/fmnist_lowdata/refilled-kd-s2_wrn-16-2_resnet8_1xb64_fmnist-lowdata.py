# fmnist-lowdata protocol: REFILLED + KD, stage 2: the REFILLED stage-2 preset
# (CE + KL to the teacher-embedding-induced classifier) plus MMRazor's
# KLDivergence (T=4) on the teacher's logits, as RRD+KD and VRM+KD mix it.
# Stage 1 is REFILLED's. Only where the label spaces agree (KD needs the
# teacher's classes).
_base_ = [
    './refilled-s2_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
    '../_base_/distill/kd_logits.py'
]
model = dict(distiller=_base_.kd_logits)

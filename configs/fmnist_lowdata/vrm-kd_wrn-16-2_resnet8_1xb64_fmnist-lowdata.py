# fmnist-lowdata protocol: VRM + KD (MMRazor's KLDivergence, T=4, beside
# VRMLoss; both see the 2B logit rows of the real and virtual views).
_base_ = [
    './vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
    '../_base_/distill/kd_logits.py'
]
model = dict(distiller=_base_.kd_logits)

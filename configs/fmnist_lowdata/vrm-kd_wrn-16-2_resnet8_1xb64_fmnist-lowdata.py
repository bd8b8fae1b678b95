# fmnist-lowdata protocol: VRM + KD (MMRazor's KLDivergence, T=4, beside
# VRMLoss; both see the 2B logit rows of the real and virtual views).
_base_ = [
    './vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
    '../_base_/distill/kd_logits.py'
]
# VRM weight 16 beside KD's 1: chosen on the validation split, +1.92
# [+0.19, +3.65] over weight 1 and the best of 0.5-32 (docs/tuning.md,
# round 6). VRM alone keeps weight 1: round 6 tuned VRM+KD only.
model = dict(
    distiller=dict(
        _base_.kd_logits,
        distill_losses=dict(
            _base_.kd_logits.distill_losses,
            loss_vrm=dict(loss_weight=16.0))))

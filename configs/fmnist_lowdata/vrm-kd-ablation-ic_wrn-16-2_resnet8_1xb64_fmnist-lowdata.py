# fmnist-lowdata VRM+KD over KD@2B, the other order: KD@2B plus VRM's
# inter-class graph only (is_weight 0), everything else VRM+KD's.
_base_ = [
    './vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
    '../_base_/distill/kd_logits.py'
]
# VRM+KD's distiller (vrm-kd_*.py, its VRM weight 16) with the inter-class
# graph alone.
model = dict(
    distiller=dict(
        _base_.kd_logits,
        distill_losses=dict(
            _base_.kd_logits.distill_losses,
            loss_vrm=dict(is_weight=0.0, loss_weight=16.0))))

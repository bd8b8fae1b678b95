# fmnist-lowdata VRM+KD over KD@2B, row 1: KD@2B plus VRM's inter-sample
# graph only (ic_weight 0). The same two views, warm-up and schedule as
# KD@2B and VRM+KD, so the step from KD@2B is the inter-sample relations
# alone and the step to VRM+KD is the inter-class graph.
_base_ = [
    './vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
    '../_base_/distill/kd_logits.py'
]
# VRM+KD's distiller (vrm-kd_*.py, its VRM weight 16) with the inter-sample
# graph alone.
model = dict(
    distiller=dict(
        _base_.kd_logits,
        distill_losses=dict(
            _base_.kd_logits.distill_losses,
            loss_vrm=dict(ic_weight=0.0, loss_weight=16.0))))

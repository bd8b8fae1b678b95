# fmnist-lowdata VRM+KD over KD@2B, row 1: KD@2B plus VRM's inter-sample
# graph only (ic_weight 0). The same two views, warm-up and schedule as
# KD@2B and VRM+KD, so the step from KD@2B is the inter-sample relations
# alone and the step to VRM+KD is the inter-class graph.
_base_ = ['./vrm-kd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
model = dict(
    distiller=dict(distill_losses=dict(loss_vrm=dict(ic_weight=0.0))))

# fmnist-lowdata VRM+KD over KD@2B, the other order: KD@2B plus VRM's
# inter-class graph only (is_weight 0), everything else VRM+KD's.
_base_ = ['./vrm-kd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
model = dict(
    distiller=dict(distill_losses=dict(loss_vrm=dict(is_weight=0.0))))

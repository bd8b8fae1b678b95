# fmnist-lowdata VRM ablation, row 3: + the virtual views (both graphs over
# the 2B real and virtual rows, VRMDistill), no pruning. Row 4 is the VRM
# preset itself (vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py).
_base_ = ['./vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
model = dict(
    distiller=dict(distill_losses=dict(loss_vrm=dict(prune='none'))))

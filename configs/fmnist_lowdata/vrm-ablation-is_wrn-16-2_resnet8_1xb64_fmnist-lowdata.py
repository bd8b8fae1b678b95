# fmnist-lowdata VRM ablation, row 1: the inter-sample graph only (row 2
# without the inter-class term).
_base_ = ['./vrm-ablation-is-ic_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
model = dict(
    distiller=dict(distill_losses=dict(loss_vrm=dict(ic_weight=0.0))))

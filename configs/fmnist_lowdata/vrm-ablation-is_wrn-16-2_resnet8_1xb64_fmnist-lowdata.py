# fmnist-lowdata VRM ablation, row 1: the inter-sample graph only. Row 2
# (vrm-ablation-is-ic_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py) without the
# inter-class term: the VRM preset over the B real views only (no virtual
# view: single-view pipeline, SingleTeacherDistill), ic_weight 0. Every other
# value (weights, warm-up, schedule, no pruning) is the preset's.
_base_ = ['./vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')
model = dict(
    type='CheckedSingleTeacherDistill',
    distiller=dict(distill_losses=dict(loss_vrm=dict(ic_weight=0.0))))

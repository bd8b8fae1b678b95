# fmnist-lowdata VRM ablation, row 2 (the paper's order: inter-sample graph,
# + inter-class graph, + virtual views, + pruning): the VRM preset with both
# graphs over the B real views only (no virtual view: single-view pipeline,
# CheckedSingleTeacherDistill). Every other value (weights, warm-up, schedule,
# no pruning) is the preset's.
_base_ = ['./vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
train_dataloader = dict(dataset=dict(pipeline=_base_.train_pipeline))
data_preprocessor = dict(type='mmpretrain.ClsDataPreprocessor')
model = dict(type='CheckedSingleTeacherDistill')

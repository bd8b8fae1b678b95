# RRD on ImageNet, ResNet34 (MMPretrain model zoo, 73.62) -> ResNet18;
# 8 GPUs x 32 images, 100 epochs (MMPretrain's imagenet_bs256 schedule).
# CE + 1.0 * L_RRD on the pooled 512-d features. Under DDP the teacher
# embeddings of all GPUs are gathered into one memory shared by every GPU
# (RRDLoss's default; per_rank_memory=True keeps one per GPU as the
# official code does).
_base_ = [
    '../_base_/distill/imagenet_8xb32.py',
    '../_base_/distill/rrd_distiller.py',
]

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth'  # noqa: E501

model = dict(
    architecture=dict(cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py'),
    teacher=dict(cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.rrd_distiller)
# ResNet18's and ResNet34's pooled features are 512-d.
model['distiller']['connectors']['loss_rrd_sfeat']['dim_in'] = 512
model['distiller']['connectors']['loss_rrd_tfeat']['dim_in'] = 512

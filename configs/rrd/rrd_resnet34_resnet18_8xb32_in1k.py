# RRD on ImageNet, ResNet34 (MMPretrain model zoo, 73.62) -> ResNet18;
# 8 GPUs x 32 images, 100 epochs (MMPretrain's imagenet_bs256 schedule).
# CE + 1.0 * L_RRD on the pooled 512-d features. Under DDP the teacher
# embeddings of all GPUs are gathered into one memory shared by every GPU
# (RRDLoss's default; per_rank_memory=True keeps one per GPU as the
# official code does).
_base_ = ['../_base_/distill/imagenet_8xb32.py']

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth'  # noqa: E501

model = dict(
    architecture=dict(cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py'),
    teacher=dict(cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck')),
        connectors=dict(
            loss_rrd_sfeat=dict(
                type='EmbedConnector', dim_in=512, dim_out=128),
            loss_rrd_tfeat=dict(
                type='EmbedConnector', dim_in=512, dim_out=128,
                frozen=True)),
        distill_losses=dict(
            loss_rrd=dict(
                type='RRDLoss',
                loss_weight=1.0,
                queue_size=16384,
                embed_dim=128,
                preset='2024')),
        loss_forward_mappings=dict(
            loss_rrd=dict(
                preds_S=dict(
                    from_student=True,
                    recorder='feat',
                    data_idx=0,
                    connector='loss_rrd_sfeat'),
                preds_T=dict(
                    from_student=False,
                    recorder='feat',
                    data_idx=0,
                    connector='loss_rrd_tfeat')))))

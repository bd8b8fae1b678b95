# RRD (relkd_mm RRDLoss, 2024 preset) on the pooled features, as
# configs/rrd/ does on CIFAR-100 (CE + 1.0 * L_RRD). The memory is smaller
# than the paper's 16384 rows so that it holds real teacher embeddings
# after a few hundred iterations on the quick start's 6000-image subset.
_base_ = ['./_distill_base_.py']
model = dict(
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck')),
        connectors=dict(
            loss_rrd_sfeat=dict(type='EmbedConnector', dim_in=64),
            loss_rrd_tfeat=dict(
                type='EmbedConnector', dim_in=128, frozen=True)),
        distill_losses=dict(
            loss_rrd=dict(
                type='RRDLoss', loss_weight=1.0, queue_size=4096,
                embed_dim=128, preset='2024')),
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

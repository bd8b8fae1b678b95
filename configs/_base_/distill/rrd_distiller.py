# RRD's distiller, shared by the CIFAR-100 and ImageNet RRD configs (which
# set it as `model.distiller` and fill in the connectors' `dim_in`): CE +
# 1.0 * L_RRD on the pooled features (the `neck` output, the input of the
# classifier), each projected by a Linear to 128-d and L2-normalised. The
# teacher's head is frozen (a fixed random projection, as in the official
# code, where it never receives a gradient).
rrd_distiller = dict(
    type='CheckedConfigurableDistiller',
    student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
    teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
    connectors=dict(
        loss_rrd_sfeat=dict(type='EmbedConnector', dim_out=128),
        loss_rrd_tfeat=dict(type='EmbedConnector', dim_out=128, frozen=True)),
    distill_losses=dict(
        # preset='2024': tau_s 0.04, tau_t 0.1, memory written after the
        # loss (the published tables); '2025' for the later code.
        loss_rrd=dict(
            type='RRDLoss',
            loss_weight=1.0,
            queue_size=16384,
            embed_dim=128,
            preset='2024')),
    loss_forward_mappings=dict(
        loss_rrd=dict(
            # The neck returns a tuple: data_idx=0 is its tensor.
            preds_S=dict(
                from_student=True,
                recorder='feat',
                data_idx=0,
                connector='loss_rrd_sfeat'),
            preds_T=dict(
                from_student=False,
                recorder='feat',
                data_idx=0,
                connector='loss_rrd_tfeat'))))

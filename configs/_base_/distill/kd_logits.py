# MMRazor's KD on the head's logits (KLDivergence, T=4), as parts to merge
# into a distiller (`model = dict(distiller=_base_.kd_logits)`).
kd_logits = dict(
    student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_kd=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
    loss_forward_mappings=dict(
        loss_kd=dict(
            preds_S=dict(from_student=True, recorder='fc'),
            preds_T=dict(from_student=False, recorder='fc'))))

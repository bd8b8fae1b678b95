# fmnist-lowdata protocol: RRD + KD, as in the RRD paper's best rows:
# CE + L_RRD + KLDivergence (T=4) on the logits.
_base_ = ['./rrd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py']
model = dict(
    distiller=dict(
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_kd=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))))

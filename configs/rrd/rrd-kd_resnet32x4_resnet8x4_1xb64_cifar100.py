# RRD+KD, resnet32x4 -> resnet8x4 on CIFAR-100 (paper: 75.08):
# CE + 1.0 * KD(T=4) + 1.0 * L_RRD.
_base_ = ['./rrd_resnet32x4_resnet8x4_1xb64_cifar100.py']

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

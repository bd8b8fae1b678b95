# fmnist-lowdata protocol, cross-task REFILLED stage 2, with the TPAMI
# stage-2 settings of refilled-s2_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py
# (KL weight 1, tau 1, no student temperature).
_base_ = ['../quickstart/refilled-s2_wrn-16-2_resnet8_fmnist-classes5-9.py']
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_refilled=dict(loss_weight=1.0, tau=1.0, student_tau=False))))

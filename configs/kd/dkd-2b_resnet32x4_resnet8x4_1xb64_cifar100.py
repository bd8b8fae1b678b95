# DKD on two views (DKD@2B): MMRazor's DKDLoss (T = 4, alpha 1, beta 8) on
# the logits of each image's real and virtual (RandAugment) views
# (VRMDistill: its label recorder sees the labels repeated for the virtual
# rows). The data and schedule of the VRM config of this pair; the settings
# of dkd_resnet32x4_resnet8x4_1xb64_cifar100.py (no warm-up, as there).
_base_ = [
    './kd-2b_resnet32x4_resnet8x4_1xb64_cifar100.py',
    '../_base_/distill/dkd_logits.py',
]

model = dict(
    distiller=dict(
        _delete_=True,
        type='CheckedConfigurableDistiller',
        student_recorders=_base_.dkd_logits.student_recorders,
        teacher_recorders=_base_.dkd_logits.teacher_recorders,
        distill_losses=_base_.dkd_logits.distill_losses,
        loss_forward_mappings=_base_.dkd_logits.loss_forward_mappings))

# fmnist-lowdata protocol: KD@2B, the control for VRM's virtual view.
# MMRazor's KLDivergence (T=4) alone, on the 2B logit rows of the same real
# and virtual views as VRM (VRMDistill, the VRM preset's pipeline,
# RandAugment and warm-up of the KD weight over the first epoch): what VRM
# adds over this row is what its relations add.
_base_ = [
    './vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
    '../_base_/distill/kd_logits.py'
]
model = dict(
    distiller=dict(
        _delete_=True,
        type='CheckedConfigurableDistiller',
        student_recorders=_base_.kd_logits.student_recorders,
        teacher_recorders=_base_.kd_logits.teacher_recorders,
        distill_losses=_base_.kd_logits.distill_losses,
        loss_forward_mappings=_base_.kd_logits.loss_forward_mappings))

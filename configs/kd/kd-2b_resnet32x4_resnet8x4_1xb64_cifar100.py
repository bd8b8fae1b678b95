# KD on two views (KD@2B): MMRazor's KLDivergence (T = 4) on the logits of
# each image's real view and its virtual (RandAugment) view, teacher and
# student run once on both (VRMDistill; CE on the real view). The same data
# and schedule as configs/vrm/vrm_resnet32x4_resnet8x4_1xb64_cifar100.py,
# without VRM's relations: the control that says what VRM's graphs add,
# and a strong baseline of its own (docs/results.md: on Fashion-MNIST the
# second view gives KD about as much as VRM's relations do).
_base_ = [
    '../_base_/distill/vrm_cifar100_1xb64.py',
    '../_base_/distill/kd_logits.py',
]

teacher_ckpt = 'checkpoints/cifar100/resnet32x4.pth'

model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet8x4.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet32x4.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        _delete_=True,
        type='CheckedConfigurableDistiller',
        student_recorders=_base_.kd_logits.student_recorders,
        teacher_recorders=_base_.kd_logits.teacher_recorders,
        distill_losses=_base_.kd_logits.distill_losses,
        loss_forward_mappings=_base_.kd_logits.loss_forward_mappings))

# Vanilla KD (Hinton et al.) with MMRazor's KLDivergence: CE + 1.0 * KD at
# T = 4 (mdistiller's weighting; KLDivergence includes the T^2 factor).
_base_ = ['../_base_/distill/cifar100_1xb64.py']

# Convert RepDistiller's released teacher first (see configs/kd/README.md):
# python tools/convert_repdistiller_teacher.py \
#     resnet32x4_vanilla/ckpt_epoch_240.pth checkpoints/cifar100/resnet32x4.pth \
#     --arch resnet32x4
teacher_ckpt = 'checkpoints/cifar100/resnet32x4.pth'

model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet8x4.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet32x4.py'),
    teacher_ckpt=teacher_ckpt,
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

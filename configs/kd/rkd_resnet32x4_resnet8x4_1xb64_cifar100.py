# RKD (Park et al., CVPR 2019) with MMRazor's DistanceWiseRKD and
# AngleWiseRKD on the pooled features: CE + 25 * distance + 50 * angle, the
# weights of the RKD paper and of RepDistiller's CIFAR-100 runs.
_base_ = ['../_base_/distill/cifar100_1xb64.py']

teacher_ckpt = 'checkpoints/cifar100/resnet32x4.pth'

model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet8x4.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/resnet32x4.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='neck.gap')),
        distill_losses=dict(
            loss_dw=dict(
                type='DistanceWiseRKD', with_l2_norm=True, loss_weight=25.0),
            loss_aw=dict(
                type='AngleWiseRKD', with_l2_norm=True, loss_weight=50.0)),
        loss_forward_mappings=dict(
            loss_dw=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feat')),
            loss_aw=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feat')))))

# DKD on two views (DKD@2B): MMRazor's DKDLoss (T = 4, alpha 1, beta 8) on
# the logits of each image's real and virtual (RandAugment) views
# (VRMDistill: its label recorder sees the labels repeated for the virtual
# rows). The data and schedule of the VRM config of this pair; the settings
# of dkd_resnet32x4_resnet8x4_1xb64_cifar100.py.
_base_ = ['./kd-2b_resnet32x4_resnet8x4_1xb64_cifar100.py']

model = dict(
    distiller=dict(
        _delete_=True,
        type='ConfigurableDistiller',
        student_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc'),
            gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
        teacher_recorders=dict(
            fc=dict(type='ModuleOutputs', source='head.fc')),
        distill_losses=dict(
            loss_dkd=dict(
                type='DKDLoss',
                tau=4,
                alpha=1.0,
                beta=8.0,
                reduction='batchmean',
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc'),
                gt_labels=dict(
                    recorder='gt_labels', from_student=True, data_idx=1)))))

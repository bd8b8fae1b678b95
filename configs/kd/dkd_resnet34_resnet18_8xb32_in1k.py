# DKD on ImageNet (DKD paper: T = 1, alpha = 0.5, beta = 0.5).
_base_ = ['./kd_resnet34_resnet18_8xb32_in1k.py']

model = dict(
    distiller=dict(
        student_recorders=dict(
            gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
        distill_losses=dict(
            _delete_=True,
            loss_dkd=dict(
                type='DKDLoss',
                tau=1,
                alpha=0.5,
                beta=0.5,
                reduction='batchmean',
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            _delete_=True,
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc'),
                gt_labels=dict(
                    recorder='gt_labels', from_student=True, data_idx=1)))))

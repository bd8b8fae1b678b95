# MMRazor's DKD (Zhao et al., CVPR 2022) on the head's logits, as parts to
# merge into a distiller beside other losses:
#   _base_ = [..., 'relkd_mm::_base_/distill/dkd_logits.py']
#   model = dict(distiller=_base_.dkd_logits)
#   custom_hooks = [*_base_.custom_hooks, _base_.dkd_warmup]
# DKDLoss takes the labels too: `gt_labels` records the inputs of the
# student's head.loss_module (its second input, data_idx=1, is the labels;
# under VRMDistill they cover both views). The paper's CIFAR-100 settings:
# T = 4, alpha = 1, beta = 8, the DKD term ramped in linearly over the first
# 20 of 240 epochs (ImageNet: T = 1, alpha = 0.5, beta = 0.5, 1 epoch).
# Without the ramp, beside VRM, DKD's gradient is 8x the CE's at the start
# and the student falls behind (LossBalanceHook warns).
dkd_logits = dict(
    student_recorders=dict(
        fc=dict(type='ModuleOutputs', source='head.fc'),
        gt_labels=dict(type='ModuleInputs', source='head.loss_module')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
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
                recorder='gt_labels', from_student=True, data_idx=1))))
# The paper's warm-up (20 epochs of a 240-epoch schedule): shorten it with
# the schedule, e.g. dict(_base_.dkd_warmup, warmup_epochs=1).
dkd_warmup = dict(
    type='mmrazor.DistillWarmupHook', warmup_epochs=20, losses=['loss_dkd'])

# MMRazor's DIST (Huang et al., NeurIPS 2022: Pearson correlation between
# the student's and the teacher's class distributions, across the batch
# (inter) and across the classes (intra)) on the head's logits, as parts to
# merge into a distiller beside other losses:
#   _base_ = [..., 'relkd_mm::_base_/distill/dist_logits.py']
#   model = dict(distiller=_base_.dist_logits)
# DISTLoss's forward takes `logits_S` and `logits_T` (not preds_S/preds_T).
# Settings of the paper and of MMRazor's configs: beta = gamma = 1 with a
# loss weight of 2 (i.e. 2 x inter + 2 x intra), T = 1 on ImageNet (the
# paper's CIFAR-100 runs use T = 4: set loss_dist.tau=4). DIST uses no
# warm-up.
dist_logits = dict(
    student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_dist=dict(
            type='DISTLoss',
            inter_loss_weight=1.0,
            intra_loss_weight=1.0,
            tau=1,
            loss_weight=2.0)),
    loss_forward_mappings=dict(
        loss_dist=dict(
            logits_S=dict(from_student=True, recorder='fc'),
            logits_T=dict(from_student=False, recorder='fc'))))

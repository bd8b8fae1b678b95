# VRM's distiller, shared by the CIFAR-100 and ImageNet VRM bases:
# VRMLoss on the head's (2B, C) logits of the real + virtual views, with the
# defaults of configs/vrm/README.md, which documents every option and says
# which are the paper's and which are choices.
vrm_distiller = dict(
    type='CheckedConfigurableDistiller',
    student_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    teacher_recorders=dict(fc=dict(type='ModuleOutputs', source='head.fc')),
    distill_losses=dict(
        loss_vrm=dict(
            type='VRMLoss',
            loss_weight=1.0,
            is_weight=1.0,
            ic_weight=1.0,
            zscore=True,
            is_pairs='all',
            prune='discrepancy',
            prune_ratio=0.1)),
    loss_forward_mappings=dict(
        loss_vrm=dict(
            preds_S=dict(from_student=True, recorder='fc'),
            preds_T=dict(from_student=False, recorder='fc'))))

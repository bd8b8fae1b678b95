# TPAMI stage 2 with the adaptive emphasis (GKD code's `wgkd`): each sample's
# KL is weighted by 2 sigmoid(-u), u the teacher's min-max scaled
# uncertainty from its own head. Stage 1: the TPAMI one.
_base_ = ['./refilled-tpami-s2_wrn-40-2_wrn-16-2_1xb256_cifar100.py']

model = dict(
    distiller=dict(
        distill_losses=dict(loss_refilled=dict(weighted=True)),
        loss_forward_mappings=dict(
            loss_refilled=dict(
                logits_T=dict(from_student=False, recorder='logits')))))

# fmnist-lowdata protocol: REFILLED stage 2 (embedding-induced classifier),
# from stage 1's last checkpoint. The TPAMI code's stage-2 temperature (tau
# 1, the student's logits not divided by tau), not the 2021 code's (weight
# 100, tau 2) that the CIFAR-100 configs keep: here the 2021 settings gave
# the KL 13-18 times the CE's gradient and left the student below the
# student alone (docs/tuning.md, round 0). The KL weight was then chosen on
# the validation split among 1, 3 and 10 (docs/tuning.md, round 3): 10,
# +1.10 over the TPAMI weight of 1 (within noise; +0.29 over 3).
_base_ = ['../quickstart/refilled-s2_wrn-16-2_resnet8_fmnist.py']
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_refilled=dict(loss_weight=10.0, tau=1.0,
                               student_tau=False))))

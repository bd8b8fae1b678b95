# REFILLED stage 2 with the TPAMI (GKD) code's settings: lambda 1, tau2 1 on
# the teacher, no temperature on the student, global centers; 200 epochs,
# lr 0.1 x0.2 at epochs 50, 100, 150, batch 256 (as stage 1).
_base_ = ['./refilled-s2_cifar100.py']

train_dataloader = dict(batch_size=256)
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_refilled=dict(loss_weight=1.0, tau=1.0,
                               student_tau=False))))
param_scheduler = dict(milestones=[50, 100, 150], gamma=0.2)
auto_scale_lr = dict(base_batch_size=256)

# REFILLED stage 2 on the TPAMI cross-task protocol (./cifar100-tpami-tasks.py)
# with the TPAMI (GKD) code's stage-2 settings, those of
# ../refilled-tpami-s2_wrn-40-2_wrn-16-2_1xb256_cifar100.py: lambda 1, tau2 1
# on the teacher, no temperature on the student, global centers; 200 epochs,
# lr 0.1 x0.2 at epochs 50, 100, 150, batch 256. Leaf configs set the shift.
_base_ = ['./refilled-s2_cifar100.py', './cifar100-tpami-tasks.py']

train_dataloader = dict(
    batch_size=256,
    dataset=dict(
        _delete_=True,
        dataset={{_base_.train_dataloader.dataset}},
        **_base_._tpami_task))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        dataset={{_base_.val_dataloader.dataset}},
        **_base_._tpami_task))
test_dataloader = val_dataloader
data_preprocessor = dict(num_classes=50)
# The loss's classifier covers the student's task.
model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_refilled=dict(num_classes=50, loss_weight=1.0, tau=1.0,
                               student_tau=False))),
    **_base_._tpami_models)
param_scheduler = dict(milestones=[50, 100, 150], gamma=0.2)
auto_scale_lr = dict(base_batch_size=256)

# REFILLED stage 2 with the TPAMI (GKD) code's hyperparameters:
# wrn_40_2 -> wrn_16_2 on CIFAR-100. Lambda 1, tau2 1 on the teacher, no
# temperature on the student, global centers; 200 epochs, lr 0.1 x0.2 at
# epochs 50, 100, 150, batch 256 (as stage 1). The cross-task configs
# (`_base_/refilled-tpami-s2_cifar100-tasks.py`) take the same settings.
_base_ = ['./_base_/refilled-s2_cifar100.py']

train_dataloader = dict(batch_size=256)
param_scheduler = dict(milestones=[50, 100, 150], gamma=0.2)
auto_scale_lr = dict(base_batch_size=256)

teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'
model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_16_2.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(
            loss_refilled=dict(loss_weight=1.0, tau=1.0,
                               student_tau=False))))
load_from = 'work_dirs/refilled-tpami-s1_wrn-40-2_wrn-16-2_1xb256_cifar100/epoch_100.pth'  # noqa: E501

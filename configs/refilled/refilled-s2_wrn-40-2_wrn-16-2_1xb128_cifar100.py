# REFILLED stage 2: wrn_40_2 teacher -> wrn_16_2 student on CIFAR-100,
# starting from stage 1's last checkpoint (never a test-selected one).
_base_ = ['./_base_/refilled-s2_cifar100.py']

teacher_ckpt = 'checkpoints/cifar100/wrn_40_2.pth'
model = dict(
    architecture=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_16_2.py'),
    teacher=dict(cfg_path='relkd_mm::_base_/models/cifar100/wrn_40_2.py'),
    teacher_ckpt=teacher_ckpt)
# The student weights of stage 1 (its work dir with tools/train.py's
# default): tools/train_refilled.py sets this to the run's own stage 1.
load_from = 'work_dirs/refilled-s1_wrn-40-2_wrn-16-2_1xb128_cifar100/epoch_200.pth'  # noqa: E501

# RepDistiller's resnet20 trained on CIFAR-100 from scratch (teacher or
# "student alone" baseline): RepDistiller's protocol (240 epochs, batch 64).
_base_ = [
    '../_base_/models/cifar100/resnet20.py',
    '../_base_/datasets/cifar100_bs64.py',
    '../_base_/schedules/cifar100_240e.py',
    '../_base_/default_runtime.py',
]

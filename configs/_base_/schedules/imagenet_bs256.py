# ImageNet: 100 epochs, batch 256 in total, SGD lr 0.1 momentum 0.9,
# wd 1e-4, x0.1 at epochs 30, 60, 90 (MMPretrain's imagenet_bs256).
_base_ = ['mmpretrain::_base_/schedules/imagenet_bs256.py']

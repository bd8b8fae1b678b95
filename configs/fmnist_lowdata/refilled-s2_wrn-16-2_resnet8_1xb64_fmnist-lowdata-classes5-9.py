# fmnist-lowdata protocol, cross-task REFILLED stage 2.
_base_ = ['../quickstart/refilled-s2_wrn-16-2_resnet8_fmnist-classes5-9.py']

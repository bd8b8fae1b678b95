# fmnist-lowdata protocol, cross-task REFILLED stage 1: the teacher knows
# classes 0-4, the student learns classes 5-9.
_base_ = ['../quickstart/refilled-s1_wrn-16-2_resnet8_fmnist-classes5-9.py']

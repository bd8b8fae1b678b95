# fmnist-lowdata protocol: REFILLED stage 1 (tuple relationship matching).
# The protocol gives it its share of the student epochs (Arm.stage_epochs).
_base_ = ['../quickstart/refilled-s1_wrn-16-2_resnet8_fmnist.py']

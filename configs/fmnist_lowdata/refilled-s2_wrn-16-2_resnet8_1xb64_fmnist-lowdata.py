# fmnist-lowdata protocol: REFILLED stage 2 (embedding-induced classifier),
# from stage 1's last checkpoint.
_base_ = ['../quickstart/refilled-s2_wrn-16-2_resnet8_fmnist.py']

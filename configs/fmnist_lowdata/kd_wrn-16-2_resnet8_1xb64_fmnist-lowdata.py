# fmnist-lowdata protocol: KD (MMRazor KLDivergence, T=4, weight 1), the
# reference every relational method is compared with.
_base_ = ['../quickstart/kd_wrn-16-2_resnet8_fmnist.py']

# fmnist-lowdata protocol: resnet8 alone (CE), the baseline. The protocol
# (tools/benchmark.py --protocol fmnist-lowdata) sets the data splits, the
# students' subset and the epochs.
_base_ = ['../quickstart/student_resnet8_fmnist.py']

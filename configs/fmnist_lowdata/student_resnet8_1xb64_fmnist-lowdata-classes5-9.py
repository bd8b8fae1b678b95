# fmnist-lowdata protocol, cross-task baseline: resnet8 alone on classes 5-9
# of the students' subset.
_base_ = ['../quickstart/student_resnet8_fmnist-classes5-9.py']

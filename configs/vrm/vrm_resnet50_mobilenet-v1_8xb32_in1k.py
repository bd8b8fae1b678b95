# VRM on ImageNet, ResNet50 -> MobileNet-V1: the KD literature's "ResNet50 ->
# MobileNetV2" benchmark, whose student (mdistiller's `MobileNetV1`, called
# "MobileNetV2" in its tables) is a MobileNet-V1 (70.13 trained alone).
# Paper: 74.0 (DKD 72.05, DIST 73.24). 8 GPUs x 32 images.
_base_ = ['../_base_/distill/vrm_imagenet_8xb32.py']

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'  # noqa: E501

model = dict(
    architecture=dict(
        cfg_path='relkd_mm::_base_/models/imagenet/mobilenet_v1.py'),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt)

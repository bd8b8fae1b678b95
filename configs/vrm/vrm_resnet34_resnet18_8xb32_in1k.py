# VRM on ImageNet, ResNet34 (MMPretrain model zoo, 73.62) -> ResNet18;
# 8 GPUs x 32 images. Logit KD for comparison: KD 71.03, DKD 71.70,
# DIST 72.07 (torchvision teacher, 73.31).
_base_ = ['../_base_/distill/vrm_imagenet_8xb32.py']

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth'  # noqa: E501

model = dict(
    architecture=dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py',
        pretrained=False),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet34_8xb32_in1k.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt)

# VRM on ImageNet, ResNet50 (MMPretrain model zoo, 76.55) -> MMPretrain's
# MobileNetV2 (71.86 trained alone); 8 GPUs x 32 images. This is the real
# MobileNetV2: the paper's "ResNet50 -> MobileNetV2" (74.0) is the KD
# benchmark's MobileNet-V1, in vrm_resnet50_mobilenet-v1_8xb32_in1k.py.
_base_ = ['../_base_/distill/vrm_imagenet_8xb32.py']

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'  # noqa: E501

model = dict(
    architecture=dict(
        cfg_path='mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
        pretrained=False),
    teacher=dict(
        cfg_path='mmpretrain::resnet/resnet50_8xb32_in1k.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt)

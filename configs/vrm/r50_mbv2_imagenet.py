# The name under which the documentation first gave this config: VRM on
# ImageNet, ResNet50 -> MMPretrain's MobileNetV2, kept so that commands
# written against it still run (work_dirs/r50_mbv2_imagenet). The config is
# vrm_resnet50_mobilenetv2_8xb32_in1k.py.
_base_ = ['./vrm_resnet50_mobilenetv2_8xb32_in1k.py']

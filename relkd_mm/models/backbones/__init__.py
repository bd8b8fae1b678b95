from .cifar_mobilenetv2 import RepDistillerMobileNetV2
from .cifar_resnet import RepDistillerResNet
from .cifar_vgg import RepDistillerVGG
from .mobilenet_v1 import MobileNetV1
from .shufflenet_v1 import RepDistillerShuffleNetV1
from .shufflenet_v2 import RepDistillerShuffleNetV2
from .wrn import RepDistillerWRN

__all__ = [
    'MobileNetV1', 'RepDistillerMobileNetV2', 'RepDistillerResNet',
    'RepDistillerShuffleNetV1', 'RepDistillerShuffleNetV2', 'RepDistillerVGG',
    'RepDistillerWRN'
]

"""MobileNet-V1 for ImageNet, the student of the "ResNet50 -> MobileNet"
ImageNet benchmark."""
from mmpretrain.registry import MODELS
from torch import nn

from .base import StagedBackbone, check_arch, conv_bn_relu


def _depthwise_separable(in_channels, out_channels, stride):
    """3x3 depthwise conv + BN + ReLU, 1x1 conv + BN + ReLU (keys
    ``0, 1`` and ``3, 4``)."""
    return nn.Sequential(
        *conv_bn_relu(in_channels, in_channels, 3, stride,
                      groups=in_channels),
        *conv_bn_relu(in_channels, out_channels, 1))


@MODELS.register_module()
class MobileNetV1(StagedBackbone):
    """MobileNet-V1 (Howard et al., 2017), width 1.0, as mdistiller defines
    it (``mdistiller/models/imagenet/mobilenetv1.py``; the KD literature's
    "ResNet50 -> MobileNet(V2)" ImageNet pair uses this network, 70.13%
    top-1 as a baseline).

    ``layers.0`` is a 3x3 stride-2 conv to 32 channels; ``layers.1..13``
    are depthwise-separable blocks with output channels 64, 128, 128, 256,
    256, 512, 512 x 5, 1024, 1024 and stride 2 at blocks 2, 4, 6 and 12.
    A 224x224 input ends at 7x7 with 1024 channels; mdistiller's
    ``AvgPool2d(7)`` is the ``GlobalAveragePooling`` neck here. With a
    1000-class linear head the classifier has 4,231,976 parameters.

    Stages, for ``out_indices``/``frozen_stages``, are the groups at each
    resolution, ending where mdistiller takes its distillation features:
    0 = blocks 0-3 (128 channels, 56x56), 1 = blocks 4-5 (256, 28x28),
    2 = blocks 6-11 (512, 14x14), 3 = blocks 12-13 (1024, 7x7). There is
    no separate stem.

    mmpretrain has no MobileNet-V1. The keys of mdistiller's checkpoints map
    as ``model.{i}.*`` -> ``backbone.layers.{i}.*`` and ``fc`` ->
    ``head.fc``.

    Args:
        arch (str): Only ``'1.0'``. Defaults to ``'1.0'``.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages (0-3) whose outputs are
            returned. Defaults to ``(3, )``.
        frozen_stages (int): See :class:`StagedBackbone`. Defaults to -1.
        norm_eval (bool): See :class:`StagedBackbone`. Defaults to False.
        init_cfg (dict | list[dict], optional): Defaults to None, PyTorch's
            default initialisation, which mdistiller uses.
    """
    # (output channels, stride) of the depthwise-separable blocks.
    arch_settings = {
        '1.0': [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                (512, 1), (512, 1), (512, 1), (512, 1), (512, 1),
                (1024, 2), (1024, 1)]
    }
    # Index in ``layers`` of the last block of each stage.
    stage_ends = (3, 5, 11, 13)

    def __init__(self,
                 arch='1.0',
                 in_channels=3,
                 out_indices=(3, ),
                 frozen_stages=-1,
                 norm_eval=False,
                 init_cfg=None):
        super().__init__(4, out_indices, frozen_stages, norm_eval, init_cfg)
        blocks = check_arch(type(self).__name__, arch, self.arch_settings)
        self.arch = arch
        layers = [conv_bn_relu(in_channels, 32, 3, stride=2)]
        in_ch = 32
        for out_ch, stride in blocks:
            layers.append(_depthwise_separable(in_ch, out_ch, stride))
            in_ch = out_ch
        self.layers = nn.Sequential(*layers)
        self.feat_dim = in_ch
        self._post_init()

    def stem_modules(self):
        return []

    def stage_modules(self):
        starts = (0, ) + tuple(end + 1 for end in self.stage_ends[:-1])
        return [
            list(self.layers[start:end + 1])
            for start, end in zip(starts, self.stage_ends)
        ]

    def forward(self, x):
        outs = []
        start = 0
        for i, end in enumerate(self.stage_ends):
            x = self.layers[start:end + 1](x)
            self._collect(i, x, outs)
            start = end + 1
        return tuple(outs)

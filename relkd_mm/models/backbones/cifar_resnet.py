"""RepDistiller's 3-stage CIFAR ResNets (resnet8 ... resnet110, resnet8x4,
resnet32x4)."""
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from torch import nn

from .base import KAIMING_FAN_OUT_INIT, StagedBackbone, check_arch


def _conv3x3(in_channels, out_channels, stride=1):
    return nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)


class CIFARBasicBlock(nn.Module):
    """Post-activation basic block: ``relu(bn2(conv2(relu(bn1(conv1(x)))))
    + shortcut(x))``; the shortcut is ``downsample`` (1x1 conv + BN) when
    the stride or the width changes, else the identity."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)


@MODELS.register_module()
class RepDistillerResNet(StagedBackbone):
    """The CIFAR ResNets of RepDistiller (``models/resnet.py``).

    A 3x3 stem (``conv1``, ``bn1``, ``relu``) and three stages
    ``layer1..3`` of ``(depth - 2) / 6`` basic blocks each, at strides 1,
    2, 2. ``resnet<d>`` uses 16/16/32/64 channels (stem/stages),
    ``resnet<d>x4`` 32/64/128/256. The pooled output of the last stage is
    RepDistiller's ``feat`` (64 or 256 channels).

    mmpretrain's ``ResNet_CIFAR`` is not this network (it is the 4-stage
    ImageNet ResNet with a 3x3 stem, 64-512 channels), hence this class.

    State-dict keys are RepDistiller's (``conv1``, ``bn1``,
    ``layer{i}.{j}.conv1/bn1/conv2/bn2/downsample.{0,1}``), so a RepDistiller
    checkpoint loads after prefixing ``backbone.`` (and ``fc`` ->
    ``head.fc``).

    Args:
        arch (str): One of ``arch_settings``: ``'resnet8'``, ``'resnet14'``,
            ``'resnet20'``, ``'resnet32'``, ``'resnet44'``, ``'resnet56'``,
            ``'resnet110'``, ``'resnet8x4'``, ``'resnet32x4'``.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages (0-2) whose outputs are
            returned. Defaults to ``(2, )``.
        frozen_stages (int): See :class:`StagedBackbone`. Defaults to -1.
        norm_eval (bool): See :class:`StagedBackbone`. Defaults to False.
        init_cfg (dict | list[dict]): Defaults to RepDistiller's scheme
            (Kaiming-normal fan_out convolutions, BN weight 1 bias 0).
    """
    # depth -> (blocks per stage), channels (stem, stage1, stage2, stage3)
    arch_settings = {
        **{
            f'resnet{d}': ((d - 2) // 6, (16, 16, 32, 64))
            for d in (8, 14, 20, 32, 44, 56, 110)
        },
        'resnet8x4': (1, (32, 64, 128, 256)),
        'resnet32x4': (5, (32, 64, 128, 256)),
    }

    def __init__(self,
                 arch='resnet56',
                 in_channels=3,
                 out_indices=(2, ),
                 frozen_stages=-1,
                 norm_eval=False,
                 init_cfg=KAIMING_FAN_OUT_INIT):
        super().__init__(3, out_indices, frozen_stages, norm_eval, init_cfg)
        num_blocks, channels = check_arch(type(self).__name__, arch,
                                          self.arch_settings)
        self.arch = arch
        self.conv1 = _conv3x3(in_channels, channels[0])
        self.bn1 = nn.BatchNorm2d(channels[0])
        self.relu = nn.ReLU(inplace=True)
        in_ch = channels[0]
        for i, (out_ch, stride) in enumerate(zip(channels[1:], (1, 2, 2))):
            blocks = [CIFARBasicBlock(in_ch, out_ch, stride)]
            blocks += [
                CIFARBasicBlock(out_ch, out_ch) for _ in range(num_blocks - 1)
            ]
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            in_ch = out_ch
        self.feat_dim = in_ch
        self._post_init()

    def stem_modules(self):
        return [self.conv1, self.bn1]

    def stage_modules(self):
        return [self.layer1, self.layer2, self.layer3]

    def stem(self, x):
        return self.relu(self.bn1(self.conv1(x)))

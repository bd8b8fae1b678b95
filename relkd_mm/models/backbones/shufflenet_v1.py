"""RepDistiller's CIFAR ShuffleNet-V1 (``ShuffleV1``)."""
import torch
import torch.nn.functional as F
from mmpretrain.models.utils import channel_shuffle
from mmpretrain.registry import MODELS
from torch import nn

from .base import StagedBackbone, check_arch


class ShuffleV1Unit(nn.Module):
    """Grouped 1x1 conv, channel shuffle, 3x3 depthwise conv, grouped 1x1
    conv (each with BN). Stride 1: ``relu(out + x)``; stride 2:
    ``relu(cat(out, avgpool3x3(x)))``, so ``out_channels`` excludes the
    concatenated input channels. The first 1x1 conv is ungrouped when the
    input has 24 channels (the stem width), as in RepDistiller."""

    def __init__(self, in_channels, out_channels, stride, groups):
        super().__init__()
        self.stride = stride
        mid = out_channels // 4
        self.groups1 = 1 if in_channels == 24 else groups
        self.conv1 = nn.Conv2d(in_channels, mid, 1, groups=self.groups1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, 1, groups=groups,
                               bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = channel_shuffle(out, self.groups1)
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.stride == 2:
            shortcut = F.avg_pool2d(x, 3, stride=2, padding=1)
            return F.relu(torch.cat([out, shortcut], 1))
        return F.relu(out + x)


@MODELS.register_module()
class RepDistillerShuffleNetV1(StagedBackbone):
    """The CIFAR ShuffleNet-V1 of RepDistiller (``models/ShuffleNetv1.py``,
    ``ShuffleV1``: 3 groups).

    A 1x1 stem conv to 24 channels (``conv1``, ``bn1``, ReLU; no
    downsampling), then three stages ``layer1..3`` of 4, 8, 4 units with
    240, 480, 960 output channels, each starting with a stride-2 unit. A
    32x32 input ends at 4x4; the pooled output of ``layer3`` is
    RepDistiller's ``feat`` (960 channels).

    mmpretrain's ``ShuffleNetV1`` is the ImageNet network (3x3 stride-2 stem
    and max pooling, different widths and key names), not this one. Key
    names are RepDistiller's (``conv1``, ``bn1``,
    ``layer{i}.{j}.conv1..3/bn1..3``), so a checkpoint loads after
    prefixing ``backbone.`` (and ``linear`` -> ``head.fc``).

    Args:
        arch (str): Only ``'shufflev1'`` (RepDistiller's ``ShuffleV1``).
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages (0-2) whose outputs are
            returned. Defaults to ``(2, )``.
        frozen_stages (int): See :class:`StagedBackbone`. Defaults to -1.
        norm_eval (bool): See :class:`StagedBackbone`. Defaults to False.
        init_cfg (dict | list[dict], optional): Defaults to None, PyTorch's
            default initialisation, which RepDistiller uses for this
            network.
    """
    arch_settings = {
        'shufflev1': dict(out_channels=(240, 480, 960),
                          num_blocks=(4, 8, 4), groups=3)
    }

    def __init__(self,
                 arch='shufflev1',
                 in_channels=3,
                 out_indices=(2, ),
                 frozen_stages=-1,
                 norm_eval=False,
                 init_cfg=None):
        super().__init__(3, out_indices, frozen_stages, norm_eval, init_cfg)
        setting = check_arch(type(self).__name__, arch, self.arch_settings)
        self.arch = arch
        self.conv1 = nn.Conv2d(in_channels, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        in_ch = 24
        for i, (out_ch, num_blocks) in enumerate(
                zip(setting['out_channels'], setting['num_blocks'])):
            # The stride-2 unit concatenates its input to its output.
            units = [
                ShuffleV1Unit(in_ch, out_ch - in_ch, 2, setting['groups'])
            ]
            units += [
                ShuffleV1Unit(out_ch, out_ch, 1, setting['groups'])
                for _ in range(num_blocks - 1)
            ]
            self.add_module(f'layer{i + 1}', nn.Sequential(*units))
            in_ch = out_ch
        self.feat_dim = in_ch
        self._post_init()

    def stem_modules(self):
        return [self.conv1, self.bn1]

    def stage_modules(self):
        return [self.layer1, self.layer2, self.layer3]

    def stem(self, x):
        return F.relu(self.bn1(self.conv1(x)))

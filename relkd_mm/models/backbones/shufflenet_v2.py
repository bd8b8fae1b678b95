"""RepDistiller's CIFAR ShuffleNet-V2 (``ShuffleV2``)."""
import torch
import torch.nn.functional as F
from mmpretrain.models.utils import channel_shuffle
from mmpretrain.registry import MODELS
from torch import nn

from .base import StagedBackbone, check_arch


def _conv(in_channels, out_channels, kernel_size, stride=1, depthwise=False):
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                     kernel_size // 2,
                     groups=in_channels if depthwise else 1, bias=False)


class ShuffleV2DownUnit(nn.Module):
    """Stride-2 unit. Left branch: depthwise 3x3/2 (``conv1``), 1x1
    (``conv2``, ReLU); right branch: 1x1 (``conv3``, ReLU), depthwise 3x3/2
    (``conv4``), 1x1 (``conv5``, ReLU); every conv has its BN
    (``bn1..5``). Concatenated, then shuffled in 2 groups."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        mid = out_channels // 2
        self.conv1 = _conv(in_channels, in_channels, 3, 2, depthwise=True)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = _conv(in_channels, mid, 1)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = _conv(in_channels, mid, 1)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv4 = _conv(mid, mid, 3, 2, depthwise=True)
        self.bn4 = nn.BatchNorm2d(mid)
        self.conv5 = _conv(mid, mid, 1)
        self.bn5 = nn.BatchNorm2d(mid)

    def forward(self, x):
        left = F.relu(self.bn2(self.conv2(self.bn1(self.conv1(x)))))
        right = F.relu(self.bn3(self.conv3(x)))
        right = F.relu(self.bn5(self.conv5(self.bn4(self.conv4(right)))))
        return channel_shuffle(torch.cat([left, right], 1), 2)


class ShuffleV2Unit(nn.Module):
    """Stride-1 unit: the first half of the channels passes unchanged, the
    second goes through 1x1 (ReLU), depthwise 3x3, 1x1 (ReLU), each with
    BN; concatenated, then shuffled in 2 groups."""

    def __init__(self, channels):
        super().__init__()
        self.split = channels // 2
        half = channels - self.split
        self.conv1 = _conv(half, half, 1)
        self.bn1 = nn.BatchNorm2d(half)
        self.conv2 = _conv(half, half, 3, depthwise=True)
        self.bn2 = nn.BatchNorm2d(half)
        self.conv3 = _conv(half, half, 1)
        self.bn3 = nn.BatchNorm2d(half)

    def forward(self, x):
        kept, branch = x[:, :self.split], x[:, self.split:]
        out = F.relu(self.bn1(self.conv1(branch)))
        out = self.bn2(self.conv2(out))
        out = F.relu(self.bn3(self.conv3(out)))
        return channel_shuffle(torch.cat([kept, out], 1), 2)


@MODELS.register_module()
class RepDistillerShuffleNetV2(StagedBackbone):
    """The CIFAR ShuffleNet-V2 of RepDistiller (``models/ShuffleNetv2.py``,
    ``ShuffleV2`` = net size 1).

    A 1x1 stem conv to 24 channels (``conv1``, ``bn1``, ReLU; no
    downsampling), three stages ``layer1..3`` (a stride-2 unit then 3, 7, 3
    stride-1 units; 116, 232, 464 channels), and a 1x1 ``conv2`` + ``bn2``
    + ReLU to 1024 channels. A 32x32 input ends at 4x4; the pooled
    ``conv2`` output is RepDistiller's ``feat``.

    mmpretrain's ``ShuffleNetV2`` is the ImageNet network (3x3 stride-2
    stem and max pooling, different key names), not this one. Key names are
    RepDistiller's (``conv1``, ``bn1``, ``layer{i}.{j}.conv*/bn*``,
    ``conv2``, ``bn2``), so a checkpoint loads after prefixing
    ``backbone.`` (and ``linear`` -> ``head.fc``).

    Args:
        arch (str): Only ``'shufflev2'`` (RepDistiller's ``ShuffleV2``).
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages whose outputs are returned:
            0-2 ``layer1..3``, 3 the ``conv2`` block. Defaults to ``(3, )``.
        frozen_stages (int): See :class:`StagedBackbone`. Defaults to -1.
        norm_eval (bool): See :class:`StagedBackbone`. Defaults to False.
        init_cfg (dict | list[dict], optional): Defaults to None, PyTorch's
            default initialisation, which RepDistiller uses for this
            network.
    """
    arch_settings = {
        'shufflev2': dict(out_channels=(116, 232, 464, 1024),
                          num_blocks=(3, 7, 3))
    }

    def __init__(self,
                 arch='shufflev2',
                 in_channels=3,
                 out_indices=(3, ),
                 frozen_stages=-1,
                 norm_eval=False,
                 init_cfg=None):
        super().__init__(4, out_indices, frozen_stages, norm_eval, init_cfg)
        setting = check_arch(type(self).__name__, arch, self.arch_settings)
        self.arch = arch
        self.conv1 = nn.Conv2d(in_channels, 24, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        in_ch = 24
        *widths, self.feat_dim = setting['out_channels']
        for i, (out_ch, num_blocks) in enumerate(
                zip(widths, setting['num_blocks'])):
            units = [ShuffleV2DownUnit(in_ch, out_ch)]
            units += [ShuffleV2Unit(out_ch) for _ in range(num_blocks)]
            self.add_module(f'layer{i + 1}', nn.Sequential(*units))
            in_ch = out_ch
        self.conv2 = nn.Conv2d(in_ch, self.feat_dim, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(self.feat_dim)
        self._post_init()

    def stem_modules(self):
        return [self.conv1, self.bn1]

    def stage_modules(self):
        return [self.layer1, self.layer2, self.layer3,
                [self.conv2, self.bn2]]

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        outs = []
        for i, stage in enumerate((self.layer1, self.layer2, self.layer3)):
            x = stage(x)
            self._collect(i, x, outs)
        x = F.relu(self.bn2(self.conv2(x)))
        self._collect(3, x, outs)
        return tuple(outs)

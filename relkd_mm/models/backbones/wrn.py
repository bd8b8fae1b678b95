"""RepDistiller's pre-activation Wide ResNets (wrn_16_1 ... wrn_40_2)."""
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from torch import nn

from .base import KAIMING_FAN_OUT_INIT, StagedBackbone, check_arch


class WRNBlock(nn.Module):
    """Pre-activation basic block.

    ``a = relu(bn1(x))``; ``out = conv2(dropout(relu(bn2(conv1(a)))))``;
    returns ``out + x`` when the width is unchanged, else
    ``out + convShortcut(a)`` (a strided 1x1 conv of the activated input).
    """

    def __init__(self, in_channels, out_channels, stride, drop_rate=0.):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1,
                               bias=False)
        self.drop_rate = drop_rate
        # RepDistiller's key name, kept so its checkpoints load as they are.
        self.convShortcut = None
        if in_channels != out_channels:
            self.convShortcut = nn.Conv2d(in_channels, out_channels, 1,
                                          stride, bias=False)

    def forward(self, x):
        act = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(act)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        if self.convShortcut is None:
            return out + x
        return out + self.convShortcut(act)


class WRNStage(nn.Module):
    """A stage; the ``layer`` attribute reproduces RepDistiller's
    ``block{i}.layer.{j}`` key names."""

    def __init__(self, num_blocks, in_channels, out_channels, stride,
                 drop_rate):
        super().__init__()
        blocks = [WRNBlock(in_channels, out_channels, stride, drop_rate)]
        blocks += [
            WRNBlock(out_channels, out_channels, 1, drop_rate)
            for _ in range(num_blocks - 1)
        ]
        self.layer = nn.Sequential(*blocks)

    def forward(self, x):
        return self.layer(x)


@MODELS.register_module()
class RepDistillerWRN(StagedBackbone):
    """The CIFAR Wide ResNets of RepDistiller (``models/wrn.py``).

    ``wrn_<depth>_<k>``: a 3x3 stem conv to 16 channels, three stages
    ``block1..3`` of ``(depth - 4) / 6`` pre-activation blocks with
    ``16k``, ``32k``, ``64k`` channels at strides 1, 2, 2, then a final
    ``bn1`` + ReLU. The last returned map is ``relu(bn1(block3(x)))``,
    whose pooled value is RepDistiller's ``feat`` (``64k`` channels);
    earlier stages are returned as the blocks output them (before any
    normalisation).

    Why not MMRazor's ``WideResNet``: it computes the same function, but it
    has no working dropout (its ``droprate`` never reaches the blocks),
    returns only the last map, freezes the final norm together with the
    stem, and names its keys differently (``layer{i}.{j}``, ``downsample``).
    This class keeps RepDistiller's key names (``conv1``,
    ``block{i}.layer.{j}.bn1/conv1/bn2/conv2/convShortcut``, ``bn1``), so a
    RepDistiller checkpoint loads after prefixing ``backbone.`` (and
    ``fc`` -> ``head.fc``).

    Args:
        arch (str | dict): ``'wrn_16_1'``, ``'wrn_16_2'``, ``'wrn_40_1'``,
            ``'wrn_40_2'``, or ``dict(depth=..., widen_factor=...)`` with
            ``depth = 6n + 4``.
        in_channels (int): Input image channels. Defaults to 3.
        drop_rate (float): Dropout probability between the two convs of
            every block (RepDistiller's ``dropRate``). Defaults to 0.
        out_indices (Sequence[int]): Stages (0-2) whose outputs are
            returned. Defaults to ``(2, )``.
        frozen_stages (int): See :class:`StagedBackbone`. The final ``bn1``
            belongs to the last stage. Defaults to -1.
        norm_eval (bool): See :class:`StagedBackbone`. Defaults to False.
        init_cfg (dict | list[dict]): Defaults to RepDistiller's scheme.
    """
    arch_settings = {
        'wrn_16_1': dict(depth=16, widen_factor=1),
        'wrn_16_2': dict(depth=16, widen_factor=2),
        'wrn_40_1': dict(depth=40, widen_factor=1),
        'wrn_40_2': dict(depth=40, widen_factor=2),
    }

    def __init__(self,
                 arch='wrn_40_2',
                 in_channels=3,
                 drop_rate=0.,
                 out_indices=(2, ),
                 frozen_stages=-1,
                 norm_eval=False,
                 init_cfg=KAIMING_FAN_OUT_INIT):
        super().__init__(3, out_indices, frozen_stages, norm_eval, init_cfg)
        name = type(self).__name__
        if isinstance(arch, str):
            setting = check_arch(name, arch, self.arch_settings)
        else:
            setting = dict(arch)
            if set(setting) != {'depth', 'widen_factor'}:
                raise KeyError(f'{name}: a dict arch needs exactly the keys '
                               f"'depth' and 'widen_factor', got {arch}.")
        depth, widen = setting['depth'], setting['widen_factor']
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(f'{name}: depth={depth} must be 6n + 4 with '
                             'n >= 1 (e.g. 16, 40).')
        if not 0 <= drop_rate < 1:
            raise ValueError(f'{name}: drop_rate={drop_rate} must be in '
                             '[0, 1).')
        self.arch = arch
        num_blocks = (depth - 4) // 6
        channels = [16 * widen, 32 * widen, 64 * widen]
        self.conv1 = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        in_ch = 16
        for i, (out_ch, stride) in enumerate(zip(channels, (1, 2, 2))):
            self.add_module(
                f'block{i + 1}',
                WRNStage(num_blocks, in_ch, out_ch, stride, drop_rate))
            in_ch = out_ch
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.relu = nn.ReLU(inplace=True)
        self.feat_dim = in_ch
        self._post_init()

    def stem_modules(self):
        return [self.conv1]

    def stage_modules(self):
        return [self.block1, self.block2, [self.block3, self.bn1]]

    def forward(self, x):
        x = self.conv1(x)
        outs = []
        for i, stage in enumerate((self.block1, self.block2, self.block3)):
            x = stage(x)
            if i == 2:
                x = self.relu(self.bn1(x))
            self._collect(i, x, outs)
        return tuple(outs)

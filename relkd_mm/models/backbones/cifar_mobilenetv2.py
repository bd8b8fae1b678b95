"""RepDistiller's CIFAR MobileNetV2 (``mobile_half``)."""
from mmpretrain.registry import MODELS
from torch import nn

from .base import (KAIMING_FAN_OUT_INIT, StagedBackbone, check_arch,
                   conv_bn_relu)


class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise (stride ``stride``), linear 1x1
    projection, all with BN, in one ``conv`` Sequential (keys
    ``conv.0`` ... ``conv.7``); residual when the shape is kept."""

    def __init__(self, in_channels, out_channels, stride, expand_ratio):
        super().__init__()
        mid = in_channels * expand_ratio
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.conv = nn.Sequential(
            *conv_bn_relu(in_channels, mid, 1),
            *conv_bn_relu(mid, mid, 3, stride, groups=mid),
            *conv_bn_relu(mid, out_channels, 1, relu=False))

    def forward(self, x):
        out = self.conv(x)
        return x + out if self.use_res_connect else out


@MODELS.register_module()
class RepDistillerMobileNetV2(StagedBackbone):
    """The CIFAR MobileNetV2 of RepDistiller (``models/mobilenetv2.py``;
    ``mobile_half`` = expansion 6, width 0.5, the ``MobileNetV2`` of its
    ``model_dict``).

    A stride-2 3x3 stem ``conv1`` to ``int(32 * w)`` channels, seven stages
    ``blocks.0..6`` of inverted residuals (t, c, n, s): (1, 16, 1, 1),
    (t, 24, 2, 1), (t, 32, 3, 2), (t, 64, 4, 2), (t, 96, 3, 1),
    (t, 160, 3, 2), (t, 320, 1, 1) with ``c`` scaled by ``w`` and
    truncated, and a 1x1 ``conv2`` to 1280 channels (``int(1280 * w)`` if
    ``w > 1``). A 32x32 input ends at 2x2; the pooled ``conv2`` output is
    RepDistiller's ``feat``.

    mmpretrain's ``MobileNetV2`` is the ImageNet network (stride 2 in the
    second stage, channels rounded to multiples of 8, different key
    names), not this one. Key names are RepDistiller's (``conv1.{0,1}``,
    ``blocks.{i}.{j}.conv.{k}``, ``conv2.{0,1}``), so a checkpoint loads
    after prefixing ``backbone.`` (and ``classifier.0`` -> ``head.fc``).

    Args:
        arch (str): Only ``'mobile_half'`` (RepDistiller's only CIFAR
            configuration). Defaults to ``'mobile_half'``.
        widen_factor (float, optional): Overrides the arch's width
            multiplier (0.5).
        expand_ratio (int, optional): Overrides the arch's expansion (6).
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages whose outputs are returned:
            0-6 the inverted residual stages, 7 ``conv2``. RepDistiller's
            intermediate features are stages 1, 2, 4 and 6. Defaults to
            ``(7, )``.
        frozen_stages (int): See :class:`StagedBackbone`. Defaults to -1.
        norm_eval (bool): See :class:`StagedBackbone`. Defaults to False.
        init_cfg (dict | list[dict]): Defaults to RepDistiller's scheme.
    """
    arch_settings = {'mobile_half': dict(widen_factor=0.5, expand_ratio=6)}
    # (expand? , channels, blocks, stride); expand False = ratio 1.
    block_settings = [(False, 16, 1, 1), (True, 24, 2, 1), (True, 32, 3, 2),
                      (True, 64, 4, 2), (True, 96, 3, 1), (True, 160, 3, 2),
                      (True, 320, 1, 1)]

    def __init__(self,
                 arch='mobile_half',
                 widen_factor=None,
                 expand_ratio=None,
                 in_channels=3,
                 out_indices=(7, ),
                 frozen_stages=-1,
                 norm_eval=False,
                 init_cfg=KAIMING_FAN_OUT_INIT):
        super().__init__(8, out_indices, frozen_stages, norm_eval, init_cfg)
        setting = dict(
            check_arch(type(self).__name__, arch, self.arch_settings))
        if widen_factor is not None:
            setting['widen_factor'] = widen_factor
        if expand_ratio is not None:
            setting['expand_ratio'] = expand_ratio
        width = setting['widen_factor']
        self.arch = arch
        in_ch = int(32 * width)
        self.conv1 = conv_bn_relu(in_channels, in_ch, 3, stride=2)
        self.blocks = nn.ModuleList()
        for expand, channels, num_blocks, stride in self.block_settings:
            ratio = setting['expand_ratio'] if expand else 1
            out_ch = int(channels * width)
            layers = []
            for j in range(num_blocks):
                layers.append(
                    InvertedResidual(in_ch, out_ch, stride if j == 0 else 1,
                                     ratio))
                in_ch = out_ch
            self.blocks.append(nn.Sequential(*layers))
        self.feat_dim = int(1280 * width) if width > 1.0 else 1280
        self.conv2 = conv_bn_relu(in_ch, self.feat_dim, 1)
        self._post_init()

    def stem_modules(self):
        return [self.conv1]

    def stage_modules(self):
        return [*self.blocks, self.conv2]

    def stem(self, x):
        return self.conv1(x)

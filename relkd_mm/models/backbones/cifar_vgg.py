"""RepDistiller's CIFAR VGGs with BatchNorm (vgg8 ... vgg19)."""
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from torch import nn

from .base import KAIMING_FAN_OUT_INIT, StagedBackbone, check_arch


def _make_block(in_channels, widths):
    """``conv3x3 (with bias), BN, ReLU`` per width, without the last ReLU
    (the backbone applies it, as RepDistiller does), so the keys are
    ``0/1`` (conv/BN), ``3/4``, ``6/7`` ..."""
    layers = []
    for width in widths:
        layers += [
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True)
        ]
        in_channels = width
    return nn.Sequential(*layers[:-1])


@MODELS.register_module()
class RepDistillerVGG(StagedBackbone):
    """The CIFAR VGGs of RepDistiller (``models/vgg.py``, the ``*_bn``
    variants that its ``model_dict`` names ``vgg8`` ... ``vgg19``).

    Five stages ``block0..4`` of 3x3 conv + BN + ReLU layers; 2x2 max
    pooling follows stages 0, 1 and 2, and stage 3 only for a 64-pixel-high
    input (RepDistiller's rule), so a 32x32 input reaches ``block4`` at 4x4.
    There are no fully connected layers: the pooled ``relu(block4(x))`` is
    RepDistiller's ``feat`` (512 channels).

    mmpretrain's ``VGG`` is the ImageNet network (pooling after every stage,
    three FC layers), not this one. Key names are RepDistiller's
    (``block{i}.{j}``), so a checkpoint loads after prefixing ``backbone.``
    (and ``classifier`` -> ``head.fc``).

    Args:
        arch (str): ``'vgg8'``, ``'vgg11'``, ``'vgg13'``, ``'vgg16'`` or
            ``'vgg19'``.
        in_channels (int): Input image channels. Defaults to 3.
        out_indices (Sequence[int]): Stages (0-4) whose outputs (after
            ReLU, before pooling) are returned. Defaults to ``(4, )``.
        frozen_stages (int): See :class:`StagedBackbone`; the stem is empty
            so 0 freezes nothing. Defaults to -1.
        norm_eval (bool): See :class:`StagedBackbone`. Defaults to False.
        init_cfg (dict | list[dict]): Defaults to RepDistiller's scheme
            (conv biases 0).
    """
    arch_settings = {
        'vgg8': ((64, ), (128, ), (256, ), (512, ), (512, )),
        'vgg11': ((64, ), (128, ), (256, 256), (512, 512), (512, 512)),
        'vgg13': ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
        'vgg16': ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512),
                  (512, 512, 512)),
        'vgg19': ((64, 64), (128, 128), (256, 256, 256, 256),
                  (512, 512, 512, 512), (512, 512, 512, 512)),
    }

    def __init__(self,
                 arch='vgg13',
                 in_channels=3,
                 out_indices=(4, ),
                 frozen_stages=-1,
                 norm_eval=False,
                 init_cfg=KAIMING_FAN_OUT_INIT):
        super().__init__(5, out_indices, frozen_stages, norm_eval, init_cfg)
        widths = check_arch(type(self).__name__, arch, self.arch_settings)
        self.arch = arch
        for i, stage_widths in enumerate(widths):
            self.add_module(f'block{i}', _make_block(in_channels,
                                                     stage_widths))
            in_channels = stage_widths[-1]
        self.feat_dim = in_channels
        self._post_init()

    def stem_modules(self):
        return []

    def stage_modules(self):
        return [getattr(self, f'block{i}') for i in range(5)]

    def forward(self, x):
        pool_stage3 = x.shape[2] == 64
        outs = []
        for i, stage in enumerate(self.stage_modules()):
            x = F.relu(stage(x))
            self._collect(i, x, outs)
            if i < 3 or (i == 3 and pool_stage3):
                x = F.max_pool2d(x, kernel_size=2, stride=2)
        return tuple(outs)

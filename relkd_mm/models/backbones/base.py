"""Shared plumbing of the RepDistiller-compatible backbones.

Every backbone of this package is a stem followed by a sequence of stages.
The base class turns ``out_indices`` into a checked tuple, freezes the stem
and the first ``frozen_stages`` stages, and keeps BatchNorm layers in eval
mode when ``norm_eval`` is set, the same semantics as mmpretrain's
``ResNet``.
"""
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

# RepDistiller initialises convolutions with N(0, sqrt(2 / (k * k * C_out))),
# which is Kaiming-normal with fan_out and the ReLU gain.
KAIMING_FAN_OUT_INIT = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out',
         nonlinearity='relu'),
    dict(type='Constant', val=1, bias=0, layer=['_BatchNorm', 'GroupNorm']),
]


def check_arch(name, arch, arch_settings):
    """Return ``arch_settings[arch]`` or raise a ``KeyError`` naming the
    accepted values."""
    if arch not in arch_settings:
        raise KeyError(f'{name}: unknown arch {arch!r}; choose one of '
                       f'{sorted(arch_settings)}.')
    return arch_settings[arch]


class StagedBackbone(BaseBackbone):
    """Base class: a stem and ``num_stages`` stages.

    Subclasses build their layers, then call :meth:`_post_init`, and
    implement :meth:`stem_modules` and :meth:`stage_modules`.

    Args:
        num_stages (int): Number of stages whose outputs ``out_indices``
            selects from.
        out_indices (Sequence[int]): Stages whose outputs are returned, in
            increasing order; negative values count from the end.
        frozen_stages (int): Freeze the stem and the first
            ``frozen_stages`` stages (parameters and BatchNorm statistics);
            -1 freezes nothing, 0 only the stem.
        norm_eval (bool): Keep every BatchNorm layer in eval mode during
            training (running statistics frozen).
        init_cfg (dict | list[dict], optional): MMEngine initialisation
            config.
    """

    def __init__(self, num_stages, out_indices, frozen_stages, norm_eval,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if isinstance(out_indices, int):
            out_indices = (out_indices, )
        indices = []
        for index in out_indices:
            if not -num_stages <= index < num_stages:
                raise ValueError(
                    f'{name}: out_indices {tuple(out_indices)} has '
                    f'{index}, out of range for {num_stages} stages; use '
                    f'values in [-{num_stages}, {num_stages - 1}].')
            indices.append(index % num_stages)
        if not indices or indices != sorted(set(indices)):
            raise ValueError(
                f'{name}: out_indices {tuple(out_indices)} must be '
                'non-empty, distinct and increasing (after resolving '
                'negative values).')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(
                f'{name}: frozen_stages={frozen_stages} must be in '
                f'[-1, {num_stages}].')
        self.num_stages = num_stages
        self.out_indices = tuple(indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

    def stem_modules(self):
        """Modules before the first stage (a list)."""
        raise NotImplementedError

    def stage_modules(self):
        """One module (or list of modules) per stage, ``num_stages``
        entries."""
        raise NotImplementedError

    def stem(self, x):
        """Apply the modules before the first stage (none by default)."""
        return x

    def forward(self, x):
        """The stem, then each stage in turn; returns the maps of the stages
        in ``out_indices``. Networks whose stages are plain modules only
        define :meth:`stem`; the others override this."""
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stage_modules()):
            x = stage(x)
            self._collect(i, x, outs)
        return tuple(outs)

    def _post_init(self):
        stages = self.stage_modules()
        assert len(stages) == self.num_stages
        self._freeze_stages()

    def _frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = list(self.stem_modules())
        for stage in self.stage_modules()[:self.frozen_stages]:
            modules += stage if isinstance(stage, (list, tuple)) else [stage]
        return modules

    def _freeze_stages(self):
        for module in self._frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def _collect(self, index, x, outs):
        if index in self.out_indices:
            outs.append(x)

    def train(self, mode=True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


def conv_bn_relu(in_channels, out_channels, kernel_size, stride=1,
                 groups=1, relu=True):
    """``Sequential(conv, BN[, ReLU])``: state-dict keys ``0.*`` and
    ``1.*`` as in RepDistiller's ``conv_bn`` helpers."""
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                  kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels)
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)

"""RepDistiller-compatible backbones and their base model configs."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from torch import nn

from relkd_mm.models.backbones import (MobileNetV1, RepDistillerMobileNetV2,
                                       RepDistillerResNet,
                                       RepDistillerShuffleNetV1,
                                       RepDistillerShuffleNetV2,
                                       RepDistillerVGG, RepDistillerWRN)

CONFIGS = Path(__file__).parents[2] / 'configs' / '_base_' / 'models'

# RepDistiller's networks (github.com/HobbitLong/RepDistiller, models/):
# parameters of the whole classifier with a 100-class head, and the pooled
# feature dimension.
CIFAR_ARCHS = {
    'resnet8': (83892, 64),
    'resnet14': (181108, 64),
    'resnet20': (278324, 64),
    'resnet32': (472756, 64),
    'resnet44': (667188, 64),
    'resnet56': (861620, 64),
    'resnet110': (1736564, 64),
    'resnet8x4': (1233540, 256),
    'resnet32x4': (7433860, 256),
    'wrn_16_1': (180916, 64),
    'wrn_16_2': (703284, 128),
    'wrn_40_1': (569780, 64),
    'wrn_40_2': (2255156, 128),
    'vgg8': (3965028, 512),
    'vgg11': (9277284, 512),
    'vgg13': (9462180, 512),
    'vgg16': (14774436, 512),
    'vgg19': (20086692, 512),
    'mobilenetv2': (812836, 1280),
    'shufflev1': (949258, 960),
    'shufflev2': (1355528, 1024),
    'resnet50': (23705252, 2048),
}
# Spatial size of the last map for a 32x32 input.
LAST_SIZE = {'vgg': 4, 'mobilenetv2': 2, 'shufflev': 4, 'resnet50': 4}


def build(path):
    return MODELS.build(Config.fromfile(str(path)).model)


def num_params(module):
    return sum(p.numel() for p in module.parameters())


def test_every_cifar_arch_has_a_config():
    names = {p.stem for p in (CONFIGS / 'cifar100').glob('*.py')}
    assert names == set(CIFAR_ARCHS)


@pytest.mark.parametrize('arch', sorted(CIFAR_ARCHS))
def test_cifar_arch(arch):
    params, feat_dim = CIFAR_ARCHS[arch]
    model = build(CONFIGS / 'cifar100' / f'{arch}.py')
    assert num_params(model) == params
    assert model.head.fc.in_features == feat_dim
    assert model.head.fc.out_features == 100
    assert model.backbone.feat_dim == feat_dim
    size = next((v for k, v in LAST_SIZE.items() if arch.startswith(k)), 8)
    model.eval()
    with torch.no_grad():
        maps = model.extract_feat(torch.randn(1, 3, 32, 32),
                                  stage='backbone')
        logits = model.head(model.neck(maps))
    assert isinstance(maps, tuple) and len(maps) == 1
    assert maps[-1].shape == (1, feat_dim, size, size)
    assert logits.shape == (1, 100)


def mdistiller_mobilenet_v1_params(num_classes=1000):
    """Parameter count of mdistiller's ImageNet ``MobileNetV1``, from its
    definition: conv_bn(3, 32, 2), then conv_dw(inp, oup) blocks (3x3
    depthwise + BN, 1x1 + BN, no biases), then Linear(1024, classes)."""
    total = 3 * 32 * 9 + 2 * 32
    channels = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512,
                1024, 1024]
    for inp, oup in zip(channels[:-1], channels[1:]):
        total += inp * 9 + 2 * inp + inp * oup + 2 * oup
    return total + 1024 * num_classes + num_classes


def test_mobilenet_v1_imagenet():
    # 4,231,976: the MobileNet-V1 1.0 of Howard et al. (4.2M) and the value
    # of mdistiller's definition.
    assert mdistiller_mobilenet_v1_params() == 4231976
    model = build(CONFIGS / 'imagenet' / 'mobilenet_v1.py')
    assert num_params(model) == 4231976
    model.eval()
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 224, 224), mode='tensor')
    assert logits.shape == (1, 1000)

    backbone = MobileNetV1(out_indices=(0, 1, 2, 3))
    backbone.eval()
    with torch.no_grad():
        maps = backbone(torch.randn(1, 3, 224, 224))
    assert [tuple(m.shape[1:]) for m in maps] == [(128, 56, 56),
                                                  (256, 28, 28),
                                                  (512, 14, 14),
                                                  (1024, 7, 7)]


# Every stage of every family: (backbone, expected (C, H) per stage).
MULTI_STAGE = [
    (dict(type='RepDistillerResNet', arch='resnet8x4', out_indices=(0, 1, 2)),
     [(64, 32), (128, 16), (256, 8)]),
    (dict(type='RepDistillerWRN', arch='wrn_16_2', out_indices=(0, 1, 2)),
     [(32, 32), (64, 16), (128, 8)]),
    (dict(type='RepDistillerVGG', arch='vgg8', out_indices=(0, 1, 2, 3, 4)),
     [(64, 32), (128, 16), (256, 8), (512, 4), (512, 4)]),
    (dict(type='RepDistillerMobileNetV2', out_indices=tuple(range(8))),
     [(8, 16), (12, 16), (16, 8), (32, 4), (48, 4), (80, 2), (160, 2),
      (1280, 2)]),
    (dict(type='RepDistillerShuffleNetV1', out_indices=(0, 1, 2)),
     [(240, 16), (480, 8), (960, 4)]),
    (dict(type='RepDistillerShuffleNetV2', out_indices=(0, 1, 2, 3)),
     [(116, 16), (232, 8), (464, 4), (1024, 4)]),
]


@pytest.mark.parametrize('cfg,shapes', MULTI_STAGE,
                         ids=[c['type'] for c, _ in MULTI_STAGE])
def test_out_indices(cfg, shapes):
    backbone = MODELS.build(cfg)
    backbone.eval()
    with torch.no_grad():
        maps = backbone(torch.randn(2, 3, 32, 32))
    assert [(m.shape[1], m.shape[2]) for m in maps] == shapes
    last = MODELS.build(dict(cfg, out_indices=(-1, )))
    last.load_state_dict(backbone.state_dict())
    last.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(last(x)[0], backbone(x)[-1])


def test_vgg_pools_stage3_only_for_64px_inputs():
    # RepDistiller's rule: the fourth max pooling runs for 64-pixel inputs.
    backbone = RepDistillerVGG('vgg8', out_indices=(3, 4))
    backbone.eval()
    with torch.no_grad():
        small = backbone(torch.randn(1, 3, 32, 32))
        large = backbone(torch.randn(1, 3, 64, 64))
    assert [m.shape[-1] for m in small] == [4, 4]
    assert [m.shape[-1] for m in large] == [8, 4]


@pytest.mark.parametrize('backbone_cls', [
    RepDistillerResNet, RepDistillerWRN, RepDistillerVGG,
    RepDistillerMobileNetV2, RepDistillerShuffleNetV1,
    RepDistillerShuffleNetV2
])
def test_grey_input(backbone_cls):
    backbone = backbone_cls(in_channels=1)
    backbone.eval()
    with torch.no_grad():
        out = backbone(torch.randn(2, 1, 28, 28))[-1]
    assert out.shape[:2] == (2, backbone.feat_dim)
    assert torch.isfinite(out).all()


def test_frozen_stages_and_norm_eval():
    backbone = RepDistillerResNet('resnet20', frozen_stages=1,
                                  norm_eval=False)
    backbone.train()
    frozen = [backbone.conv1, backbone.bn1, backbone.layer1]
    for module in frozen:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    for module in (backbone.layer2, backbone.layer3):
        assert all(p.requires_grad for p in module.parameters())
        assert all(m.training for m in module.modules())
    out = backbone(torch.randn(2, 3, 32, 32))[-1]
    out.sum().backward()
    assert backbone.conv1.weight.grad is None
    assert backbone.layer1[0].conv1.weight.grad is None
    assert backbone.layer3[0].conv1.weight.grad is not None

    backbone = RepDistillerWRN('wrn_16_1', norm_eval=True)
    backbone.train()
    bns = [m for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(not bn.training for bn in bns)
    assert backbone.block1.layer[0].conv1.weight.requires_grad


def test_wrn_dropout():
    backbone = RepDistillerWRN('wrn_16_1', drop_rate=0.3)
    x = torch.randn(2, 3, 32, 32)
    backbone.train()
    assert not torch.equal(backbone(x)[0], backbone(x)[0])
    backbone.eval()
    with torch.no_grad():
        torch.testing.assert_close(backbone(x)[0], backbone(x)[0])


def test_wrn_matches_mmrazor_wideresnet():
    """MMRazor's WideResNet computes the same function (different key
    names), which the RepDistillerWRN docstring claims."""
    from mmrazor.models.architectures.backbones import WideResNet
    ours = RepDistillerWRN('wrn_16_2')
    theirs = WideResNet(depth=16, widen_factor=2)
    for module in ours.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight)
            nn.init.normal_(module.bias)
            nn.init.normal_(module.running_mean)
            nn.init.uniform_(module.running_var, 0.5, 2)
    state = {}
    for key, value in ours.state_dict().items():
        key = key.replace('convShortcut', 'downsample')
        if key.startswith('block'):
            key = 'layer' + key[len('block')] + key[len('block1.layer'):]
        state[key] = value
    theirs.load_state_dict(state, strict=True)
    ours.eval()
    theirs.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[0], theirs(x)[0])


@pytest.mark.parametrize('cfg,match', [
    (dict(type='RepDistillerResNet', arch='resnet21'), "'resnet21'"),
    (dict(type='RepDistillerWRN', arch=dict(depth=17, widen_factor=2)),
     'depth=17'),
    (dict(type='RepDistillerVGG', arch='vgg13', out_indices=(5, )),
     r'out_indices \(5,\)'),
    (dict(type='RepDistillerVGG', arch='vgg13', out_indices=(4, 3)),
     'increasing'),
    (dict(type='RepDistillerShuffleNetV2', frozen_stages=5),
     'frozen_stages=5'),
])
def test_bad_arguments(cfg, match):
    with pytest.raises((KeyError, ValueError), match=match):
        MODELS.build(cfg)


def test_init_weights():
    # RepDistiller's init: Kaiming-normal fan_out convs, BN weight 1 bias 0.
    torch.manual_seed(0)
    backbone = RepDistillerVGG('vgg8')
    backbone.init_weights()
    conv = backbone.block4[0]
    expected_std = (2 / (9 * conv.out_channels))**0.5
    assert abs(conv.weight.std().item() / expected_std - 1) < 0.05
    assert torch.all(conv.bias == 0)
    assert torch.all(backbone.block4[1].weight == 1)

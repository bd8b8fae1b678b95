"""tools/convert_repdistiller_teacher.py on the RepDistiller-layout
fixtures (random weights with reference inputs and outputs)."""
import importlib.util
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmpretrain.registry import MODELS
from torch import nn

REPO = Path(__file__).parents[2]
FIXTURES = REPO / '..' / 'shared' / 'fixtures' / 'repdistiller'
ARCHS = (json.loads((FIXTURES / 'archs.json').read_text())
         if (FIXTURES / 'archs.json').is_file() else {})
needs_fixtures = pytest.mark.skipif(
    not ARCHS, reason=f'RepDistiller fixtures not found in {FIXTURES} '
    '(they live in the shared folder beside the repository)')


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'convert_repdistiller_teacher',
        REPO / 'tools' / 'convert_repdistiller_teacher.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = _load_tool()


def build(arch):
    return MODELS.build(Config.fromfile(converter.config_path(arch)).model)


def assert_matches_reference(model, reference):
    """``feat`` (neck output) and ``logits`` to 1e-4 of the output scale."""
    model.eval()
    with torch.no_grad():
        feat = model.extract_feat(reference['input'])[-1]
        logits = model(reference['input'], mode='tensor')
    for name, value in (('feat', feat), ('logits', logits)):
        expected = reference[name]
        scale = expected.abs().max().item()
        torch.testing.assert_close(
            value, expected, rtol=0, atol=1e-4 * scale,
            msg=lambda m, name=name: f'{name}: {m}')


@needs_fixtures
@pytest.mark.parametrize('arch', sorted(ARCHS))
def test_fixture_conversion(arch, tmp_path):
    dst = tmp_path / f'{arch}.pth'
    src = FIXTURES / f'{arch}.pth'
    assert converter.main([str(src), str(dst), '--arch', arch]) == str(dst)

    saved = torch.load(dst, weights_only=True)
    assert saved['meta'] == dict(
        source=str(src), arch=arch,
        converter='relkd_mm', epoch=240)
    assert len(saved['state_dict']) == ARCHS[arch]['num_keys']
    assert all(v.dtype != torch.float16
               for v in saved['state_dict'].values())

    model = build(arch)
    assert sum(p.numel() for p in model.parameters()) == \
        ARCHS[arch]['params']
    assert model.head.fc.in_features == ARCHS[arch]['feat_dim']
    load_checkpoint(model, str(dst), map_location='cpu', strict=True,
                    logger='silent')
    reference = torch.load(FIXTURES / f'{arch}_io.pth', weights_only=True)
    assert_matches_reference(model, reference)


@needs_fixtures
def test_cli(tool, tmp_path):
    dst = tmp_path / 'sub' / 'resnet8x4.pth'
    proc = tool('convert_repdistiller_teacher.py',
                FIXTURES / 'resnet8x4.pth', dst, '--arch', 'RESNET8X4')
    assert '62 tensors, 1,233,540 parameters, loaded strictly' in proc.stdout
    assert dst.is_file()


@needs_fixtures
@pytest.mark.parametrize('src,arch,expected', [
    # deeper checkpoint than the arch: extra blocks
    ('resnet56', 'resnet20', ['unexpected in the checkpoint (216)',
                              'backbone.layer1.3.bn1.bias']),
    # same depth, other width: every conv differs in shape
    ('wrn_40_2', 'wrn_40_1', ['unexpected in the checkpoint (1)',
                              'backbone.block1.layer.0.convShortcut.weight',
                              'shape mismatch',
                              'backbone.block1.layer.0.conv1.weight '
                              'checkpoint [32, 16, 3, 3] vs model '
                              '[16, 16, 3, 3]']),
    # another family altogether
    ('vgg8', 'resnet8x4', ['missing from the checkpoint',
                           'backbone.conv1.weight',
                           'unexpected in the checkpoint',
                           'backbone.block0.0.weight']),
])
def test_wrong_arch_is_refused(src, arch, expected, tmp_path):
    dst = tmp_path / 'out.pth'
    with pytest.raises(converter.CheckpointMismatchError) as info:
        converter.main(
            [str(FIXTURES / f'{src}.pth'), str(dst), '--arch', arch])
    message = str(info.value)
    assert f'does not match --arch {arch}' in message
    assert f'{arch}.py' in message
    for text in expected:
        assert text in message
    assert not dst.exists()


def test_unknown_arch(tmp_path):
    with pytest.raises(KeyError, match="unknown --arch 'resnet21'.*resnet20"):
        converter.main([
            str(tmp_path / 'x.pth'),
            str(tmp_path / 'y.pth'), '--arch', 'resnet21'
        ])


class _NotAWeight:
    pass


@needs_fixtures
def test_checkpoint_layouts(tmp_path):
    """Bare state dicts, DataParallel prefixes, mdistiller's distiller
    checkpoints and numpy metadata all give the same weights; pickled
    objects are refused."""
    source = torch.load(FIXTURES / 'resnet20.pth', weights_only=True)
    state = source['model']
    reference = torch.load(FIXTURES / 'resnet20_io.pth', weights_only=True)
    layouts = {
        'bare': state,
        'state_dict': {'state_dict': state, 'meta': {}},
        'data_parallel': {'model': {f'module.{k}': v
                                    for k, v in state.items()}},
        'mdistiller_distiller': {
            'epoch': 240,
            'model': {
                **{f'module.student.{k}': v for k, v in state.items()},
                'module.teacher.fc.weight': torch.zeros(100, 256),
            }
        },
        'numpy_meta': {'model': state, 'best_acc': np.float64(72.3),
                       'epoch': 240},
    }
    for name, checkpoint in layouts.items():
        src = tmp_path / f'{name}.pth'
        torch.save(checkpoint, src)
        model, converted = converter.convert(str(src), 'resnet20')
        assert_matches_reference(model, reference)
        assert converted['meta']['arch'] == 'resnet20'

    src = tmp_path / 'pickled_object.pth'
    torch.save({'model': state, 'opt': _NotAWeight()}, src)
    with pytest.raises(pickle.UnpicklingError, match='allow-list'):
        converter.convert(str(src), 'resnet20')


class _ReferenceBottleneck(nn.Module):
    """RepDistiller's ``resnetv2.Bottleneck``, written from its
    description: key names ``conv1..3``, ``bn1..3``, ``shortcut.{0,1}``."""

    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, 4 * planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(4 * planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != 4 * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, 4 * planes, 1, stride, bias=False),
                nn.BatchNorm2d(4 * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + self.shortcut(x))


class _ReferenceResNet50(nn.Module):
    """RepDistiller's CIFAR ``ResNet50`` (``models/resnetv2.py``)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        in_planes = 64
        for i, (planes, n, stride) in enumerate(
                zip((64, 128, 256, 512), (3, 4, 6, 3), (1, 2, 2, 2))):
            blocks = []
            for j in range(n):
                blocks.append(
                    _ReferenceBottleneck(in_planes, planes,
                                         stride if j == 0 else 1))
                in_planes = 4 * planes
            setattr(self, f'layer{i + 1}', nn.Sequential(*blocks))
        self.linear = nn.Linear(2048, 100)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        feat = x.mean((2, 3))
        return feat, self.linear(feat)


class _ReferenceMobileNetV1(nn.Module):
    """mdistiller's ImageNet ``MobileNetV1``: ``model`` = conv_bn, 13
    conv_dw blocks and ``AvgPool2d(7)``; ``fc``."""

    def __init__(self):
        super().__init__()

        def conv_bn(inp, oup, stride, groups=1, kernel=3):
            return [
                nn.Conv2d(inp, oup, kernel, stride, kernel // 2,
                          groups=groups, bias=False),
                nn.BatchNorm2d(oup),
                nn.ReLU()
            ]

        channels = [32, 64, 128, 128, 256, 256, 512, 512, 512, 512, 512,
                    512, 1024, 1024]
        strides = [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]
        layers = [nn.Sequential(*conv_bn(3, 32, 2))]
        for inp, oup, stride in zip(channels[:-1], channels[1:], strides):
            layers.append(
                nn.Sequential(*conv_bn(inp, inp, stride, groups=inp),
                              *conv_bn(inp, oup, 1, kernel=1)))
        layers.append(nn.AvgPool2d(7))
        self.model = nn.Sequential(*layers)
        self.fc = nn.Linear(1024, 1000)

    def forward(self, x):
        feat = self.model(x).flatten(1)
        return feat, self.fc(feat)


def _randomise_bn(model):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.normal_(module.bias, std=0.1)
            nn.init.normal_(module.running_mean, std=0.1)
            nn.init.uniform_(module.running_var, 0.5, 2)


@pytest.mark.parametrize('reference_cls,arch,size', [
    (_ReferenceResNet50, 'ResNet50', 32),
    (_ReferenceMobileNetV1, 'MobileNetV1', 224),
])
def test_reference_without_fixture(reference_cls, arch, size, tmp_path):
    """Archs without a fixture: a reference network with the source key
    names converts to the same function (``shortcut`` -> ``downsample``,
    ``model.`` -> ``layers.``)."""
    torch.manual_seed(0)
    reference = reference_cls()
    _randomise_bn(reference)
    reference.eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        feat, logits = reference(x)
    src = tmp_path / 'src.pth'
    torch.save({'epoch': 100, 'model': reference.state_dict()}, src)
    model, _ = converter.convert(str(src), arch)
    assert_matches_reference(model, dict(input=x, feat=feat, logits=logits))

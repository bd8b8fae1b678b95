"""tools/analysis/checkpoint_size.py: the figures of docs/benchmarks.md
("Checkpoint size"), ResNet-50 -> MobileNetV2 on ImageNet among them."""
import importlib.util
import os.path as osp

import pytest

from tests.train_utils import REPO

MIB = 2**20


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'checkpoint_size',
        osp.join(REPO, 'tools', 'analysis', 'checkpoint_size.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_resnet50_mobilenetv2_checkpoint_without_the_teacher():
    size = load_tool().measure(
        osp.join(REPO, 'configs', 'vrm', 'r50_mbv2_imagenet.py'))
    # ResNet-50's 25.6 M float32 values (and BatchNorm statistics).
    assert size['teacher'] / MIB == pytest.approx(97.7, abs=0.1)
    assert size['full'] / MIB == pytest.approx(124.8, abs=0.2)
    assert size['student_only'] / MIB == pytest.approx(27.0, abs=0.2)
    # What the file loses is the teacher's tensors, and nothing else.
    assert size['full'] - size['student_only'] == pytest.approx(
        size['teacher'], rel=0.01)


def test_table(capsys):
    load_tool().main([osp.join(REPO, 'configs', 'quickstart',
                               'kd_wrn-16-2_resnet8_fmnist.py')])
    out = capsys.readouterr().out
    assert '| `' in out and 'kd_wrn-16-2_resnet8_fmnist.py' in out
    assert out.strip().endswith('| 81% |')

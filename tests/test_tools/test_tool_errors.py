"""Tools that failed on ordinary inputs: train_refilled.py with a comma in
the work dir, deploy.py given a distillation config, a cfg_path that does
not exist (reported under the package's internal .mim folder)."""
import os.path as osp
import runpy
import subprocess
import sys

import pytest
from mmengine.config import Config

from tests.test_runner.test_strict_loading import distill

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
S1 = 'configs/refilled/refilled-s1_wrn-40-2_wrn-16-1_1xb128_cifar100.py'
S2 = 'configs/refilled/refilled-s2_wrn-40-2_wrn-16-1_1xb128_cifar100.py'


def tool(name):
    """The functions of tools/<name> (imported, not run)."""
    return runpy.run_path(osp.join(REPO, 'tools', name), run_name='tool')


def test_train_refilled_stage_two_with_a_comma_in_the_work_dir(
        tmp_path, monkeypatch):
    work = tmp_path / 'runs,seed=1'
    stage1 = work / 'stage1'
    stage1.mkdir(parents=True)
    ckpt = str(stage1 / 'epoch_240.pth')
    (stage1 / 'last_checkpoint').write_text(ckpt)
    commands = []
    monkeypatch.setattr(subprocess, 'run',
                        lambda cmd, check: commands.append(cmd))
    monkeypatch.setattr(sys, 'argv', ['train_refilled.py', S1, S2,
                                      '--work-dir', str(work)])
    tool('train_refilled.py')['main']()
    stage2 = commands[-1]
    assert not any(a.startswith('load_from=') for a in stage2)
    # What tools/train.py makes of stage 2's command line.
    train_py = tool('train.py')
    monkeypatch.setattr(sys, 'argv', stage2[1:])
    args = train_py['parse_args']()
    cfg = train_py['merge_args'](Config.fromfile(osp.join(REPO, S2)), args)
    assert cfg.load_from == ckpt and not cfg.get('resume')


def test_deploy_a_distillation_config_says_export_the_student(tmp_path):
    deploy = tool('deploy.py')['deploy']
    config = osp.join(REPO, 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py')
    with pytest.raises(SystemExit) as info:
        deploy(config, str(tmp_path / 'kd.pth'), str(tmp_path / 'out'))
    msg = str(info.value)
    assert 'is a distillation config' in msg
    assert 'export the student first (tools/export_student.py)' in \
        msg.lower()


def test_missing_cfg_path_names_the_path_as_written():
    written = 'relkd_mm::_base_/models/cifar100/resnet99.py'
    with pytest.raises(FileNotFoundError) as info:
        distill(teacher=dict(cfg_path=written, pretrained=False))
    msg = str(info.value)
    assert f'cfg_path={written!r}' in msg
    assert osp.join(REPO, 'configs/_base_/models/cifar100/resnet99.py') in msg
    assert '.mim' not in msg
    assert 'resnet110.py' in msg or 'resnet56.py' in msg  # close names

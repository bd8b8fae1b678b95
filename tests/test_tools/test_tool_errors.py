"""Tools that failed on ordinary inputs: train_refilled.py with a comma in
the work dir, deploy.py given a distillation config, a cfg_path that does
not exist (reported under the package's internal .mim folder)."""
import os.path as osp
import runpy

import pytest
import torch

from tests.test_runner.test_strict_loading import distill

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
S1 = 'configs/refilled/refilled-s1_wrn-40-2_wrn-16-1_1xb128_cifar100.py'
S2 = 'configs/refilled/refilled-s2_wrn-40-2_wrn-16-1_1xb128_cifar100.py'


def tool(name):
    """The functions of tools/<name> (imported, not run)."""
    return runpy.run_path(osp.join(REPO, 'tools', name), run_name='tool')


def test_train_refilled_stage_two_with_a_comma_in_the_work_dir(
        tmp_path, monkeypatch):
    """Stage 2 loads stage 1's last checkpoint from a work dir whose name
    holds a comma (it once went through a --cfg-options list, which split
    it). The runs themselves are stubbed: what is checked is the config
    each stage is built from."""
    from relkd_mm.utils import staged_run
    work = tmp_path / 'runs,seed=1'
    stage1 = work / 'stage1'
    stage1.mkdir(parents=True)
    ckpt = str(stage1 / 'epoch_240.pth')
    torch.save(dict(meta={}, state_dict={}), ckpt)
    (stage1 / 'last_checkpoint').write_text(ckpt)
    built = []

    class Runner:

        def train(self):
            pass

    class RUNNERS:

        @staticmethod
        def build(cfg):
            built.append(cfg)
            return Runner()

    monkeypatch.setattr(staged_run, 'RUNNERS', RUNNERS)
    tool('train_refilled.py')['main'](
        [S1, S2, '--work-dir', str(work)])
    assert [osp.basename(c.work_dir) for c in built] == ['stage1', 'stage2']
    assert built[1].load_from == ckpt and not built[1].get('resume')


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

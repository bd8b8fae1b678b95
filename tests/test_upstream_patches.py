"""What ``import relkd_mm`` changes upstream, measured
(``tools/analysis/upstream_patches.py``) and documented
(``relkd_mm.compat.PATCHED_ATTRIBUTES``, docs/architecture.md), and what a
plain MMRazor config keeps of upstream's behaviour (issue 20)."""
import os.path as osp
import re
import runpy

import pytest
import torch

import relkd_mm  # noqa: F401
from relkd_mm import compat
from tests.train_utils import REPO, log_text

TOOL = osp.join(REPO, 'tools', 'analysis', 'upstream_patches.py')
#: 46 attributes before issue 20; its target is at most 16.
LIMIT = 13


@pytest.fixture(scope='module')
def measured():
    return runpy.run_path(TOOL)['patched_attributes']()


def test_measured_list_is_the_documented_one(measured):
    assert sorted(compat.PATCHED_ATTRIBUTES) == measured
    assert len(measured) <= LIMIT


def test_architecture_doc_lists_the_same_attributes():
    with open(osp.join(REPO, 'docs', 'architecture.md')) as f:
        text = f.read()
    section = text.split('## Upstream attributes relkd_mm patches')[1]
    section = section.split('\n## ')[0]
    listed = set(re.findall(r'^\| `([\w.]+:[\w.]+)` \|', section, re.M))
    assert listed == set(compat.PATCHED_ATTRIBUTES)


PLAIN = dict(
    # An MMRazor config of a user who imports relkd_mm for its losses: no
    # relkd_mm runtime (no TrainCheckHook, no relkd_mm loop or loss names).
    default_scope='mmrazor',
    model=dict(
        type='SingleTeacherDistill',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
        architecture=dict(
            _scope_='mmpretrain', type='ImageClassifier',
            backbone=dict(type='ResNet_CIFAR', depth=18),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10,
                      in_channels=512)),
        teacher=dict(
            _scope_='mmpretrain', type='ImageClassifier',
            backbone=dict(type='ResNet_CIFAR', depth=18),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10,
                      in_channels=512)),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(
                feat=dict(type='ModuleOutputs', source='neck'),
                data_samples=dict(type='ModuleInputs', source='')),
            teacher_recorders=dict(
                feat=dict(type='ModuleOutputs', source='neck')),
            distill_losses=dict(loss_crd=dict(
                type='CRDLoss', loss_weight=0.8, neg_num=16, sample_n=64,
                dim_out=512)),
            loss_forward_mappings=dict(loss_crd=dict(
                s_feats=dict(from_student=True, recorder='feat'),
                t_feats=dict(from_student=False, recorder='feat'),
                data_samples=dict(from_student=True,
                                  recorder='data_samples', data_idx=1))))),
    # A misspelt top-level key: MMEngine ignores it without a word.
    optim_wraper=dict(optimizer=dict(type='SGD', lr=0.1)),
)


def test_plain_mmrazor_config_gets_upstream_behaviour(tmp_path):
    """SingleTeacherDistill + MMRazor's CRDLoss + MMEngine's Runner from a
    config without relkd_mm's runtime, in a process that imported relkd_mm:
    the CRD loss is MMRazor's (its loss_weight still ignored), the
    validation loop MMRazor's (the teacher evaluated every time), no
    relkd_mm hook and no warning about the unread key."""
    from mmengine.config import Config
    from mmengine.runner import Runner
    from mmengine.structures import BaseDataElement
    from mmrazor.engine import SingleTeacherDistillValLoop
    from mmrazor.models.losses import CRDLoss
    from mmrazor.registry import LOOPS

    cfg = Config(dict(PLAIN, work_dir=str(tmp_path),
                      experiment_name='plain_mmrazor'))
    runner = Runner.from_cfg(cfg)
    # No relkd_mm hook: no TeacherCheckpointHook (student-only checkpoints
    # are RelKDRunner's), MMEngine's CheckpointHook.
    for hook in runner.hooks:
        assert not type(hook).__module__.startswith('relkd_mm'), hook
    runner.call_hook('before_run')
    assert "top-level key 'optim_wraper'" not in log_text(tmp_path)
    assert 'optim_wraper' in runner.cfg  # read by nothing, said by nothing

    loss = runner.model.distiller.distill_losses['loss_crd']
    assert type(loss) is CRDLoss
    assert CRDLoss.forward.__module__ == 'mmrazor.models.losses.crd_loss'
    # Its loss_weight ignored, as upstream: the value of weight 0.8 is the
    # value of weight 1.0 (same memory, same negatives).
    values = []
    for weight in (0.8, 1.0):
        torch.manual_seed(0)
        crd = CRDLoss(loss_weight=weight, neg_num=16, sample_n=64,
                      dim_out=8)
        s, t = torch.randn(4, 8), torch.randn(4, 8)
        values.append(crd(s, t, [BaseDataElement(sample_idx=torch.tensor(i))
                                 for i in range(4)]))
    assert torch.equal(values[0], values[1])

    assert LOOPS.get('SingleTeacherDistillValLoop') is \
        SingleTeacherDistillValLoop
    for name in ('__init__', 'run'):
        code = getattr(SingleTeacherDistillValLoop, name).__code__
        assert 'relkd_mm' not in code.co_filename, name


def _kd(algorithm, distiller, teacher_arch='resnet8', source='head.fc',
        **kwargs):
    """A KD config of ``algorithm`` and ``distiller`` types."""
    from tests.test_runner.test_strict_loading import classifier
    return dict(
        type=algorithm,
        architecture=classifier(),
        teacher=classifier(arch=teacher_arch),
        distiller=dict(
            type=distiller,
            student_recorders=dict(
                fc=dict(type='ModuleOutputs', source=source)),
            teacher_recorders=dict(
                fc=dict(type='ModuleOutputs', source='head.fc')),
            distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4)),
            loss_forward_mappings=dict(loss_kd=dict(
                preds_S=dict(from_student=True, recorder='fc'),
                preds_T=dict(from_student=False, recorder='fc')))),
        **kwargs)


def test_plain_mmrazor_types_keep_upstream_loading_and_errors(tmp_path):
    """MMRazor's SingleTeacherDistill and ConfigurableDistiller, MMEngine's
    Pretrained and MMCV's LoadImageFromFile, in a process that imported
    relkd_mm: upstream's code, its non-strict loads and its bare errors.
    relkd_mm's registered types, named in a config, give the strict loads
    and the clear errors."""
    import inspect

    from mmcv.transforms import LoadImageFromFile
    from mmengine.model.weight_init import PretrainedInit
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import TRANSFORMS
    from mmrazor.models import ConfigurableDistiller, SingleTeacherDistill
    from mmrazor.registry import MODELS

    from relkd_mm.datasets import CorruptImageError
    from relkd_mm.models.utils import CheckpointMismatchError
    from tests.test_runner.test_strict_loading import (classifier,
                                                       save_classifier)

    for cls, names in ((SingleTeacherDistill, ['__init__']),
                       (ConfigurableDistiller, [
                           '_check_loss_forward_mappings',
                           'compute_distill_losses', 'get_record',
                           'prepare_from_student', 'prepare_from_teacher']),
                       (PretrainedInit, ['__init__', '__call__']),
                       (LoadImageFromFile, ['transform'])):
        for name in names:
            code = getattr(cls, name).__code__.co_filename
            assert 'relkd_mm' not in code, (cls, name)
    assert 'teacher_ckpt_strict' not in inspect.signature(
        SingleTeacherDistill.__init__).parameters

    # A teacher checkpoint of another architecture: MMRazor loads what
    # matches and goes on; relkd_mm's algorithm names the keys.
    path = str(tmp_path / 'resnet14.pth')
    save_classifier(path, arch='resnet14')
    plain = _kd('SingleTeacherDistill', 'ConfigurableDistiller',
                teacher_ckpt=path)
    checked = _kd('CheckedSingleTeacherDistill',
                  'CheckedConfigurableDistiller', teacher_ckpt=path)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(plain)
        assert type(model) is SingleTeacherDistill
        assert type(model.distiller) is ConfigurableDistiller
        assert not hasattr(model, '_teacher_source')
        with pytest.raises(CheckpointMismatchError,
                           match='unexpected in the checkpoint'):
            MODELS.build(checked)

        # A recorder of a module the student lacks: MMRazor's bare assert,
        # relkd_mm's distiller names the recorder and close names.
        plain = _kd('SingleTeacherDistill', 'ConfigurableDistiller',
                    source='head.fcx')
        with pytest.raises(AssertionError,
                           match='"head.fcx" is not in the model.'):
            MODELS.build(plain)
        checked = _kd('CheckedSingleTeacherDistill',
                      'CheckedConfigurableDistiller', source='head.fcx')
        with pytest.raises(ValueError, match=r"distiller: student_recorders"
                           r"\['fc'\] records source='head.fcx'.*Close "
                           r"names: \['head.fc'"):
            MODELS.build(checked)

    # Pretrained stays MMEngine's (non-strict); StrictPretrained refuses.
    for init, error in (('Pretrained', None),
                        ('StrictPretrained', CheckpointMismatchError)):
        net = MODELS.build(classifier(init_cfg=dict(type=init,
                                                    checkpoint=path)))
        if error is None:
            net.init_weights()
            assert not hasattr(net, '_relkd_pretrained_from')
        else:
            with pytest.raises(error, match='StrictPretrained'):
                net.init_weights()

    # An undecodable image: MMCV's assert; relkd_mm's transform names it.
    image = str(tmp_path / 'broken.png')
    with open(image, 'wb') as f:
        f.write(b'not an image')
    with pytest.raises(AssertionError):
        LoadImageFromFile()(dict(img_path=image))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        loader = TRANSFORMS.build(dict(type='CheckedLoadImageFromFile'))
    with pytest.raises(CorruptImageError, match='broken.png'):
        loader(dict(img_path=image))


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    from tests.test_tools.fmnist_utils import make_fashion_mnist
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=32, num_test=16)


def test_runner_behaviours_only_where_a_config_names_them(
        fmnist, tmp_path, monkeypatch):
    """What RelKDRunner and AtomicCheckpointHook do (issue 20: 20 former
    patches) happens only in runs whose config names them
    (``runner_type``, ``default_hooks.checkpoint``, both in
    configs/_base_/default_runtime.py): MMEngine's Runner, built in this
    process that imported relkd_mm from a config without them, keeps
    upstream's behaviour: non-strict ``load_from``, MMEngine's build and
    data set errors, checkpoints written in place (no atomic write) and
    rotated by MMEngine's hook, an unchecked resume."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    from mmrazor.registry import MODELS

    import relkd_mm.runner.checkpoint as relkd_checkpoint
    import relkd_mm.runner.relkd_runner as relkd_runner
    from relkd_mm.models.utils import CheckpointMismatchError
    from relkd_mm.runner.build_errors import ConfigArgumentError
    from relkd_mm.runner.dataset_errors import EmptyDatasetError
    from relkd_mm.runner.relkd_runner import RelKDRunner
    from tests.test_runner.test_strict_loading import (classifier,
                                                       save_classifier)
    from tests.train_utils import STUDENT, fmnist_options, train

    # load_from: MMEngine's load is non-strict (a warning), relkd_mm's not.
    path = str(tmp_path / 'ten_classes.pth')
    save_classifier(path, num_classes=10)
    for runner_cls in (Runner, RelKDRunner):
        runner = runner_cls(model=MODELS.build(classifier()),
                            work_dir=str(tmp_path / runner_cls.__name__))
        if runner_cls is Runner:
            runner.load_checkpoint(path)
        else:
            with pytest.raises(CheckpointMismatchError):
                runner.load_checkpoint(path)

    # A misspelt argument: MMEngine's bare TypeError.
    loss = dict(type='mmrazor.RRDLoss', tau_S=0.04)
    with pytest.raises(TypeError) as info:
        Runner(model=loss, work_dir=str(tmp_path / 'plain_build'))
    assert not isinstance(info.value, ConfigArgumentError)
    with pytest.raises(ConfigArgumentError):
        RelKDRunner(model=loss, work_dir=str(tmp_path / 'relkd_build'))

    # An empty data set: numpy's error under MMEngine's Runner.
    loader = dict(dataset=dict(type='LocalFashionMNIST', data_root=fmnist,
                               pipeline=[], indices=0),
                  sampler=dict(type='DefaultSampler'), batch_size=1)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(ValueError, match='at least one array'):
            Runner.build_dataloader(loader)
        with pytest.raises(EmptyDatasetError):
            RelKDRunner.build_dataloader(loader)

    # Checkpoint files: written through relkd_mm's atomic writer only when
    # the config names RelKDRunner (the file) and AtomicCheckpointHook
    # (last_checkpoint, rotation).
    written = []

    def spy(filename, write):
        written.append(osp.basename(filename))
        return atomic_write(filename, write)

    atomic_write = relkd_checkpoint.atomic_write
    monkeypatch.setattr(relkd_checkpoint, 'atomic_write', spy)
    monkeypatch.setattr(relkd_runner, 'atomic_write', spy)
    plain = tmp_path / 'plain.py'
    plain.write_text(
        f'_base_ = [{osp.join(REPO, STUDENT)!r}]\n'
        "runner_type = 'Runner'\n"
        "default_hooks = dict(checkpoint=dict(type='CheckpointHook'))\n")
    train(plain, tmp_path / 'plain', options=fmnist_options(fmnist))
    assert written == []
    assert (tmp_path / 'plain' / 'epoch_1.pth').is_file()
    # A resume that changes the schedule: accepted as MMEngine does (the
    # checkpoint's schedule kept), no ResumeConfigError.
    train(plain, tmp_path / 'plain', '--resume',
          options=fmnist_options(fmnist, epochs=2, t_max=5))
    assert written == []
    train(STUDENT, tmp_path / 'relkd', options=fmnist_options(fmnist))
    assert written == ['epoch_1.pth', 'last_checkpoint']

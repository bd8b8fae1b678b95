"""Checkpoints that do not fit are errors naming the keys (teacher_ckpt of
every single-teacher algorithm, load_from, resume, StrictPretrained init),
with an explicit opt-out; and a checkpoint crafted to run code on load runs
nothing through any of the safe paths."""
import logging
import os
import os.path as osp

import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from relkd_mm.models.utils.strict_loading import CheckpointMismatchError
from relkd_mm.runner import UnsafeCheckpointError


def classifier(arch='resnet8', num_classes=100, **kwargs):
    return dict(
        type='mmpretrain.ImageClassifier',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor'),
        backbone=dict(type='mmpretrain.RepDistillerResNet', arch=arch),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(
            type='mmpretrain.LinearClsHead',
            num_classes=num_classes,
            in_channels=64,
            loss=dict(type='mmpretrain.CrossEntropyLoss')),
        **kwargs)


def distill_cfg(algorithm='CheckedSingleTeacherDistill', **kwargs):
    cfg = dict(
        type=algorithm,
        architecture=classifier(),
        teacher=classifier(),
        distiller=dict(
            type='CheckedConfigurableDistiller',
            student_recorders=dict(
                fc=dict(type='ModuleOutputs', source='head.fc')),
            teacher_recorders=dict(
                fc=dict(type='ModuleOutputs', source='head.fc')),
            distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4)),
            loss_forward_mappings=dict(
                loss_kd=dict(
                    preds_S=dict(from_student=True, recorder='fc'),
                    preds_T=dict(from_student=False, recorder='fc')))))
    if algorithm == 'VRMDistill':
        cfg['data_preprocessor'] = dict(
            type='mmpretrain.MultiViewClsDataPreprocessor')
    cfg.update(kwargs)
    return cfg


def distill(algorithm='CheckedSingleTeacherDistill', **kwargs):
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(distill_cfg(algorithm, **kwargs))


def save_classifier(path, **kwargs):
    torch.manual_seed(1)
    model = MODELS.build(classifier(**kwargs))
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return model


ALGORITHMS = ['CheckedSingleTeacherDistill', 'VRMDistill', 'RefilledDistill']


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_matching_teacher_loads_exactly(tmp_path, algorithm):
    path = str(tmp_path / 'teacher.pth')
    teacher = save_classifier(path)
    model = distill(algorithm, teacher_ckpt=path)
    model.init_weights()  # must not overwrite the loaded teacher
    for key, value in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value), key


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_wrong_teacher_is_an_error_naming_keys(tmp_path, algorithm):
    path = str(tmp_path / 'resnet14_10cls.pth')
    save_classifier(path, arch='resnet14', num_classes=10)
    with pytest.raises(CheckpointMismatchError) as info:
        distill(algorithm, teacher_ckpt=path)
    msg = str(info.value)
    assert 'teacher_ckpt' in msg and 'resnet14_10cls.pth' in msg
    assert 'unexpected in the checkpoint' in msg
    assert 'backbone.layer1.1.' in msg  # resnet14 has 2 blocks per stage
    assert 'head.fc.weight checkpoint [10, 64] vs model [100, 64]' in msg
    assert 'teacher_ckpt_strict=False' in msg
    assert ('head.fc.weight', (10, 64), (100, 64)) in info.value.mismatched


def test_distillation_checkpoint_as_teacher_is_an_error(tmp_path):
    path = str(tmp_path / 'kd.pth')
    torch.save({'state_dict': distill().state_dict()}, path)
    with pytest.raises(CheckpointMismatchError,
                       match=r'missing from the checkpoint \(\d+\): '
                       r'backbone\.conv1\.weight'):
        distill(teacher_ckpt=path)


def test_partial_teacher_on_purpose(tmp_path):
    path = str(tmp_path / 'ten_classes.pth')
    saved = save_classifier(path, num_classes=10)
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        model = distill(teacher_ckpt=path, teacher_ckpt_strict=False)
    finally:
        logger.removeHandler(handler)
    assert torch.equal(model.teacher.backbone.conv1.weight,
                       saved.backbone.conv1.weight)
    assert model.teacher.head.fc.weight.shape == (100, 64)
    assert any('loaded partially' in r.getMessage()
               and 'head.fc.weight' in r.getMessage() for r in records)


def built_by_runner(model, tmp_path, scope='mmrazor'):
    """The ``model`` config built as relkd_mm's runner builds a config's
    model, whose errors name the key and the fix."""
    from relkd_mm.runner.relkd_runner import RelKDRunner
    return RelKDRunner(model=model, work_dir=str(tmp_path / 'work'),
                       default_scope=scope).model


def runner_for(model, tmp_path, **cfg):
    """relkd_mm's runner (``runner_type='mmrazor.RelKDRunner'``), whose
    loads are strict."""
    from relkd_mm.runner.relkd_runner import RelKDRunner
    return RelKDRunner(model=model, work_dir=str(tmp_path / 'work'),
                       cfg=dict(model=None, **cfg))


def test_load_from_student_checkpoint_into_distiller(tmp_path):
    path = str(tmp_path / 'student.pth')
    save_classifier(path)
    runner = runner_for(distill(), tmp_path)
    with pytest.raises(CheckpointMismatchError,
                       match='load_from.*architecture.backbone.conv1.weight'
                       '.*load_from_strict = False'):
        runner.load_checkpoint(path)


def test_load_from_keeps_networks_strict_and_distiller_lenient(tmp_path):
    path = str(tmp_path / 'distill.pth')
    torch.manual_seed(3)
    source = distill()
    state = source.state_dict()
    state['distiller.connectors.extra.weight'] = torch.ones(2)
    torch.save({'state_dict': state}, path)
    target = distill()
    runner_for(target, tmp_path).load_checkpoint(path)
    assert torch.equal(target.architecture.head.fc.weight,
                       source.architecture.head.fc.weight)
    # A network key missing is still an error.
    del state['architecture.head.fc.bias']
    torch.save({'state_dict': state}, path)
    with pytest.raises(CheckpointMismatchError,
                       match=r'missing.*architecture\.head\.fc\.bias'):
        runner_for(distill(), tmp_path).load_checkpoint(path)
    # ... unless the user opts out.
    runner_for(distill(), tmp_path,
               load_from_strict=False).load_checkpoint(path)


def test_distillation_checkpoint_into_student_config(tmp_path):
    """tools/test.py with the student's config and a full distillation
    checkpoint: an error, not predictions from random weights."""
    path = str(tmp_path / 'distill.pth')
    torch.save({'state_dict': distill().state_dict()}, path)
    student = MODELS.build(classifier())
    with pytest.raises(CheckpointMismatchError, match='architecture.'):
        runner_for(student, tmp_path).load_checkpoint(path)


def test_resume_checks_every_key(tmp_path):
    """A resume whose loss memory would silently start fresh is refused."""
    path = str(tmp_path / 'run.pth')
    state = distill().state_dict()
    torch.save({'state_dict': state, 'meta': {}}, path)
    model = distill()
    model.distiller.distill_losses.loss_kd.register_buffer(
        'memory', torch.zeros(3))
    runner = runner_for(model, tmp_path)
    with pytest.raises(CheckpointMismatchError,
                       match=r'resume.*distill_losses\.loss_kd\.memory'):
        runner.resume(path)


def test_pretrained_init_is_strict(tmp_path):
    path = str(tmp_path / 'ten_classes.pth')
    saved = save_classifier(path, num_classes=10)
    model = MODELS.build(classifier(
        init_cfg=dict(type='StrictPretrained', checkpoint=path)))
    with pytest.raises(CheckpointMismatchError,
                       match=r"init_cfg=dict\(type='StrictPretrained'\).*"
                       r'head\.fc\.weight.*strict=False'):
        model.init_weights()
    # With a prefix only that part must match (the backbone here).
    model = MODELS.build(classifier())
    model.backbone.init_cfg = dict(type='StrictPretrained', checkpoint=path,
                                   prefix='backbone.')
    model.init_weights()
    assert torch.equal(model.backbone.conv1.weight,
                       saved.backbone.conv1.weight)
    model = MODELS.build(classifier(init_cfg=dict(
        type='StrictPretrained', checkpoint=path, strict=False)))
    model.init_weights()
    assert torch.equal(model.backbone.conv1.weight,
                       saved.backbone.conv1.weight)


# ---------------------------------------------------------------------------
# A checkpoint crafted to run code when unpickled.
# ---------------------------------------------------------------------------
class _RunsCode:

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f'touch {self.sentinel}', ))


@pytest.fixture
def evil(tmp_path):
    sentinel = str(tmp_path / 'code_ran')
    path = str(tmp_path / 'evil.pth')
    torch.manual_seed(1)
    state = MODELS.build(classifier()).state_dict()
    torch.save({'state_dict': state, 'meta': {'x': _RunsCode(sentinel)}},
               path)
    # The file really runs code when fully unpickled.
    torch.load(path, weights_only=False)
    assert osp.exists(sentinel)
    os.remove(sentinel)
    return path, sentinel


def test_crafted_checkpoint_refused_by_every_safe_path(evil, tmp_path):
    path, sentinel = evil
    from mmengine.runner import load_checkpoint

    attempts = {
        'teacher_ckpt': lambda: distill(teacher_ckpt=path),
        'load_from': lambda: runner_for(MODELS.build(classifier()),
                                        tmp_path).load_checkpoint(path),
        'Pretrained': lambda: MODELS.build(classifier(init_cfg=dict(
            type='Pretrained', checkpoint=path))).init_weights(),
        'StrictPretrained': lambda: MODELS.build(classifier(init_cfg=dict(
            type='StrictPretrained', checkpoint=path))).init_weights(),
        'mmengine.load_checkpoint': lambda: load_checkpoint(
            MODELS.build(classifier()), path),
    }
    for name, attempt in attempts.items():
        with pytest.raises(UnsafeCheckpointError, match='allow-list'):
            attempt()
        assert not osp.exists(sentinel), name


def test_crafted_checkpoint_refused_by_tools(evil, tmp_path, cifar100_root):
    """The tools' ``__main__`` in this process (their CLIs run in
    subprocesses in tests/test_tools): a refusal is an error exit."""
    from tests.train_utils import run_inprocess as tool
    path, sentinel = evil
    proc = tool('convert_repdistiller_teacher.py', path,
                str(tmp_path / 'out.pth'), '--arch', 'resnet8', check=False)
    assert proc.returncode != 0
    assert 'Refusing to unpickle' in proc.stderr
    assert not osp.exists(sentinel)
    proc = tool('export_student.py',
                'configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py', path,
                str(tmp_path / 'exported'), check=False)
    assert proc.returncode != 0
    assert 'Refusing to unpickle' in proc.stderr
    assert not osp.exists(sentinel)
    proc = tool('test.py', 'configs/teachers/resnet8_1xb64_cifar100.py',
                path, '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                f'test_dataloader.dataset.data_root={cifar100_root}',
                'test_dataloader.num_workers=0',
                'test_dataloader.persistent_workers=False',
                'experiment_name=crafted_checkpoint_test_py', check=False)
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError' in proc.stderr
    assert not osp.exists(sentinel)


def test_trusted_file_is_unpickled_fully_and_said_once(evil):
    from relkd_mm.runner.checkpoint import (load_checkpoint_file,
                                            trusted_checkpoints)
    path, sentinel = evil
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        with trusted_checkpoints(path):
            load_checkpoint_file(path)
            load_checkpoint_file(path)
    finally:
        logger.removeHandler(handler)
    assert osp.exists(sentinel)  # trusted means trusted
    said = [r for r in records if 'full unpickling' in r.getMessage()]
    assert len(said) == 1

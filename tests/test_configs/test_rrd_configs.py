"""configs/rrd/: the paper's 13 CIFAR-100 pairs, RRD and RRD+KD."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmrazor.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAIRS = [
    ('wrn-40-2', 'wrn-16-2'), ('wrn-40-2', 'wrn-40-1'),
    ('resnet56', 'resnet20'), ('resnet110', 'resnet20'),
    ('resnet110', 'resnet32'), ('resnet32x4', 'resnet8x4'),
    ('vgg13', 'vgg8'), ('vgg13', 'mobilenetv2'), ('resnet50', 'mobilenetv2'),
    ('resnet50', 'vgg8'), ('resnet32x4', 'shufflev1'),
    ('resnet32x4', 'shufflev2'), ('wrn-40-2', 'shufflev1'),
]
CONFIGS = [f'configs/rrd/{method}_{t}_{s}_1xb64_cifar100.py'
           for t, s in PAIRS for method in ('rrd', 'rrd-kd')]


def arch_config(cfg_path):
    name = cfg_path.split('::')[1]
    return Config.fromfile(osp.join(REPO, 'configs', name))


def test_exactly_the_paper_pairs():
    found = sorted(osp.relpath(f, REPO) for f in glob.glob(
        osp.join(REPO, 'configs/rrd/*_cifar100.py')))
    assert found == sorted(CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_protocol(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    model, distiller = cfg.model, cfg.model.distiller
    student = arch_config(model.architecture.cfg_path).model
    teacher = arch_config(model.teacher.cfg_path).model
    # The connectors embed the pooled features, the inputs of the heads.
    connectors = distiller.connectors
    assert connectors.loss_rrd_sfeat.dim_in == student.head.in_channels
    assert connectors.loss_rrd_tfeat.dim_in == teacher.head.in_channels
    assert connectors.loss_rrd_tfeat.frozen
    assert not connectors.loss_rrd_sfeat.get('frozen', False)
    assert distiller.student_recorders.feat.source == 'neck'
    loss = distiller.distill_losses.loss_rrd
    assert (loss.type, loss.loss_weight, loss.queue_size, loss.embed_dim,
            loss.preset) == ('RRDLoss', 1.0, 16384, 128, '2024')
    kd = distiller.distill_losses.get('loss_kd')
    if osp.basename(config).startswith('rrd-kd_'):
        assert (kd.type, kd.tau, kd.loss_weight) == ('KLDivergence', 4, 1.0)
    else:
        assert kd is None
    low_lr = student.backbone.type in ('RepDistillerMobileNetV2',
                                       'RepDistillerShuffleNetV1',
                                       'RepDistillerShuffleNetV2')
    assert cfg.optim_wrapper.optimizer.lr == (0.01 if low_lr else 0.05)
    assert (cfg.train_dataloader.batch_size, cfg.train_cfg.max_epochs) == \
        (64, 240)
    assert model.teacher_ckpt.startswith('checkpoints/cifar100/')


def test_one_config_builds_and_computes_both_losses():
    cfg = Config.fromfile(osp.join(
        REPO, 'configs/rrd/rrd-kd_wrn-40-2_wrn-16-2_1xb64_cifar100.py'))
    cfg.model.teacher_ckpt = None
    cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model)
    data = model.data_preprocessor(dict(
        inputs=torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8),
        data_samples=None), True)
    from mmpretrain.structures import DataSample
    samples = [DataSample().set_gt_label(i) for i in range(4)]
    losses = model(data['inputs'], samples, mode='loss')
    assert set(losses) == {'student.loss', 'distill.loss_rrd',
                           'distill.loss_kd'}
    assert all(torch.isfinite(v) for v in losses.values())
    assert model.distiller.distill_losses.loss_rrd.queue_ptr.item() == 4


def test_imagenet_config():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/rrd/rrd_resnet34_resnet18_8xb32_in1k.py'))
    model, distiller = cfg.model, cfg.model.distiller
    assert model.architecture.cfg_path.endswith('resnet18_8xb32_in1k.py')
    assert model.teacher.cfg_path.endswith('resnet34_8xb32_in1k.py')
    assert model.teacher_ckpt.startswith('https://download.openmmlab.com/')
    assert distiller.connectors.loss_rrd_sfeat.dim_in == 512
    assert distiller.connectors.loss_rrd_tfeat.dim_in == 512
    assert distiller.connectors.loss_rrd_tfeat.frozen
    assert distiller.distill_losses.loss_rrd.preset == '2024'
    assert not distiller.distill_losses.loss_rrd.get('per_rank_memory')
    assert cfg.train_dataloader.batch_size == 32
    assert cfg.optim_wrapper.optimizer.lr == 0.1
    assert cfg.train_cfg.max_epochs == 100
    assert 'relkd_mm' in cfg.custom_imports.imports

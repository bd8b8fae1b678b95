"""``find_unused_parameters`` is on exactly where a configuration has
trainable parameters without a gradient.

DDP needs it on such parameters (otherwise it stops at the second iteration,
waiting for their gradients), and it costs an extra autograd traversal per
step everywhere else. Every distillation config is built with random
weights and takes one training step on tiny generated inputs; the
parameters that require a gradient but have none after the backward must
exist if and only if the config sets ``find_unused_parameters=True``.
"""
import glob
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.structures import DataSample
from mmrazor.models.losses import CRDLoss
from mmrazor.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHOD_DIRS = ('kd', 'rrd', 'vrm', 'refilled', 'quickstart', 'fmnist_lowdata')
#: Every distillation config: the method folders' configs except the bases
#: and the quick start's and the protocol's teachers and students alone.
CONFIGS = sorted(
    osp.relpath(path, REPO) for d in METHOD_DIRS
    for path in glob.glob(osp.join(REPO, 'configs', d, '*.py'))
    if not osp.basename(path).startswith(
        ('_', 'student_', 'student-', 'teacher_')))
BATCH = 4


def build(cfg):
    model_cfg = cfg.model.copy()
    model_cfg.teacher_ckpt = None
    if 'data_preprocessor' not in model_cfg and 'data_preprocessor' in cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    for loss in model_cfg.distiller.get('distill_losses', {}).values():
        if 'sample_n' in loss:  # CRD's memory, one row per training image
            loss.sample_n = BATCH
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    model.train()  # SingleTeacherDistill.train returns None
    return model


def batch(model):
    """A collated batch as the dataloader gives it: uint8 images (one
    tensor per view), labels, CRD's sample indices; the global class
    centers that RefilledCentersHook would fill."""
    gen = torch.Generator().manual_seed(0)
    conv = next(m for m in model.student.modules()
                if isinstance(m, torch.nn.Conv2d))
    # ImageNet networks too at 32 x 32: which parameters get a gradient
    # does not depend on the image size, the CPU time does.
    size = 28 if conv.in_channels == 1 else 32
    views = 2 if type(model).__name__ == 'VRMDistill' else 1
    images = [torch.randint(0, 256, (BATCH, conv.in_channels, size, size),
                            generator=gen, dtype=torch.uint8)
              for _ in range(views)]
    # Two samples of each of two classes: REFILLED's tuples need positives
    # and negatives.
    samples = [DataSample().set_gt_label(i % 2) for i in range(BATCH)]
    for loss in model.distiller.distill_losses.values():
        if getattr(loss, 'center_mode', None) == 'global':
            loss.set_centers(F.normalize(
                torch.randn(loss.centers.shape, generator=gen), dim=1))
        if isinstance(loss, CRDLoss):  # WeightedCRDLoss too
            for i, sample in enumerate(samples):
                negatives = torch.randint(0, BATCH,
                                          (loss.contrast.neg_sample, ),
                                          generator=gen)
                sample.set_data(dict(
                    sample_idx=torch.tensor(i),
                    contrast_sample_idxs=torch.cat(
                        [torch.tensor([i]), negatives])))
    return dict(inputs=images[0] if views == 1 else images,
                data_samples=samples)


def test_every_method_dir_is_covered():
    for d in METHOD_DIRS:
        assert any(c.startswith(f'configs/{d}/') for c in CONFIGS), d


#: model config (JSON) -> the parameters it leaves without gradient: the
#: answer depends on the model alone, which many configs share (the
#: cross-task sweep's, the protocol's arms on the quick start's).
_UNUSED = {}


def unused_parameters(cfg):
    key = json.dumps(cfg.model.to_dict(), sort_keys=True, default=str)
    if key not in _UNUSED:
        model = build(cfg)
        data = model.data_preprocessor(batch(model), True)
        total, _ = model.parse_losses(model(**data, mode='loss'))
        total.backward()
        _UNUSED[key] = [name for name, p in model.named_parameters()
                        if p.requires_grad and p.grad is None]
    return _UNUSED[key]


@pytest.mark.parametrize('config', CONFIGS)
def test_find_unused_parameters_iff_a_parameter_gets_no_gradient(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    assert 'distiller' in cfg.model, f'{config} is not a distillation config'
    unused = unused_parameters(cfg)
    setting = cfg.get('find_unused_parameters', False)
    if unused:
        assert setting, (
            f'{config}: {unused} require a gradient but get none, so DDP '
            'needs find_unused_parameters = True in this config (or freeze '
            'them with requires_grad=False).')
    else:
        assert not setting, (
            f'{config}: every trainable parameter gets a gradient, so '
            'find_unused_parameters = True only costs DDP an extra autograd '
            'traversal per step: remove it.')

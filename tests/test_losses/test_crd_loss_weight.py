"""``WeightedCRDLoss`` (the CRD config's loss) applies its ``loss_weight``;
MMRazor's ``CRDLoss``, which mmrazor 1.0.0 leaves unweighted, stays as
upstream wrote it after ``import relkd_mm``."""
import inspect

import torch
from mmengine.structures import BaseDataElement
from mmrazor.models.losses import CRDLoss
from mmrazor.registry import MODELS

import relkd_mm  # noqa: F401
from relkd_mm.models.losses import WeightedCRDLoss


def crd_value(loss_weight, kind):
    """One CRD loss on a fixed batch, with the memory and the negatives
    drawn from the same seed whatever the weight."""
    torch.manual_seed(0)
    loss = MODELS.build(dict(type=kind, loss_weight=loss_weight, neg_num=16,
                             sample_n=64, dim_out=8))
    s_feats = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    t_feats = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    samples = [BaseDataElement(sample_idx=torch.tensor(i)) for i in range(4)]
    return loss(s_feats, t_feats, samples)


def test_weighted_crd_applies_loss_weight():
    full = crd_value(1.0, 'CRDLoss')
    assert float(full) > 0
    assert torch.allclose(crd_value(0.8, 'WeightedCRDLoss'), 0.8 * full)
    assert float(crd_value(0.0, 'WeightedCRDLoss')) == 0.0
    assert torch.allclose(crd_value(1.0, 'WeightedCRDLoss'), full)


def test_upstream_crd_still_ignores_loss_weight():
    """The reason WeightedCRDLoss exists. Fails once MMRazor applies the
    weight itself: then configs/kd/ can name CRDLoss again and the
    subclass can go."""
    assert 'loss_weight' not in inspect.getsource(CRDLoss.forward)
    full = crd_value(1.0, 'CRDLoss')
    assert torch.equal(crd_value(0.8, 'CRDLoss'), full)
    assert torch.equal(crd_value(0.0, 'CRDLoss'), full)


def test_import_leaves_crd_loss_alone():
    assert CRDLoss.forward.__module__ == 'mmrazor.models.losses.crd_loss'
    assert issubclass(WeightedCRDLoss, CRDLoss)


def test_the_crd_config_names_the_weighted_loss():
    from mmengine.config import Config

    from tests.train_utils import REPO
    cfg = Config.fromfile(
        f'{REPO}/configs/kd/crd_resnet32x4_resnet8x4_1xb64_cifar100.py')
    loss = cfg.model.distiller.distill_losses.loss_crd
    assert loss.type == 'WeightedCRDLoss' and loss.loss_weight == 0.8

"""compat patch 16: MMRazor's ``CRDLoss`` applies its ``loss_weight``
(mmrazor 1.0.0 stores it and returns the unweighted loss)."""
import inspect

import torch
from mmengine.structures import BaseDataElement

from relkd_mm import compat


def crd_value(loss_weight, forward=None):
    """One CRD loss on a fixed batch, with the memory and the negatives
    drawn from the same seed whatever the weight."""
    from mmrazor.models.losses import CRDLoss
    torch.manual_seed(0)
    loss = CRDLoss(loss_weight=loss_weight, neg_num=16, sample_n=64,
                   dim_out=8)
    s_feats = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    t_feats = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    samples = [BaseDataElement(sample_idx=torch.tensor(i)) for i in range(4)]
    forward = forward or type(loss).forward
    return forward(loss, s_feats, t_feats, samples)


def test_unpatched_crd_ignores_loss_weight_and_patched_applies_it():
    assert 'crd_loss_weight' in compat.APPLIED
    original = compat._UNPATCHED['CRDLoss.forward']
    assert 'loss_weight' not in inspect.getsource(original)
    # The breakage: 0.8 trains as 1.0, 0 does not switch CRD off.
    full = crd_value(1.0, original)
    assert torch.equal(crd_value(0.8, original), full)
    assert torch.equal(crd_value(0.0, original), full)
    assert float(full) > 0
    # The fix.
    assert torch.allclose(crd_value(0.8), 0.8 * full)
    assert float(crd_value(0.0)) == 0.0
    assert torch.allclose(crd_value(1.0), full)


def test_crd_patch_is_idempotent():
    from mmrazor.models.losses import CRDLoss
    before = CRDLoss.forward
    compat.patch_crd_loss_weight()
    assert CRDLoss.forward is before
    assert compat.APPLIED.count('crd_loss_weight') == 1

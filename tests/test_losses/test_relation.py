"""The shared relation maths against slow, obvious float64 versions."""
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from relkd_mm.models.losses import (RefilledClassifierLoss, RefilledTupleLoss,
                                    RRDLoss, VRMLoss)
from relkd_mm.models.losses.relation import (compute_dtype, edge_discrepancy,
                                             full_precision, kl_divergence,
                                             pairwise_distances,
                                             similarity_logits,
                                             soft_cross_entropy)


def test_pairwise_distances_match_loops():
    torch.manual_seed(0)
    x, y = torch.randn(5, 3).double(), torch.randn(4, 3).double()
    d = pairwise_distances(x, y)
    for i, j in itertools.product(range(5), range(4)):
        ref = math.sqrt(sum((x[i, k] - y[j, k]).item() ** 2
                            for k in range(3)))
        assert d[i, j].item() == pytest.approx(ref, abs=1e-9)
    self_d = pairwise_distances(x)
    assert torch.all(torch.diagonal(self_d) == 0)
    assert torch.allclose(pairwise_distances(x, squared=True),
                          torch.cdist(x, x).pow(2), atol=1e-9)


def test_pairwise_distances_finite_gradient_for_identical_rows():
    x = torch.ones(3, 4, requires_grad=True)
    pairwise_distances(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_edge_discrepancy_matches_materialised_edges():
    torch.manual_seed(1)
    vs, vt = torch.randn(6, 5).double(), torch.randn(6, 5).double()
    vs[4] = vs[2]  # a zero-length student edge
    d = edge_discrepancy(vs, vt)
    for a, b in itertools.product(range(6), range(6)):
        ds, dt = vs[a] - vs[b], vt[a] - vt[b]
        es = ds / max(ds.norm().item(), 1e-8)
        et = dt / max(dt.norm().item(), 1e-8)
        assert d[a, b].item() == pytest.approx(
            (es - et).pow(2).sum().item(), abs=1e-6)


def test_distributions_match_loops_with_mask():
    torch.manual_seed(2)
    t, p = torch.randn(3, 4).double(), torch.randn(3, 4).double()
    mask = torch.tensor([[1, 1, 1, 1], [1, 0, 1, 0], [0, 0, 1, 1]]).bool()
    ce, kl = soft_cross_entropy(t, p, mask), kl_divergence(t, p, mask)
    for i in range(3):
        idx = mask[i].nonzero().flatten().tolist()
        zt = sum(math.exp(t[i, k]) for k in idx)
        zp = sum(math.exp(p[i, k]) for k in idx)
        pt = {k: math.exp(t[i, k]) / zt for k in idx}
        pq = {k: math.exp(p[i, k]) / zp for k in idx}
        assert ce[i].item() == pytest.approx(
            -sum(pt[k] * math.log(pq[k]) for k in idx), abs=1e-9)
        assert kl[i].item() == pytest.approx(
            sum(pt[k] * math.log(pt[k] / pq[k]) for k in idx), abs=1e-9)
    logits = similarity_logits(t, p, tau=0.5)
    assert torch.allclose(logits, t @ p.t() / 0.5)


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_fp32_under_autocast(dtype):
    torch.manual_seed(3)
    x, y = torch.randn(8, 16), torch.randn(8, 16)
    with torch.autocast('cpu', dtype=dtype):
        outs = [pairwise_distances(x, y), edge_discrepancy(x, y),
                similarity_logits(x, y, 0.04),
                soft_cross_entropy(x, y), kl_divergence(x, y)]
    for out in outs:
        assert out.dtype == torch.float32 and torch.isfinite(out).all()
    assert torch.allclose(outs[2], x @ y.t() / 0.04, atol=1e-5)


def test_compute_dtype_is_float32_unless_an_input_is_float64():
    labels = torch.tensor([0, 1])
    for dtypes, expected in (((torch.bfloat16, ), torch.float32),
                             ((torch.float16, torch.float32), torch.float32),
                             ((torch.float32, torch.float64), torch.float64)):
        tensors = [torch.zeros(2, dtype=d) for d in dtypes]
        assert compute_dtype(*tensors, labels, None) == expected

    @full_precision
    def seen(x, labels, y=None):
        return x.dtype, labels.dtype, y.dtype, torch.is_autocast_enabled()

    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert seen(torch.zeros(2, dtype=torch.bfloat16), labels,
                    y=torch.zeros(2, dtype=torch.float64)) == (
                        torch.float64, torch.int64, torch.float64, False)


def test_every_loss_follows_the_one_policy_in_float64():
    """float64 inputs are computed in float64 by every loss (the float32
    buffers, RRD's memory and REFILLED's centers, meet them in float64)."""
    torch.manual_seed(0)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    centers = RefilledClassifierLoss(4, 16)
    centers.set_centers(F.normalize(torch.randn(4, 16), dim=1))
    cases = [
        (VRMLoss(), (torch.randn(16, 10), torch.randn(16, 10))),
        (RRDLoss(queue_size=32, embed_dim=16), (
            F.normalize(torch.randn(8, 16)), F.normalize(torch.randn(8, 16)))),
        (RefilledTupleLoss(), (torch.randn(8, 16), torch.randn(8, 12),
                               labels)),
        (centers, (torch.randn(8, 4), torch.randn(8, 16), labels)),
        (RefilledClassifierLoss(4, 16, center_mode='batch'), (
            torch.randn(8, 4), torch.randn(8, 16), labels)),
    ]
    for loss, inputs in cases:
        inputs = [x.double() if x.is_floating_point() else x for x in inputs]
        assert loss(*inputs).dtype == torch.float64, type(loss).__name__


def test_masked_distributions_have_finite_gradients():
    t = torch.randn(3, 4, requires_grad=True)
    p = torch.randn(3, 4, requires_grad=True)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 1, 0]]).bool()
    (kl_divergence(t, p, mask).sum() +
     soft_cross_entropy(t, p, mask).sum()).backward()
    for grad in (t.grad, p.grad):
        assert torch.isfinite(grad).all()
        assert torch.all(grad[~mask] == 0)


def test_nan_target_is_not_hidden():
    """A NaN from the teacher must reach the loss (NonFiniteLossHook)."""
    target = torch.tensor([[float('nan'), 1., 2.]])
    assert torch.isnan(soft_cross_entropy(target, torch.zeros(1, 3))).all()
    assert torch.isnan(kl_divergence(target, torch.zeros(1, 3))).all()

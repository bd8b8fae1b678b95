"""VRMLoss against a naive, materialised float64 reference."""
import itertools

import pytest
import torch
from mmrazor.registry import MODELS

import relkd_mm  # noqa: F401  (compat patches before any mm* import)
from relkd_mm.models.losses import VRMLoss
from relkd_mm.models.losses.relation import edge_discrepancy
from relkd_mm.testing.reference import naive_edges, naive_vrm


def logits(b=5, c=7, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(2 * b, c, generator=g, dtype=dtype) * 3
    t = s.detach() * 0.5 + torch.randn(2 * b, c, generator=g, dtype=dtype)
    return s.requires_grad_(), t.requires_grad_()


OPTIONS = list(
    itertools.product([True, False], ['all', 'cross'],
                      ['discrepancy', 'entropy', 'none'], [0.1, 0.3]))


@pytest.mark.parametrize('zscore,is_pairs,prune,ratio', OPTIONS)
def test_matches_naive_value_and_gradient(zscore, is_pairs, prune, ratio):
    kwargs = dict(
        loss_weight=0.7,
        is_weight=1.3,
        ic_weight=0.4,
        zscore=zscore,
        is_pairs=is_pairs,
        prune=prune,
        prune_ratio=ratio)
    # A fixed seed per case: hash() of strings is salted by PYTHONHASHSEED.
    s, t = logits(seed=OPTIONS.index((zscore, is_pairs, prune, ratio)))
    loss = VRMLoss(**kwargs)(s, t)
    (grad, ) = torch.autograd.grad(loss, s)
    s_ref = s.detach().clone().requires_grad_()
    ref = naive_vrm(s_ref, t, **kwargs)
    (grad_ref, ) = torch.autograd.grad(ref, s_ref)
    assert loss.dtype == torch.float64
    torch.testing.assert_close(loss, ref, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-7, atol=1e-12)


def test_fp32_matches_naive():
    s, t = logits(b=16, c=10, seed=3)
    s32 = s.detach().float().requires_grad_()
    loss = VRMLoss()(s32, t.float())
    loss.backward()
    s_ref = s.detach().float().double().requires_grad_()
    ref = naive_vrm(s_ref, t.float())
    ref.backward()
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(
        s32.grad.double(), s_ref.grad, rtol=1e-3, atol=1e-6)


def test_edge_discrepancy_matches_naive_with_offset():
    """The Gram form in fp32 holds up when all vertices share a large
    offset (centring removes it before the products)."""
    g = torch.Generator().manual_seed(1)
    vs = torch.randn(12, 50, generator=g, dtype=torch.float64) + 100
    vt = torch.randn(12, 50, generator=g, dtype=torch.float64) - 100
    pairs = [(a, b) for a in range(12) for b in range(12)]
    ref = (naive_edges(vs, pairs, 1e-8) -
           naive_edges(vt, pairs, 1e-8)).pow(2).sum(1).view(12, 12)
    out = edge_discrepancy(vs.float(), vt.float())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), ref, rtol=1e-4, atol=1e-4)


def test_teacher_gets_no_gradient():
    s, t = logits()
    VRMLoss()(s, t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


@pytest.mark.parametrize('prune', ['discrepancy', 'entropy'])
def test_pruned_edges_keep_value_but_pass_no_gradient(prune):
    s, t = logits(b=6, c=9, seed=5)
    full = VRMLoss(prune='none')(s, t)
    pruned = VRMLoss(prune=prune, prune_ratio=0.5)(s, t)
    # Same value: detached edges still count.
    torch.testing.assert_close(pruned, full)
    (g_full, ) = torch.autograd.grad(full, s)
    (g_pruned, ) = torch.autograd.grad(pruned, s)
    assert not torch.allclose(g_full, g_pruned)
    # Pruning everything but nothing: prune_ratio -> 0 prunes no edge.
    tiny = VRMLoss(prune=prune, prune_ratio=1e-6)(s, t)
    (g_tiny, ) = torch.autograd.grad(tiny, s)
    torch.testing.assert_close(g_tiny, g_full)


def test_discrepancy_pruning_detaches_the_largest_edges():
    """With one edge per graph pruned, the gradient equals that of the loss
    without the largest-discrepancy edge (averaged over all edges)."""
    s, t = logits(b=2, c=4, seed=7)
    # B=2, C=4: 6 edges in each graph; ratio 0.2 prunes exactly one.
    loss = VRMLoss(zscore=False, prune_ratio=0.2)(s, t)
    (grad, ) = torch.autograd.grad(loss, s)

    def term(vs, vt):
        d = edge_discrepancy(vs, vt)
        iu = torch.triu_indices(len(d), len(d), 1)
        vals = d[iu[0], iu[1]]
        keep = torch.ones_like(vals, dtype=torch.bool)
        keep[vals.argmax()] = False
        return (vals * keep).sum() / vals.numel()

    ref = term(s, t.detach()) + term(s.t(), t.detach().t())
    (grad_ref, ) = torch.autograd.grad(ref, s)
    torch.testing.assert_close(grad, grad_ref)


def test_identical_rows_and_all_equal_logits_are_finite():
    s, t = logits(b=4, c=6, seed=2)
    s = s.detach().clone()
    t = t.detach().clone()
    s[1] = s[0]
    t[1] = t[0]
    s[5] = s[0]
    s.requires_grad_()
    loss = VRMLoss()(s, t)
    ref = naive_vrm(s, t)
    torch.testing.assert_close(loss, ref)
    loss.backward()
    # Zero-length edges: no NaN, and a gradient bounded by about 1 / eps.
    assert torch.isfinite(s.grad).all() and s.grad.abs().max() < 10

    for dtype in (torch.float32, torch.float64):
        s = torch.full((8, 10), 3.0, dtype=dtype, requires_grad=True)
        t = torch.full((8, 10), -1.0, dtype=dtype)
        for zscore in (True, False):
            loss = VRMLoss(zscore=zscore)(s, t)
            (grad, ) = torch.autograd.grad(loss, s)
            assert torch.isfinite(loss) and torch.isfinite(grad).all()
            # No edge has a direction: every edge vector is zero.
            assert loss.item() == 0


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_inputs_under_autocast_compute_in_fp32(dtype):
    s, t = logits(b=8, c=12, seed=4, dtype=torch.float32)
    s_half = s.detach().to(dtype).requires_grad_()
    t_half = t.detach().to(dtype)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        loss = VRMLoss()(s_half, t_half)
    loss.backward()
    ref = VRMLoss()(s_half.detach().float(), t_half.float())
    assert loss.dtype == torch.float32
    assert s_half.grad.dtype == dtype
    assert torch.isfinite(s_half.grad.float()).all()
    torch.testing.assert_close(loss, ref)


def test_bad_inputs_raise_clear_errors():
    loss = VRMLoss()
    with pytest.raises(ValueError, match='at least 2 samples'):
        loss(torch.randn(2, 10), torch.randn(2, 10))
    with pytest.raises(ValueError, match='odd number, 7'):
        loss(torch.randn(7, 10), torch.randn(7, 10))
    with pytest.raises(ValueError, match='same shape'):
        loss(torch.randn(8, 10), torch.randn(8, 11))
    with pytest.raises(ValueError, match='at least 2 classes'):
        loss(torch.randn(8, 1), torch.randn(8, 1))
    with pytest.raises(ValueError, match="is_pairs='pairs'"):
        VRMLoss(is_pairs='pairs')
    with pytest.raises(ValueError, match="prune='max'"):
        VRMLoss(prune='max')
    with pytest.raises(ValueError, match='prune_ratio=1'):
        VRMLoss(prune_ratio=1)


def test_scale_at_initialisation():
    """Unrelated student and teacher logits: each term is about 2 (the
    unit edge vectors are nearly orthogonal), so the default weights of 1
    give an O(1) loss. Identical logits give 0."""
    torch.manual_seed(0)
    s, t = torch.randn(128, 100), torch.randn(128, 100)
    is_term = VRMLoss(ic_weight=0)(s, t).item()
    ic_term = VRMLoss(is_weight=0)(s, t).item()
    assert 1.9 < is_term < 2.1 and 1.9 < ic_term < 2.1
    assert VRMLoss()(s, s).item() < 1e-5


def test_registered_in_mmrazor():
    loss = MODELS.build(dict(type='VRMLoss', is_pairs='cross', prune='none'))
    assert isinstance(loss, VRMLoss)
    assert loss.is_pairs == 'cross'

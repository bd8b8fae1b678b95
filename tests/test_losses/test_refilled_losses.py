import itertools

import pytest
import torch
from mmrazor.registry import MODELS

from relkd_mm.models.losses import RefilledClassifierLoss, RefilledTupleLoss
from relkd_mm.models.losses.refilled_tuple_loss import mine_semihard_tuples
from relkd_mm.models.losses.relation import pairwise_distances
from relkd_mm.testing.reference import (brute_triplets,
                                        reference_classifier_loss,
                                        reference_tuple_loss)


@pytest.mark.parametrize('seed', range(6))
def test_mining_equals_brute_force(seed):
    gen = torch.Generator().manual_seed(seed)
    batch = [8, 17, 32, 64, 96, 128][seed]
    classes = [2, 3, 5, 10, 20, 7][seed]
    emb = torch.nn.functional.normalize(torch.randn(batch, 6, generator=gen))
    labels = torch.randint(0, classes, (batch, ), generator=gen)
    dist = pairwise_distances(emb)
    margin = [0.2, 0.5, 0.2, 0.1, 0.3, 2.0][seed]
    expected = brute_triplets(dist, labels, margin)
    mined = mine_semihard_tuples(dist, labels, margin)
    if not expected:
        assert mined is None
        return
    anchors, positives, negatives, valid = mined
    got = sorted((a, p, n) for a, p, row, ok in zip(
        anchors.tolist(), positives.tolist(), negatives.tolist(),
        valid.tolist()) for n, v in zip(row, ok) if v)
    assert got == expected
    # Tuples in lexicographic (a, p) order, one per pair, valid slots first,
    # negatives by increasing distance.
    pairs = list(zip(anchors.tolist(), positives.tolist()))
    assert pairs == sorted(set(pairs))
    assert torch.equal(valid, valid.cumprod(1).bool())
    d = dist[anchors[:, None], negatives].masked_fill(~valid, float('inf'))
    assert (d[:, 1:] >= d[:, :-1]).all()


@pytest.mark.parametrize('mode', ['pad', 'min', 'triplet'])
@pytest.mark.parametrize('shape4d', [False, True])
def test_tuple_loss_matches_reference(mode, shape4d):
    gen = torch.Generator().manual_seed(3)
    s = torch.randn(40, 12, generator=gen)
    t = torch.randn(40, 20, generator=gen)
    labels = torch.randint(0, 4, (40, ), generator=gen)
    if shape4d:
        s, t = s[..., None, None], t[..., None, None]
    s.requires_grad_(True)
    t.requires_grad_(True)
    loss_fn = MODELS.build(dict(type='RefilledTupleLoss', tuple_mode=mode))
    loss = loss_fn(s, t, labels)
    s64 = s.detach().double().requires_grad_(True)
    ref, count = reference_tuple_loss(s64, t, labels, mode)
    assert count > 5
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss.double(), ref, rtol=1e-4, atol=1e-4)
    loss.backward()
    ref.backward()
    assert t.grad is None
    torch.testing.assert_close(
        s.grad.double(), s64.grad, rtol=1e-3, atol=1e-5)


def test_tuple_loss_options():
    gen = torch.Generator().manual_seed(5)
    s, t = torch.randn(30, 8, generator=gen), torch.randn(30, 8, generator=gen)
    labels = torch.randint(0, 3, (30, ), generator=gen)
    loss = RefilledTupleLoss(loss_weight=3.0, tau=2.0, margin=0.5)(
        s, t, labels)
    ref, _ = reference_tuple_loss(s, t, labels, 'pad', 2.0, 0.5, 3.0)
    torch.testing.assert_close(loss.double(), ref, rtol=1e-4, atol=1e-5)
    # Identical embeddings: the teacher's levels are the student's.
    same = RefilledTupleLoss()(s, s * 3.0, labels)
    assert abs(same.item()) < 1e-3


@pytest.mark.parametrize('labels', [
    torch.arange(16),  # no positive pair
    torch.zeros(16, dtype=torch.long),  # no negative
])
def test_tuple_loss_without_tuples_is_zero_with_graph(labels):
    s = torch.randn(16, 8, requires_grad=True)
    loss = RefilledTupleLoss()(s, torch.randn(16, 4), labels)
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(s.grad, torch.zeros_like(s))


def test_tuple_loss_no_semihard_negative():
    # Two tight clusters far apart: every negative is farther than
    # d(a, p) + margin.
    s = torch.cat([torch.ones(4, 2) * torch.tensor([1., 0.]),
                   torch.ones(4, 2) * torch.tensor([0., 1.])])
    s = s + 1e-3 * torch.randn(8, 2)
    s.requires_grad_(True)
    labels = torch.tensor([0] * 4 + [1] * 4)
    loss = RefilledTupleLoss()(s, torch.randn(8, 3), labels)
    assert loss.item() == 0.0
    loss.backward()


def test_tuple_loss_bad_inputs():
    with pytest.raises(ValueError, match='tuple_mode'):
        RefilledTupleLoss(tuple_mode='all')
    loss = RefilledTupleLoss()
    with pytest.raises(ValueError, match='integer'):
        loss(torch.randn(4, 3), torch.randn(4, 3), torch.rand(4, 5))
    with pytest.raises(ValueError, match='pooled'):
        loss(torch.randn(4, 3, 2, 2), torch.randn(4, 3), torch.arange(4))


def batch_centers(feats, labels, num_classes):
    centers = torch.zeros(num_classes, feats.shape[1], dtype=torch.float64)
    for k in range(num_classes):
        rows = feats[labels == k].double()
        if len(rows):
            mean = rows.mean(0)
            centers[k] = mean / mean.norm()
    return centers


@pytest.mark.parametrize(
    'centers,weighted,student_tau',
    list(itertools.product(['global', 'batch'], [False, True],
                           [True, False])))
def test_classifier_loss_matches_reference(centers, weighted, student_tau):
    gen = torch.Generator().manual_seed(7)
    num_classes, dim, batch = 10, 6, 24
    z = torch.randn(batch, num_classes, generator=gen, requires_grad=True)
    feats = torch.randn(batch, dim, 1, 1, generator=gen) * 2
    feats.requires_grad_(True)
    # Classes 0..6 only: absent classes must drop out of both softmaxes.
    labels = torch.randint(0, 7, (batch, ), generator=gen)
    logits_t = torch.randn(batch, 4, generator=gen) * 3
    loss_fn = MODELS.build(
        dict(type='RefilledClassifierLoss', num_classes=num_classes,
             feat_dim=dim, center_mode=centers, weighted=weighted,
             student_tau=student_tau))
    if centers == 'global':
        all_feats = torch.randn(200, dim, generator=gen)
        all_labels = torch.arange(200) % num_classes
        ref_centers = batch_centers(all_feats, all_labels, num_classes)
        loss_fn.set_centers(ref_centers.float())
    else:
        ref_centers = batch_centers(feats.flatten(1), labels, num_classes)
    loss = loss_fn(z, feats, labels, logits_t if weighted else None)
    ref = reference_classifier_loss(z, feats.flatten(1).detach(), labels,
                                    ref_centers, 2.0, student_tau, weighted,
                                    logits_t)
    torch.testing.assert_close(loss.double(), ref, rtol=1e-5, atol=1e-5)
    loss.backward()
    assert feats.grad is None
    assert z.grad[:, 7:].abs().max() == 0  # absent classes get no gradient
    assert z.grad[:, :7].abs().max() > 0


def test_classifier_loss_uniform_confidence_weights_are_one():
    loss_fn = RefilledClassifierLoss(5, 4, center_mode='batch', weighted=True)
    plain = RefilledClassifierLoss(5, 4, center_mode='batch')
    z, feats = torch.randn(8, 5), torch.randn(8, 4)
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    flat = torch.zeros(8, 3)
    torch.testing.assert_close(
        loss_fn(z, feats, labels, flat), plain(z, feats, labels))


def test_classifier_loss_buffers_and_errors():
    loss_fn = RefilledClassifierLoss(5, 4)
    state = loss_fn.state_dict()
    assert set(state) == {'centers', 'centers_ready'}
    assert state['centers'].shape == (5, 4)
    z, feats, labels = torch.randn(3, 5), torch.randn(3, 4), torch.arange(3)
    with pytest.raises(RuntimeError, match='RefilledCentersHook'):
        loss_fn(z, feats, labels)
    loss_fn.set_centers(torch.eye(5, 4))
    assert loss_fn(z, feats, labels).isfinite()
    with pytest.raises(ValueError, match='num_classes=5'):
        loss_fn(z, feats, torch.tensor([0, 1, 5]))
    with pytest.raises(ValueError, match='feat_dim=4'):
        loss_fn(z, torch.randn(3, 6), labels)
    with pytest.raises(ValueError, match='logits_T'):
        RefilledClassifierLoss(5, 4, weighted=True, center_mode='batch')(
            z, feats, labels)
    with pytest.raises(ValueError, match="center_mode='local'"):
        RefilledClassifierLoss(5, 4, center_mode='local')
    assert 'centers' not in RefilledClassifierLoss(
        5, 4, center_mode='batch').state_dict()


def test_classifier_loss_old_centers_argument_is_gone():
    """``centers`` named the mode before 0.1.0 was released; it is now
    ``center_mode``, and ``centers`` the buffer only (no shim: nothing was
    released under the old name)."""
    with pytest.raises(TypeError, match="'centers'"):
        RefilledClassifierLoss(5, 4, centers='batch')


def test_classifier_loss_epoch_decay():
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('test_refilled_epoch_decay')
    loss_fn = RefilledClassifierLoss(5, 4, loss_weight=1000.,
                                     center_mode='batch', epoch_decay=0.05)
    plain = RefilledClassifierLoss(5, 4, loss_weight=1., center_mode='batch')
    z, feats = torch.randn(8, 5), torch.randn(8, 4)
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    hub.update_info('epoch', 10)
    torch.testing.assert_close(
        loss_fn(z, feats, labels),
        1000. * torch.exp(torch.tensor(-0.5)) * plain(z, feats, labels))

"""Each relational loss's ``agreement`` (what DistillDiagnosticsHook logs)
against an independent, naive computation, and without side effects."""
import torch
import torch.nn.functional as F

import relkd_mm  # noqa: F401  (compat patches before any mm* import)
from relkd_mm.models.losses import (RefilledClassifierLoss, RefilledTupleLoss,
                                    RRDLoss, VRMLoss)
from tests.test_losses.test_vrm_loss import naive_edges


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def test_vrm_agreement_is_the_mean_edge_discrepancy_of_each_graph():
    g = _gen(0)
    s, t = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    got = VRMLoss(prune_ratio=0.3).agreement(s, t)

    def zscore(x):
        x = x.double()
        return (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) +
                                                1e-7)

    vs, vt = zscore(s), zscore(t)
    for key, (a, b) in (('is_discrepancy', (vs, vt)),
                        ('ic_discrepancy', (vs.t(), vt.t()))):
        n = len(a)
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        ref = (naive_edges(a, pairs, 1e-2) -
               naive_edges(b, pairs, 1e-2)).pow(2).sum(1).mean()
        torch.testing.assert_close(got[key].double(), ref, rtol=1e-4,
                                   atol=1e-6)
    # Any number of rows: validation batches have one view.
    metrics = VRMLoss().agreement(s[:3], t[:3])
    assert set(metrics) == {'is_discrepancy', 'ic_discrepancy'}


def test_rrd_agreement_is_the_kl_and_leaves_the_memory_alone():
    loss = RRDLoss(queue_size=16, embed_dim=4)
    g = _gen(1)
    zs = F.normalize(torch.randn(3, 4, generator=g), dim=1)
    zt = F.normalize(torch.randn(3, 4, generator=g), dim=1)
    queue, ptr = loss.queue.clone(), loss.queue_ptr.clone()
    got = loss.agreement(zs, zt)['kl']
    assert torch.equal(loss.queue, queue) and torch.equal(loss.queue_ptr, ptr)
    p_t = (zt @ queue.t() / 0.1).softmax(1)
    log_p_s = (zs @ queue.t() / 0.04).log_softmax(1)
    ref = (p_t * (p_t.log() - log_p_s)).sum(1).mean()
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    # The loss is the cross-entropy: KL + the teacher's entropy.
    entropy = -(p_t * p_t.log()).sum(1).mean()
    torch.testing.assert_close(loss(zs, zt), ref + entropy, rtol=1e-5,
                               atol=1e-6)


def test_tuple_agreement_counts_comparisons_the_teacher_orders_alike():
    g = _gen(2)
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 0, 1])
    s, t = torch.randn(8, 6, generator=g), torch.randn(8, 6, generator=g)
    loss = RefilledTupleLoss(margin=1.5, tau=2.0)
    got = loss.agreement(s, t, labels)
    anchors, columns, valid = loss.tuples(
        torch.cdist(F.normalize(s, dim=1), F.normalize(s, dim=1)), labels)
    ns, nt = F.normalize(s, dim=1), F.normalize(t, dim=1)
    same = total = 0
    for a, cols, ok in zip(anchors.tolist(), columns.tolist(),
                           valid.tolist()):
        p = cols[0]
        for n, v in zip(cols[1:], ok[1:]):
            if v:
                total += 1
                same += ((ns[a] - ns[p]).norm() < (ns[a] - ns[n]).norm()) \
                    == ((nt[a] - nt[p]).norm() < (nt[a] - nt[n]).norm())
    assert total > 0
    assert float(got['order']) == same / total
    torch.testing.assert_close(got['kl'] * loss.loss_weight,
                               loss(s, t, labels))
    # No tuple, no agreement.
    assert loss.agreement(s[:2], t[:2], torch.tensor([0, 1])) is None


def test_classifier_agreement_kl_match_and_induced_accuracy():
    loss = RefilledClassifierLoss(num_classes=3, feat_dim=4, tau=2.0)
    g = _gen(3)
    centers = F.normalize(torch.randn(3, 4, generator=g), dim=1)
    loss.set_centers(centers)
    feats = torch.randn(6, 4, generator=g)
    logits = torch.randn(6, 3, generator=g)
    labels = torch.tensor([0, 1, 0, 1, 0, 1])  # class 2 absent
    got = loss.agreement(logits, feats, labels)
    induced = (feats @ centers.t() / 2.0)[:, :2]
    student = (logits / 2.0)[:, :2]
    p = induced.softmax(1)
    ref_kl = (p * (p.log() - student.log_softmax(1))).sum(1).mean()
    torch.testing.assert_close(got['kl'], ref_kl, rtol=1e-5, atol=1e-6)
    top = induced.argmax(1)
    assert float(got['match']) == float((top == student.argmax(1)).float()
                                        .mean())
    assert float(got['induced_acc']) == float((top == labels).float().mean())
    torch.testing.assert_close(loss(logits, feats, labels),
                               loss.loss_weight * ref_kl)

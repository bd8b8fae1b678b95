"""tools/analysis/vrm_relations.py: each metric against an independent
float64 computation (the edges materialised, not VRMLoss's Gram form),
and the table's paired differences against the first row."""
import itertools

import pytest
import torch
import torch.nn.functional as F


class Logits(torch.nn.Module):
    """A classifier's ``mode='tensor'`` call: a fixed linear map."""

    def __init__(self, weight):
        super().__init__()
        self.weight = weight

    def forward(self, inputs, mode):
        assert mode == 'tensor'
        return inputs @ self.weight


def zscore(v):
    return (v - v.mean(1, keepdim=True)) / (v.std(1, keepdim=True) + 1e-7)


def mean_edge_discrepancy(vs, vt):
    """Mean over a < b of ||e^S_ab - e^T_ab||^2 with unit edges."""
    d = []
    for a, b in itertools.combinations(range(len(vs)), 2):
        es = F.normalize(vs[a] - vs[b], dim=0)
        et = F.normalize(vt[a] - vt[b], dim=0)
        d.append(float(((es - et)**2).sum()))
    return sum(d) / len(d)


def independent(batches, student, teacher, tau=4.0):
    kl = agree = images = 0.0
    is_, ic = [], []
    for x in batches:
        s, t = x.double() @ student.double(), x.double() @ teacher.double()
        pt = F.softmax(t / tau, 1)
        kl += float((pt * (pt.log() - F.log_softmax(s / tau, 1))).sum())
        agree += float((s.argmax(1) == t.argmax(1)).sum())
        images += len(x)
        zs, zt = zscore(s), zscore(t)
        is_.append(mean_edge_discrepancy(zs, zt))
        ic.append(mean_edge_discrepancy(zs.t(), zt.t()))
    return dict(kl=kl / images, agree=100 * agree / images,
                is_=sum(is_) / len(is_), ic=sum(ic) / len(ic))


def test_relation_metrics_match_an_independent_computation():
    from tools.analysis.vrm_relations import relation_metrics
    g = torch.Generator().manual_seed(0)
    w_s, w_t = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    batches = [torch.randn(n, 6, generator=g) for n in (8, 8, 5)]
    loader = [dict(inputs=x) for x in batches]

    def preprocess(data, training):
        assert training is False
        return data

    got = relation_metrics(Logits(w_s), Logits(w_t), loader, preprocess)
    expected = independent(batches, w_s, w_t)
    # Not a training result: the tool's float32 arithmetic against float64
    # on fixed inputs. float32 rounds at ~6e-8 relative; the sums here run
    # over at most 28 edges of 5 classes, so 1e-4 leaves three orders of
    # magnitude for any BLAS, thread count or CPU.
    for key in expected:
        assert got[key] == pytest.approx(expected[key], rel=1e-4, abs=1e-6)
    # A student equal to its teacher matches every relation.
    same = relation_metrics(Logits(w_t), Logits(w_t), loader, preprocess)
    assert same['agree'] == 100.0
    assert same['kl'] == pytest.approx(0.0, abs=1e-6)
    assert same['is_'] == pytest.approx(0.0, abs=1e-6)
    assert same['ic'] == pytest.approx(0.0, abs=1e-6)


def test_table_pairs_each_row_with_the_first():
    from tools.analysis.vrm_relations import table
    metrics = dict(val_top1=85.0, kl=0.03, agree=89.0, ic=0.09)
    reference = {s: dict(metrics, **{'is': 0.15}) for s in (0, 1, 2)}
    row = {s: dict(metrics, **{'is': 0.15 - d})
           for s, d in ((0, 0.03), (1, 0.04), (2, 0.05))}
    text = table({'KD@2B': reference, 'VRM+KD': row}, ['KD@2B', 'VRM+KD'])
    lines = text.splitlines()
    assert lines[2].startswith('| KD@2B | 3 | 85.00 +- 0.00 |')
    vrm = lines[3]
    # Differences of -0.03, -0.04, -0.05: mean -0.04, t interval (2 df)
    # -0.04 +- 4.303 * 0.01 / sqrt(3) = [-0.0648, -0.0152].
    assert '0.1100 +- 0.0100; -0.0400 [-0.0648, -0.0152] |' in vrm
    # Identical values elsewhere: a zero difference, no spread.
    assert '85.00 +- 0.00; +0.00 [+0.00, +0.00] (noise)' in vrm

"""Slow, obvious reference implementations of the relational losses.

Written for clarity, not speed: Python loops, materialised edge tensors,
float64. The tests check the losses of :mod:`relkd_mm.models.losses`
against them, and ``tools/analysis/loss_microbench.py`` times the losses
against them; both import them from here, so that a tool never imports the
tests and the two never hold diverging copies.
"""
import math

import torch


def naive_edges(vertices, pairs, eps):
    """Unit difference vectors of the listed pairs, materialised."""
    diff = torch.stack([vertices[a] - vertices[b] for a, b in pairs])
    return diff / diff.norm(dim=1, keepdim=True).clamp_min(eps)


def naive_entropy(logits):
    p = logits.softmax(-1)
    return -(p * p.log()).sum(-1)


def naive_term(vs, vt, pairs, ratio, prune, ent, eps):
    disc = (naive_edges(vs, pairs, eps) -
            naive_edges(vt, pairs, eps)).pow(2).sum(1)
    k = int(ratio * len(pairs)) if prune != 'none' else 0
    if prune == 'discrepancy':
        score = disc.tolist()
    elif prune == 'entropy':
        score = [float(ent[a] + ent[b]) for a, b in pairs]
    order = sorted(range(len(pairs)), key=lambda i: -score[i]) if k else []
    pruned = set(order[:k])
    terms = [d.detach() if i in pruned else d for i, d in enumerate(disc)]
    return torch.stack(terms).mean()


def naive_vrm(preds_s, preds_t, loss_weight=1.0, is_weight=1.0, ic_weight=1.0,
              zscore=True, is_pairs='all', prune='discrepancy',
              prune_ratio=0.1, eps=1e-2):
    s = preds_s.double()
    t = preds_t.double().detach()

    def std(x):
        if not zscore:
            return x
        mean = x.mean(1, keepdim=True)
        var = ((x - mean)**2).sum(1, keepdim=True) / (x.shape[1] - 1)
        return (x - mean) / (var.sqrt() + 1e-7)

    vs, vt = std(s), std(t)
    n, c = vs.shape
    b = n // 2
    if is_pairs == 'all':
        is_pairs_ = [(i, j) for i in range(n) for j in range(i + 1, n)]
    else:
        is_pairs_ = [(i, b + j) for i in range(b) for j in range(b)]
    ic_pairs = [(k, m) for k in range(c) for m in range(k + 1, c)]
    ent_rows = naive_entropy(s.detach())
    ent_cols = naive_entropy(s.detach().t())
    loss_is = naive_term(vs, vt, is_pairs_, prune_ratio, prune, ent_rows, eps)
    loss_ic = naive_term(vs.t(), vt.t(), ic_pairs, prune_ratio, prune,
                         ent_cols, eps)
    return loss_weight * (is_weight * loss_is + ic_weight * loss_ic)


def reference_rrd_loss(zs, zt, memory, tau_s, tau_t):
    """-1/B sum_i sum_k p_t[i,k] log p_s[i,k], one scalar at a time."""
    zs, zt, memory = zs.double(), zt.double(), memory.double()
    total = 0.
    for i in range(len(zs)):
        ls = [float(zs[i] @ key) / tau_s for key in memory]
        lt = [float(zt[i] @ key) / tau_t for key in memory]
        ms, mt = max(ls), max(lt)
        log_norm_s = ms + math.log(sum(math.exp(v - ms) for v in ls))
        weights = [math.exp(v - mt) for v in lt]
        for w, v in zip(weights, ls):
            total -= w / sum(weights) * (v - log_norm_s)
    return total / len(zs)


def unit64(x):
    x = x.double().flatten(1)
    return x / x.norm(dim=1, keepdim=True)


def dist64(x):
    return (x[:, None, :] - x[None, :, :]).norm(dim=2)


def brute_triplets(dist, labels, margin):
    """Every semi-hard (a, p, n) by materialising the B x B x B cube."""
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(len(labels), dtype=torch.bool)
    gap = dist[:, None, :] - dist[:, :, None]  # gap[a, p, n]
    cube = pos[:, :, None] & ~same[:, None, :] & (gap > 0) & (gap <= margin)
    return sorted(map(tuple, cube.nonzero().tolist()))


def reference_tuple_loss(s, t, labels, mode, tau=4.0, margin=0.2, w=1000.):
    s64, t64 = unit64(s), unit64(t.detach())
    ds, dt = dist64(s64), dist64(t64)
    groups = {}
    for a, p, n in brute_triplets(ds.detach(), labels, margin):
        groups.setdefault((a, p), []).append(n)
    tuples = sorted(groups.items())
    if mode == 'min':
        k = min(len(negs) for _, negs in tuples)
        tuples = [(ap, sorted(negs)[:k]) for ap, negs in tuples]
    elif mode == 'triplet':
        tuples = [(ap, [n]) for ap, negs in tuples for n in negs]
    kls = []
    for (a, p), negs in tuples:
        cols = [p] + negs
        q_t = torch.softmax(-dt[a, cols] / tau, 0)
        log_q_s = torch.log_softmax(-ds[a, cols] / tau, 0)
        kls.append((q_t * (q_t.log() - log_q_s)).sum())
    return w * torch.stack(kls).mean(), len(tuples)


def reference_classifier_loss(z, feats, labels, centers, tau, student_tau,
                              weighted, logits_t, w=100.):
    present = sorted(set(labels.tolist()))
    feats, z = feats.double(), z.double()
    total = []
    if weighted:
        u = -torch.log(torch.softmax(logits_t.double(), 1).max(1).values)
        u = (u - u.min()) / (u.max() - u.min())
        weights = 2 * torch.sigmoid(-u)
    for i in range(len(labels)):
        p_t = torch.softmax(
            torch.stack([feats[i] @ centers[k] for k in present]) / tau, 0)
        s_logits = z[i, present] / (tau if student_tau else 1.0)
        log_p_s = torch.log_softmax(s_logits, 0)
        kl = (p_t * (p_t.log() - log_p_s)).sum()
        total.append(kl * (weights[i] if weighted else 1.0))
    return w * torch.stack(total).mean()

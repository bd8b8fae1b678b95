"""Relation maths shared by the relational losses.

Every relational loss in relkd_mm compares *relations* between samples (or
classes) rather than the samples' outputs themselves. The three building
blocks live here, once:

* :func:`pairwise_distances` -- Euclidean distances between rows (REFILLED's
  tuple levels and mining).
* :func:`edge_discrepancy` -- ``||e^S_ab - e^T_ab||^2`` between the unit
  difference vectors ("edges") of two graphs over the same vertices, from
  Gram matrices, without materialising the ``N x N x D`` edge tensors (VRM).
* :func:`similarity_logits`, :func:`soft_cross_entropy` and
  :func:`kl_divergence` -- similarity distributions and their divergences,
  with an optional mask of valid entries (RRD, REFILLED).

The precision policy of every relational loss is here too, once:
:func:`full_precision`, which these functions and the losses' entry points
(``forward``, ``agreement`` and the relations they expose) share.
"""
import functools

import torch
import torch.nn.functional as F


def compute_dtype(*tensors):
    """The dtype a relation is computed in: float32, or float64 when a
    floating-point input is float64; never half precision."""
    dtype = torch.float32
    for x in tensors:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            dtype = torch.promote_types(dtype, x.dtype)
    return dtype


def full_precision(fn):
    """The relational losses' one precision policy: run ``fn`` with autocast
    disabled (on the device of its first tensor argument) and its
    floating-point tensor arguments cast to their :func:`compute_dtype`.

    Under AMP a relation is then never evaluated in fp16/bf16: autocast
    would run the matrix products in half precision even on fp32 inputs,
    and the sharp softmaxes and the Gram-form cancellations need fp32.
    float64 inputs (the tests' references) stay float64, and a float32
    buffer (RRD's memory, REFILLED's centers) meets them in float64. Integer
    tensors (labels, indices) and masks pass unchanged; on fp32 inputs the
    casts are no-ops, so fp32 numerics are those of ``fn`` itself.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        tensors = [x for x in (*args, *kwargs.values())
                   if isinstance(x, torch.Tensor)]
        if not tensors:
            return fn(*args, **kwargs)
        dtype = compute_dtype(*tensors)

        def cast(x):
            if isinstance(x, torch.Tensor) and x.is_floating_point():
                return x.to(dtype)
            return x

        with torch.autocast(tensors[0].device.type, enabled=False):
            return fn(*map(cast, args),
                      **{k: cast(v) for k, v in kwargs.items()})

    return wrapper


@full_precision
def pairwise_distances(x, y=None, squared=False, eps=1e-12):
    """Euclidean distances between the rows of ``x`` and the rows of ``y``.

    Computed as ``||x||^2 + ||y||^2 - 2 x y^T`` (one matrix product, no
    ``N x M x D`` tensor), clamped at zero against round-off.

    Args:
        x (Tensor): ``(N, D)``.
        y (Tensor, optional): ``(M, D)``; ``x`` when omitted (then the
            diagonal is exactly zero).
        squared (bool): Return squared distances.
        eps (float): The square root is taken of ``max(d^2, eps)`` so that
            its gradient stays finite for identical rows.

    Returns:
        Tensor: ``(N, M)`` distances, in :func:`compute_dtype`.
    """
    same = y is None
    if same:
        y = x
    sq = (x.pow(2).sum(1, keepdim=True) + y.pow(2).sum(1).unsqueeze(0) -
          2.0 * x @ y.t()).clamp_min(0)
    if same:
        sq = sq - torch.diag_embed(torch.diagonal(sq))
    if squared:
        return sq
    dist = sq.clamp_min(eps).sqrt()
    if same:
        dist = dist * (1 - torch.eye(len(x), device=x.device, dtype=x.dtype))
    return dist


@full_precision
def edge_discrepancy(vs, vt, eps=1e-8):
    """Per-edge discrepancy of two graphs over the same ``N`` vertices.

    The edge from vertex ``a`` to ``b`` is the unit difference vector
    ``e_ab = (v_a - v_b) / max(||v_a - v_b||, eps)``; the discrepancy is
    ``d_ab = ||e^S_ab - e^T_ab||^2``. Expanding the square,

    ``d_ab = |dS_ab|^2/nS_ab^2 + |dT_ab|^2/nT_ab^2 - 2 <dS_ab, dT_ab>/(nS nT)``

    with ``dS_ab = s_a - s_b`` and ``nS_ab = max(|dS_ab|, eps)``, and every
    inner product comes from the Gram matrices ``S S^T``, ``T T^T`` and
    ``S T^T``. Memory is ``O(N^2)`` instead of the ``O(N^2 D)`` of the edge
    tensors. A zero-length edge (identical vertices, and every diagonal
    entry) has a zero edge vector, as its clamped normalisation gives, and
    finite gradients, never NaN. The cross term is bounded by Cauchy-Schwarz,
    so that ``0 <= d_ab <= 4`` even where the Gram form's round-off exceeds
    a nearly-zero edge's length.

    Each graph's vertices are centered first: differences do not change,
    and the Gram form no longer loses precision to a large component that
    all vertices share (e.g. a common logit offset).

    Args:
        vs (Tensor): ``(N, D)`` vertices of the first (student) graph.
        vt (Tensor): ``(N, D)`` vertices of the second (teacher) graph.
        eps (float): Lower bound of an edge's length.

    Returns:
        Tensor: ``(N, N)`` symmetric matrix of ``d_ab``, zero diagonal, in
        :func:`compute_dtype`.
    """
    vs = vs - vs.mean(0, keepdim=True)
    vt = vt - vt.mean(0, keepdim=True)
    gss, gtt, gst = vs @ vs.t(), vt @ vt.t(), vs @ vt.t()
    ds, dt, dst = (torch.diagonal(g) for g in (gss, gtt, gst))
    len2_s = (ds[:, None] + ds[None, :] - 2 * gss).clamp_min(0)
    len2_t = (dt[:, None] + dt[None, :] - 2 * gtt).clamp_min(0)
    inner = dst[:, None] + dst[None, :] - gst - gst.t()
    # max(sqrt(x), eps) as sqrt(max(x, eps^2)): the derivative of the
    # square root is never taken at zero (0 * inf = NaN).
    norm_s = len2_s.clamp_min(eps * eps).sqrt()
    norm_t = len2_t.clamp_min(eps * eps).sqrt()
    sq_s, sq_t = len2_s / norm_s.pow(2), len2_t / norm_t.pow(2)
    # |<e_S, e_T>| <= |e_S| |e_T| (Cauchy-Schwarz) holds exactly, but not
    # for Gram-form round-off when an edge is nearly zero: bound it, so that
    # 0 <= d <= 4 always. A clamped term is round-off (or the minimum
    # e_S = e_T): it passes no gradient, and none reaches sqrt at 0.
    bound = (sq_s * sq_t).detach().sqrt()
    cross = torch.maximum(
        torch.minimum(inner / (norm_s * norm_t), bound), -bound)
    return (sq_s + sq_t - 2 * cross).clamp_min(0)


@full_precision
def similarity_logits(query, keys, tau):
    """``query keys^T / tau``: the logits of a similarity distribution.

    Args:
        query (Tensor): ``(N, D)``.
        keys (Tensor): ``(K, D)``.
        tau (float): Temperature.

    Returns:
        Tensor: ``(N, K)``, in :func:`compute_dtype`.
    """
    return query @ keys.t() / tau


def _masked(logits, mask):
    if mask is None:
        return logits
    return logits.masked_fill(~mask, float('-inf'))


def _log_softmax(logits, mask):
    """Log-probabilities over the valid entries, and 0 (not -inf) at masked
    ones: ``0 * -inf`` would be NaN in the value and in the gradient."""
    log_p = F.log_softmax(_masked(logits, mask), dim=1)
    return log_p if mask is None else log_p.masked_fill(~mask, 0.)


@full_precision
def soft_cross_entropy(target_logits, pred_logits, mask=None):
    """Row-wise ``-sum_k p_k log q_k`` with ``p = softmax(target_logits)``,
    ``q = softmax(pred_logits)``, over the entries where ``mask`` is True.

    Args:
        target_logits (Tensor): ``(N, K)`` logits of the target ``p``.
        pred_logits (Tensor): ``(N, K)`` logits of the prediction ``q``.
        mask (BoolTensor, optional): ``(N, K)`` valid entries; each row
            needs at least one.

    Returns:
        Tensor: ``(N,)``, in :func:`compute_dtype`.
    """
    p = F.softmax(_masked(target_logits, mask), dim=1)
    return -(p * _log_softmax(pred_logits, mask)).sum(1)


@full_precision
def kl_divergence(target_logits, pred_logits, mask=None):
    """Row-wise ``KL(p || q) = sum_k p_k (log p_k - log q_k)``, arguments as
    in :func:`soft_cross_entropy`.

    Returns:
        Tensor: ``(N,)``, in :func:`compute_dtype`.
    """
    p = F.softmax(_masked(target_logits, mask), dim=1)
    log_p = _log_softmax(target_logits, mask)
    return (p * (log_p - _log_softmax(pred_logits, mask))).sum(1)

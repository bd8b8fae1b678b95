"""REFILLED stage 1: relationship matching on semi-hard tuples."""
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS

from ..interfaces import RelationalLoss
from .relation import full_precision, kl_divergence, pairwise_distances

TUPLE_MODES = ('pad', 'min', 'triplet')


def mine_semihard_tuples(dist, labels, margin):
    """Semi-hard tuples ``(a, p, n_1 .. n_K)`` of one batch, in ``B x B``.

    A triplet ``(a, p, n)`` is semi-hard when ``y_a == y_p``, ``a != p``,
    ``y_n != y_a`` and ``d(a, p) < d(a, n) <= d(a, p) + margin``. Sorting
    each anchor's negative distances once makes the negatives of every
    ``(a, p)`` pair a contiguous range of that order, found with two
    ``searchsorted`` calls. Nothing of size ``B^3`` is built: the work is
    ``O(B^2 log B)`` for the sort and the search plus ``O(P K)`` for the
    gathered output (``P`` tuples, ``K`` the largest group).

    Args:
        dist (Tensor): ``(B, B)`` distances, not differentiated through.
        labels (Tensor): ``(B,)`` integer labels.
        margin (float): Semi-hard margin.

    Returns:
        tuple[Tensor] | None: ``None`` when no triplet exists; otherwise
        ``anchors (P,)``, ``positives (P,)``, ``negatives (P, K)`` and
        ``valid (P, K)`` (bool) with ``K`` the largest group. Tuples come in
        lexicographic ``(a, p)`` order; inside a tuple, valid negatives are
        sorted by increasing distance to the anchor and come first.
    """
    batch = len(labels)
    same = labels[:, None] == labels[None, :]
    neg_dist, order = dist.masked_fill(same, float('inf')).sort(dim=1)
    first = torch.searchsorted(neg_dist, dist, right=True)
    stop = torch.searchsorted(neg_dist, dist + margin, right=True)
    counts = (stop - first).masked_fill_(~same, 0).fill_diagonal_(0)
    anchors, positives = (counts > 0).nonzero(as_tuple=True)
    if len(anchors) == 0:
        return None
    counts = counts[anchors, positives]
    width = int(counts.max())
    offsets = torch.arange(width, device=dist.device)
    valid = offsets < counts[:, None]
    cols = (first[anchors, positives][:, None] + offsets).clamp_(max=batch - 1)
    negatives = order[anchors[:, None], cols]
    return anchors, positives, negatives, valid


@MODELS.register_module()
class RefilledTupleLoss(RelationalLoss):
    """REFILLED stage 1: match the teacher's comparison levels on tuples.

    Both embeddings are L2-normalised. Semi-hard tuples are mined on the
    student's embedding with the student task's labels (see
    :func:`mine_semihard_tuples`). For a tuple ``(a, p, n_1 .. n_K)``, the
    comparison levels are

    ``z = [-d(a, p), -d(a, n_1), ..., -d(a, n_K)] / tau``

    with ``d`` the Euclidean distance, and ``q = softmax(z)`` over the
    tuple's valid entries, on the teacher's embedding (``q_T``, no
    gradient, the same indices) and on the student's (``q_S``). The loss is

    ``loss_weight * mean_tuples KL(q_T || q_S)``.

    Student and teacher dimensions may differ: no student vector is ever
    compared with a teacher vector. A batch without any semi-hard triplet
    gives an exact zero that still has a graph to the student's features.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1000 (official
            code).
        tau (float): Temperature of the comparison levels. Defaults to 4.
        margin (float): Semi-hard margin on distances of normalised
            embeddings. Defaults to 0.2.
        tuple_mode (str): How mined triplets form tuples.
            ``'pad'`` (2021 REFILLED code): one tuple per ``(a, p)`` pair with
            all its negatives, masked to the largest group.
            ``'min'`` (TPAMI GKD code): every group cut to the smallest group
            size, keeping each group's negatives in increasing batch-index
            order. ``'triplet'`` (CVPR code): every triplet is its own tuple.
            Defaults to ``'pad'``.
        eps (float): Lower bound of the norms in the L2 normalisation.
            Defaults to 1e-12.
    """

    #: Relates the samples of a batch to each other (tuples need >= 2):
    #: TrainCheckHook refuses batches of one sample.
    relates_batch_samples = True

    def __init__(self,
                 loss_weight=1000.0,
                 tau=4.0,
                 margin=0.2,
                 tuple_mode='pad',
                 eps=1e-12):
        super().__init__()
        if tuple_mode not in TUPLE_MODES:
            raise ValueError(f'RefilledTupleLoss: tuple_mode={tuple_mode!r} '
                             f'is not one of {TUPLE_MODES}.')
        if tau <= 0:
            raise ValueError(f'RefilledTupleLoss: tau={tau} must be > 0.')
        if margin <= 0:
            raise ValueError(
                f'RefilledTupleLoss: margin={margin} must be > 0.')
        self.loss_weight = loss_weight
        self.tau = tau
        self.margin = margin
        self.tuple_mode = tuple_mode
        self.eps = eps

    def tuples(self, dist, labels):
        """Mine tuples on ``dist`` (no gradient) and shape them as
        ``tuple_mode`` says.

        Returns:
            tuple[Tensor] | None: ``(anchors (P,), columns (P, 1 + K),
            valid (P, 1 + K))``: column 0 holds the positive.
        """
        mined = mine_semihard_tuples(dist, labels, self.margin)
        if mined is None:
            return None
        anchors, positives, negatives, valid = mined
        if self.tuple_mode == 'min':
            smallest = int(valid.sum(1).min())
            # Invalid slots sort last; the smallest indices are kept in
            # increasing order, as the GKD code's grouping of index-ordered
            # triplets does.
            negatives = negatives.masked_fill(~valid, len(labels))
            negatives = negatives.topk(smallest, dim=1, largest=False).values
            valid = valid[:, :smallest]
        elif self.tuple_mode == 'triplet':
            rows = valid.nonzero(as_tuple=True)[0]
            anchors, positives = anchors[rows], positives[rows]
            negatives = negatives[valid][:, None]
            valid = torch.ones_like(negatives, dtype=torch.bool)
        columns = torch.cat([positives[:, None], negatives], dim=1)
        valid = F.pad(valid, (1, 0), value=True)
        return anchors, columns, valid

    @full_precision
    def forward(self, preds_S, preds_T, gt_labels):
        """Compute the loss.

        Args:
            preds_S (Tensor): ``(B, D_S)`` or ``(B, D_S, 1, 1)`` raw pooled
                student features.
            preds_T (Tensor): ``(B, D_T)`` or ``(B, D_T, 1, 1)`` raw pooled
                teacher features.
            gt_labels (Tensor): ``(B,)`` integer labels of the student task.

        Returns:
            Tensor: Scalar loss, float32 (float64 for float64 inputs).
        """
        found = self.levels(preds_S, preds_T, gt_labels)
        if found is None:
            return preds_S.sum() * 0.0
        logits_s, logits_t, valid = found
        kl = kl_divergence(logits_t, logits_s, valid)
        return self.loss_weight * kl.mean()

    def levels(self, preds_S, preds_T, gt_labels):
        """The relations stage 1 matches: the comparison levels of the
        tuples mined on the student's embedding.

        Returns:
            tuple[Tensor] | None: ``logits_s`` (with gradient) and
            ``logits_t`` ``(P, 1 + K)`` (column 0: the positive) and
            ``valid`` ``(P, 1 + K)``; None when the batch has no semi-hard
            triplet. float32.
        """
        found = self.relations(preds_S, preds_T, gt_labels)
        if found['tuples'] is None:
            return None
        return found['logits_s'], found['logits_t'], found['tuples'][2]

    @full_precision
    def relations(self, preds_S, preds_T, gt_labels):
        """Everything :meth:`levels` is made of, for the loss and the
        visualiser: the distances between the L2-normalised embeddings,
        the mined tuples and their comparison levels.

        Returns:
            dict: ``dist_s`` (with gradient) and ``dist_t`` ``(B, B)``;
            ``tuples``, the ``(anchors, columns, valid)`` of :meth:`tuples`
            or None; ``logits_s = -dist_s[a, columns] / tau`` and
            ``logits_t`` likewise ``(P, 1 + K)``, or None. float32.
        """
        # Distances come from Gram matrices: fp16/bf16 products would ruin
        # the cancellation in |a|^2 + |b|^2 - 2 <a, b> (and the mining).
        feat_s = self._embed(preds_S, 'preds_S')
        feat_t = self._embed(preds_T, 'preds_T').detach()
        labels = self._labels(gt_labels, len(feat_s))
        if len(feat_t) != len(feat_s):
            raise ValueError(
                f'RefilledTupleLoss: preds_S has {len(feat_s)} samples '
                f'but preds_T has {len(feat_t)}.')
        dist_s = pairwise_distances(feat_s)
        with torch.no_grad():
            dist_t = pairwise_distances(feat_t)
            found = self.tuples(dist_s.detach(), labels)
        out = dict(dist_s=dist_s, dist_t=dist_t, tuples=found,
                   logits_s=None, logits_t=None)
        if found is None:
            return out
        anchors, columns, _ = found
        rows = anchors[:, None]
        out['logits_s'] = -dist_s[rows, columns] / self.tau
        out['logits_t'] = -dist_t[rows, columns] / self.tau
        return out

    @torch.no_grad()
    def agreement(self, preds_S, preds_T, gt_labels):
        """What stage 1 drives towards, for diagnostics: ``order``, the
        fraction of (anchor, positive, negative) comparisons of the mined
        tuples that the teacher orders as the student does (the positive
        nearer), and ``kl``, the mean ``KL(q_T || q_S)``; None without
        tuples."""
        found = self.levels(preds_S, preds_T, gt_labels)
        if found is None:
            return None
        logits_s, logits_t, valid = found
        neg = valid[:, 1:]
        same = (logits_s[:, :1] > logits_s[:, 1:]) == \
            (logits_t[:, :1] > logits_t[:, 1:])
        return dict(order=same[neg].float().mean(),
                    kl=kl_divergence(logits_t, logits_s, valid).mean())

    def _embed(self, feats, name):
        if feats.dim() == 4 and feats.shape[2:] == (1, 1):
            feats = feats.flatten(1)
        if feats.dim() != 2:
            raise ValueError(
                f'RefilledTupleLoss: {name} must be pooled features of shape '
                f'(B, D) or (B, D, 1, 1), got {tuple(feats.shape)}. Record '
                'the output of the neck (global average pooling).')
        return F.normalize(feats, dim=1, eps=self.eps)

    @staticmethod
    def _labels(gt_labels, batch):
        if gt_labels.dim() != 1 or gt_labels.is_floating_point():
            raise ValueError(
                'RefilledTupleLoss: gt_labels must be (B,) integer class '
                f'labels, got dtype {gt_labels.dtype} and shape '
                f'{tuple(gt_labels.shape)}. Soft targets (mixup, cutmix, '
                'label smoothing in the data pipeline) define no tuples: '
                'remove them from the stage-1 pipeline.')
        if len(gt_labels) != batch:
            raise ValueError(
                f'RefilledTupleLoss: {len(gt_labels)} labels for {batch} '
                'samples.')
        return gt_labels

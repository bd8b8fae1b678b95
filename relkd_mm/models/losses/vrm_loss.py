"""Virtual Relation Matching loss (Zhang et al., ICCV 2025)."""
import torch
import torch.nn.functional as F
from mmrazor.registry import MODELS

from ..interfaces import RelationalLoss
from .relation import edge_discrepancy, full_precision


def _entropy(logits, dim):
    log_p = F.log_softmax(logits, dim=dim)
    return -(log_p.exp() * log_p).sum(dim)


@MODELS.register_module()
class VRMLoss(RelationalLoss):
    r"""Virtual Relation Matching: match the inter-sample and inter-class
    edges of the student's logit graph to the teacher's, and prune the
    unreliable ones.

    ``preds_S`` and ``preds_T`` are the ``(2B, C)`` logits of a batch's real
    views (rows ``0 .. B-1``) followed by its virtual views (rows ``B ..
    2B-1``, same sample order), as :class:`VRMDistill` produces them. With
    ``zscore`` each row is first standardised, ``(z - mean) / (std + 1e-7)``
    (unbiased std over the classes). Then, for each network,

    * inter-sample graph: vertices are the ``2B`` rows ``V_a``, edges the unit
      vectors ``e_ab = (V_a - V_b) / max(||V_a - V_b||, eps)``;
    * inter-class graph: vertices are the ``C`` columns ``W_k`` (one class's
      scores over both views of the batch), edges
      ``e_kl = (W_k - W_l) / max(||W_k - W_l||, eps)``.

    Each edge's discrepancy is ``d_ab = ||e^S_ab - e^T_ab||^2`` (teacher
    detached), computed from Gram matrices by
    :func:`~relkd_mm.models.losses.relation.edge_discrepancy`, never from the
    ``(2B)^2 x C`` or ``C^2 x 2B`` edge tensors. The loss is

    .. math::

        L = w (w_{is} \mathrm{mean}_{(a,b) \in E_{is}} d_{ab}
             + w_{ic} \mathrm{mean}_{(k,l) \in E_{ic}} d_{kl})

    over the kept edges: ``a < b`` only, since ``e_ba = -e_ab`` carries the
    same discrepancy. Pruning detaches, in each graph, the
    ``floor(prune_ratio * num_edges)`` edges that the criterion ranks
    highest: they still count in the value, but pass no gradient.

    Args:
        loss_weight (float): Overall weight ``w``. Defaults to 1.0.
        is_weight (float): Weight ``w_is`` of the inter-sample term.
            Defaults to 1.0.
        ic_weight (float): Weight ``w_ic`` of the inter-class term.
            Defaults to 1.0.
        zscore (bool): Standardise each logit row first. Defaults to True.
        is_pairs (str): Inter-sample edges. ``'all'``: every pair ``a < b``
            of the ``2B`` vertices, ``B (2B - 1)`` edges (inter-sample and
            inter-view relations). ``'cross'``: only the real-to-virtual
            pairs ``(i, j~)`` for all ``i, j``, ``i = j`` included, ``B^2``
            edges. Defaults to ``'all'``.
        prune (str): Which edges to detach. ``'discrepancy'``: the largest
            ``d_ab``. ``'entropy'``: the largest joint entropy of the
            student's predictions at the endpoints, ``H(softmax(S_a)) +
            H(softmax(S_b))`` over the classes for inter-sample edges, and
            for inter-class edges the entropy of each class column's softmax
            over the ``2B`` rows; raw logits, not z-scored. ``'none'``: keep
            every gradient. Defaults to ``'discrepancy'``.
        prune_ratio (float): Fraction of each graph's edges to detach, in
            ``[0, 1)``. Defaults to 0.1.
        eps (float): Lower bound of an edge's length, so that identical
            vertices give a zero edge vector instead of NaN. An edge shorter
            than ``eps`` has a gradient of order ``1 / eps``: 1e-8 let rows
            that a student collapsed onto each other blow up training, so
            the default is 1e-2, far below the length of real edges between
            z-scored rows (of order 1 to ``sqrt(C)``) and near the fp32
            resolution of the Gram form. Defaults to 1e-2.
        zscore_eps (float): Added to the std in ``zscore``. Defaults to 1e-7.
    """

    #: Relates the samples of a batch to each other (graphs need >= 2):
    #: TrainCheckHook refuses batches of one sample.
    relates_batch_samples = True

    IS_PAIRS = ('all', 'cross')
    PRUNE = ('discrepancy', 'entropy', 'none')

    def __init__(self,
                 loss_weight=1.0,
                 is_weight=1.0,
                 ic_weight=1.0,
                 zscore=True,
                 is_pairs='all',
                 prune='discrepancy',
                 prune_ratio=0.1,
                 eps=1e-2,
                 zscore_eps=1e-7):
        super().__init__()
        if is_pairs not in self.IS_PAIRS:
            raise ValueError(f'VRMLoss: is_pairs={is_pairs!r} is not one of '
                             f'{self.IS_PAIRS}.')
        if prune not in self.PRUNE:
            raise ValueError(f'VRMLoss: prune={prune!r} is not one of '
                             f'{self.PRUNE}.')
        if not 0 <= prune_ratio < 1:
            raise ValueError(f'VRMLoss: prune_ratio={prune_ratio!r} must lie '
                             'in [0, 1).')
        if eps <= 0 or zscore_eps <= 0:
            raise ValueError(f'VRMLoss: eps={eps!r} and zscore_eps='
                             f'{zscore_eps!r} must be positive.')
        self.loss_weight = loss_weight
        self.is_weight = is_weight
        self.ic_weight = ic_weight
        self.zscore = zscore
        self.is_pairs = is_pairs
        self.prune = prune
        self.prune_ratio = prune_ratio
        self.eps = eps
        self.zscore_eps = zscore_eps

    def _check(self, preds_S, preds_T):
        if preds_S.dim() != 2 or preds_S.shape != preds_T.shape:
            raise ValueError(
                'VRMLoss expects student and teacher logits of the same shape '
                f'(2B, C); got {tuple(preds_S.shape)} and '
                f'{tuple(preds_T.shape)}.')
        rows, num_classes = preds_S.shape
        if rows % 2:
            raise ValueError(
                f'VRMLoss expects 2B logit rows (B real views, then their B '
                f'virtual views); got an odd number, {rows}. Is the train '
                'pipeline a MultiView with one real and one virtual view, and '
                'the algorithm VRMDistill?')
        if rows < 4:
            raise ValueError(
                f'VRMLoss needs at least 2 samples per batch (4 logit rows) '
                f'to relate samples; got {rows // 2} sample(s). Raise '
                'train_dataloader.batch_size or set drop_last=True so that a '
                'last batch of 1 is skipped.')
        if num_classes < 2:
            raise ValueError(
                f'VRMLoss needs at least 2 classes; got C={num_classes}.')

    def standardise(self, logits):
        """The graphs' vertices: each row z-scored, ``(z - mean) / (std +
        zscore_eps)`` (unbiased std), or ``logits`` as given without
        ``zscore``."""
        if not self.zscore:
            return logits
        mean = logits.mean(1, keepdim=True)
        std = logits.std(1, keepdim=True)
        return (logits - mean) / (std + self.zscore_eps)

    def pruned(self, values, score):
        """Which of a graph's kept edges pruning detaches: the top
        ``floor(prune_ratio * num_edges)`` of ``score`` (of ``values``, the
        edges' discrepancies, with ``prune='discrepancy'``).

        Args:
            values (Tensor): ``(E,)`` discrepancies of the kept edges.
            score (Tensor | None): ``(E,)`` the ``'entropy'`` criterion,
                as :meth:`edges` gives it.

        Returns:
            BoolTensor | None: ``(E,)`` mask of the detached edges, or None
            when none is (``prune='none'`` or too few edges): no mask to
            build or apply in the training step.
        """
        num_pruned = int(self.prune_ratio * values.numel())
        if self.prune == 'none' or num_pruned == 0:
            return None
        if self.prune == 'discrepancy':
            score = values.detach()
        top = score.topk(num_pruned, sorted=False).indices
        pruned = torch.zeros_like(values, dtype=torch.bool)
        pruned[top] = True
        return pruned

    def _graph_term(self, disc, rows, cols, score):
        """Mean discrepancy of the edges ``(rows[i], cols[i])``, the
        :meth:`pruned` ones detached."""
        values = disc[rows, cols]
        pruned = self.pruned(values, score)
        if pruned is None:
            return values.mean()
        return torch.where(pruned, values.detach(), values).mean()

    @full_precision
    def edges(self, preds_S, preds_T, is_pairs=None):
        """The two graphs' per-edge discrepancies: the relations the loss
        matches, computed once here for the loss, the visualiser, the
        diagnostics and the benchmarks (:meth:`pruned` says which edges
        pruning detaches).

        Args:
            preds_S (Tensor): ``(N, C)`` student logits (``N = 2B`` in
                training: real rows first).
            preds_T (Tensor): ``(N, C)`` teacher logits, same layout.
            is_pairs (str, optional): Overrides ``self.is_pairs`` (e.g.
                ``'all'`` on single-view validation batches).

        Returns:
            dict: ``is_disc`` ``(N, N)`` and ``ic_disc`` ``(C, C)``
            discrepancy matrices, the kept edges ``is_edges`` and
            ``ic_edges`` (pairs of index tensors) and, for
            ``prune='entropy'``, their scores ``is_score``/``ic_score``
            (else None). float32, or float64 for float64 inputs.
        """
        is_pairs = is_pairs or self.is_pairs
        # Gram-form cancellation and z-scoring need fp32 even under AMP
        # (full_precision).
        vs = self.standardise(preds_S)
        vt = self.standardise(preds_T.detach())
        rows, num_classes = vs.shape
        device = vs.device
        if is_pairs == 'all':
            ia, ib = torch.triu_indices(rows, rows, 1, device=device)
        else:
            batch = rows // 2
            grid = torch.arange(batch, device=device)
            ia = grid.repeat_interleave(batch)
            ib = grid.repeat(batch) + batch
        ka, kb = torch.triu_indices(
            num_classes, num_classes, 1, device=device)
        out = dict(
            is_disc=edge_discrepancy(vs, vt, self.eps),
            ic_disc=edge_discrepancy(vs.t(), vt.t(), self.eps),
            is_edges=(ia, ib), ic_edges=(ka, kb), is_score=None,
            ic_score=None)
        if self.prune == 'entropy':
            with torch.no_grad():
                ent_rows = _entropy(preds_S, dim=1)
                ent_cols = _entropy(preds_S, dim=0)
            out['is_score'] = ent_rows[ia] + ent_rows[ib]
            out['ic_score'] = ent_cols[ka] + ent_cols[kb]
        return out

    @torch.no_grad()
    @full_precision
    def agreement(self, preds_S, preds_T):
        """What the loss drives down, for diagnostics: the mean edge
        discrepancy of each graph over all its edges (no pruning; every
        pair of rows, so single-view validation batches work too)."""
        edges = self.edges(preds_S, preds_T, is_pairs='all')
        ia, ib = edges['is_edges']
        ka, kb = edges['ic_edges']
        return dict(is_discrepancy=edges['is_disc'][ia, ib].mean(),
                    ic_discrepancy=edges['ic_disc'][ka, kb].mean())

    @full_precision
    def forward(self, preds_S, preds_T):
        """Compute the loss.

        Args:
            preds_S (Tensor): ``(2B, C)`` student logits, real rows first.
            preds_T (Tensor): ``(2B, C)`` teacher logits, same layout.

        Returns:
            Tensor: Scalar loss, float32 (float64 for float64 inputs).
        """
        self._check(preds_S, preds_T)
        edges = self.edges(preds_S, preds_T)
        loss_is = self._graph_term(edges['is_disc'], *edges['is_edges'],
                                   edges['is_score'])
        loss_ic = self._graph_term(edges['ic_disc'], *edges['ic_edges'],
                                   edges['ic_score'])
        loss = self.is_weight * loss_is + self.ic_weight * loss_ic
        return self.loss_weight * loss

"""REFILLED stage 2: the teacher's embedding-induced classifier."""
import math

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from mmrazor.registry import MODELS

from ..interfaces import RelationalLoss
from .relation import full_precision, kl_divergence, similarity_logits

CENTER_MODES = ('global', 'batch')


@MODELS.register_module()
class RefilledClassifierLoss(RelationalLoss):
    """REFILLED stage 2: distil the classifier induced by teacher centers.

    The classes present in the batch, ``C_b`` (ascending), are the columns.
    With ``f_T(x_i)`` the raw teacher feature and ``c_k`` the unit class
    center of class ``k`` in the student's label space,

    ``p_T,i = softmax_{k in C_b}(f_T(x_i) . c_k / tau)``
    ``p_S,i = softmax_{k in C_b}(s_i,k / tau)`` (``s_i,k`` without the
    division when ``student_tau=False``)

    ``loss = lambda * mean_i w_i KL(p_T,i || p_S,i)``, without a
    ``tau^2`` factor. ``w_i = 1`` unless ``weighted``: then
    ``u_i = -log max_c softmax(teacher_logits_i)`` (the teacher's own head,
    in its own label space), min-max scaled over the batch to ``[0, 1]``,
    and ``w_i = 2 sigmoid(-u_i)``. The student's cross-entropy is not part
    of this loss: it is the student head's own loss.

    Args:
        num_classes (int): Classes of the student task.
        feat_dim (int): Dimension of the teacher's pooled feature.
        loss_weight (float): ``lambda`` (at epoch 0, see ``epoch_decay``).
            Defaults to 100 (2021 code).
        tau (float): Temperature ``tau2``. Defaults to 2 (2021 code).
        student_tau (bool): Divide the student's logits by ``tau`` too
            (2021 code). The TPAMI code does not. Defaults to True.
        center_mode (str): ``'global'``: centers over the whole training
            set, held in the buffer ``centers`` ``(num_classes, feat_dim)``
            that :class:`~relkd_mm.engine.hooks.RefilledCentersHook` fills
            before training (2021 and TPAMI code). ``'batch'``: centers of
            the current batch (CVPR code). Defaults to ``'global'``.
        weighted (bool): Adaptive per-sample emphasis from the teacher's
            confidence (TPAMI ``wgkd``); ``forward`` then needs ``logits_T``.
            Defaults to False.
        epoch_decay (float): The weight is ``loss_weight * exp(-epoch_decay *
            epoch)``, with the epoch (from 0) read from MMEngine's message
            hub (CVPR code: 1000 and 0.05). Defaults to 0 (constant).
        eps (float): Lower bound of the norms in the L2 normalisation of the
            centers and of the spread of ``u``. Defaults to 1e-12.
    """

    #: LossBalanceHook's bound for this term's gradient, as a multiple of
    #: the CE's: stage 2 trains the student's classifier towards the
    #: teacher's induced one, the CE only helps, so the term leads by design
    #: (on Fashion-MNIST: 6-8x at the preset's weight 10, chosen on
    #: validation; 16-25x at the 2021 settings' 100). Beyond 30x it drowns
    #: even that.
    balance_high = 30.0

    def __init__(self,
                 num_classes,
                 feat_dim,
                 loss_weight=100.0,
                 tau=2.0,
                 student_tau=True,
                 center_mode=None,
                 weighted=False,
                 epoch_decay=0.0,
                 eps=1e-12):
        super().__init__()
        center_mode = center_mode or 'global'
        if center_mode not in CENTER_MODES:
            raise ValueError(
                f'RefilledClassifierLoss: center_mode={center_mode!r} is not '
                f'one of {CENTER_MODES}.')
        if tau <= 0:
            raise ValueError(f'RefilledClassifierLoss: tau={tau} must be > 0.')
        self.num_classes = int(num_classes)
        self.feat_dim = int(feat_dim)
        self.loss_weight = loss_weight
        self.tau = tau
        self.student_tau = student_tau
        self.center_mode = center_mode
        self.weighted = weighted
        self.epoch_decay = epoch_decay
        self.eps = eps
        if center_mode == 'global':
            self.register_buffer(
                'centers', torch.zeros(self.num_classes, self.feat_dim))
            self.register_buffer('centers_ready', torch.tensor(False))
            self._ready_checked = False

    def set_centers(self, centers):
        """Store unit class centers ``(num_classes, feat_dim)`` and mark
        them ready."""
        if tuple(centers.shape) != tuple(self.centers.shape):
            raise ValueError(
                'RefilledClassifierLoss: centers of shape '
                f'{tuple(centers.shape)} for num_classes={self.num_classes}, '
                f'feat_dim={self.feat_dim}.')
        self.centers.copy_(centers)
        self.centers_ready.fill_(True)

    @full_precision
    def forward(self, preds_S, feats_T, gt_labels, logits_T=None):
        """Compute the loss.

        Args:
            preds_S (Tensor): ``(B, num_classes)`` student logits.
            feats_T (Tensor): ``(B, feat_dim)`` or ``(B, feat_dim, 1, 1)``
                raw teacher features.
            gt_labels (Tensor): ``(B,)`` integer labels of the student task.
            logits_T (Tensor, optional): ``(B, C_T)`` the teacher head's
                logits, required when ``weighted``.

        Returns:
            Tensor: Scalar loss, float32 (float64 for float64 inputs).
        """
        self._check_inputs(preds_S, feats_T, gt_labels, logits_T)
        logits_t, mask = self.induced_logits(feats_T, gt_labels)
        kl = kl_divergence(logits_t, self.student_logits(preds_S), mask)
        if self.weighted:
            kl = kl * self.sample_weights(logits_T)
        return self.current_weight() * kl.mean()

    @full_precision
    def induced_logits(self, feats_T, gt_labels, center_mode=None):
        """The teacher's embedding-induced classifier, the target of stage
        2: ``f_T(x_i) . c_k / tau`` for every class of the student task,
        and the mask of the classes present in the batch (its columns).

        Args:
            center_mode (str, optional): Overrides ``self.center_mode``
                (see :meth:`class_centers`).

        Returns:
            tuple[Tensor]: ``(B, num_classes)`` logits (float32) and mask.
        """
        feats = self._flat(feats_T)
        present = torch.zeros(
            self.num_classes, dtype=torch.bool, device=feats.device)
        present[gt_labels] = True
        centers = self.class_centers(feats, gt_labels, center_mode)
        logits = similarity_logits(feats, centers, self.tau)
        return logits, present.expand(len(feats), -1)

    @full_precision
    def class_centers(self, feats_T, gt_labels, center_mode=None):
        """The induced classifier's weights ``c_k``, ``(num_classes,
        feat_dim)``: the global centers (:meth:`set_centers`), or with
        ``'batch'`` the L2-normalised sum of the batch's teacher features of
        each class (zero rows for the absent classes). ``center_mode``
        overrides ``self.center_mode``, e.g. for the visualiser on a
        checkpoint whose global centers were never computed."""
        if (center_mode or self.center_mode) == 'batch':
            feats = self._flat(feats_T)
            sums = F.one_hot(gt_labels, self.num_classes).to(feats).t() @ feats
            return F.normalize(sums, dim=1, eps=self.eps)
        return self._global_centers()

    @staticmethod
    def _flat(feats_T):
        feats = feats_T.detach()
        if feats.dim() == 4 and feats.shape[2:] == (1, 1):
            feats = feats.flatten(1)
        return feats

    @full_precision
    def student_logits(self, preds_S):
        return preds_S / self.tau if self.student_tau else preds_S

    @torch.no_grad()
    @full_precision
    def agreement(self, preds_S, feats_T, gt_labels, logits_T=None):
        """What stage 2 drives towards, for diagnostics: ``kl``, the mean
        ``KL(p_T || p_S)`` over the batch's classes; ``match``, how often
        the student's and the induced classifier's top classes agree; and
        ``induced_acc``, the induced classifier's own accuracy."""
        self._check_inputs(preds_S, feats_T, gt_labels, logits_T)
        logits_t, mask = self.induced_logits(feats_T, gt_labels)
        logits_s = self.student_logits(preds_S)
        top_t = logits_t.masked_fill(~mask, float('-inf')).argmax(1)
        top_s = logits_s.masked_fill(~mask, float('-inf')).argmax(1)
        return dict(
            kl=kl_divergence(logits_t, logits_s, mask).mean(),
            match=(top_t == top_s).float().mean(),
            induced_acc=(top_t == gt_labels).float().mean())

    def current_weight(self):
        """``loss_weight``, decayed by ``exp(-epoch_decay)`` per epoch."""
        if not self.epoch_decay:
            return self.loss_weight
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        return self.loss_weight * math.exp(-self.epoch_decay * epoch)

    @full_precision
    def sample_weights(self, logits_T):
        """``w_i = 2 sigmoid(-u_i)`` with ``u_i = -log max_c p_T,c``
        min-max scaled over the batch (all ``w_i = 1`` when every ``u_i`` is
        equal)."""
        with torch.no_grad():
            u = -F.log_softmax(logits_T, dim=1).amax(dim=1)
            u = (u - u.min()) / (u.max() - u.min()).clamp_min(self.eps)
            return 2 * torch.sigmoid(-u)

    def _global_centers(self):
        if not self._ready_checked:
            if not bool(self.centers_ready):
                raise RuntimeError(
                    'RefilledClassifierLoss: the global class centers are '
                    'not computed. Add `dict(type=\'RefilledCentersHook\')` '
                    "to the config's custom_hooks (or use "
                    "center_mode='batch').")
            self._ready_checked = True
        return self.centers

    def _check_inputs(self, preds_S, feats_T, gt_labels, logits_T):
        if feats_T.dim() == 4 and feats_T.shape[2:] == (1, 1):
            feats_T = feats_T.flatten(1)
        batch = len(preds_S)
        if preds_S.shape != (batch, self.num_classes):
            raise ValueError(
                f'RefilledClassifierLoss: preds_S has shape '
                f'{tuple(preds_S.shape)}, expected ({batch}, num_classes='
                f'{self.num_classes}): record the student head\'s logits.')
        if feats_T.shape != (batch, self.feat_dim):
            raise ValueError(
                f'RefilledClassifierLoss: feats_T has shape '
                f'{tuple(feats_T.shape)}, expected ({batch}, feat_dim='
                f'{self.feat_dim}): record the teacher\'s pooled feature and '
                'set feat_dim to its dimension.')
        if gt_labels.shape != (batch, ) or gt_labels.is_floating_point():
            raise ValueError(
                'RefilledClassifierLoss: gt_labels must be (B,) integer '
                f'labels, got dtype {gt_labels.dtype} and shape '
                f'{tuple(gt_labels.shape)}. Soft targets (mixup, cutmix) are '
                'not supported.')
        in_range = ((gt_labels >= 0) & (gt_labels < self.num_classes)).all()
        fix = 'set num_classes to the student task\'s class count.'
        if gt_labels.is_cuda:
            # No host sync per step on a GPU (TrainCheckHook has checked the
            # dataset's labels against the head before training).
            torch._assert_async(
                in_range, f'RefilledClassifierLoss: a label is outside '
                f'0..{self.num_classes - 1}: {fix}')
        elif not in_range:
            low, high = torch.stack(gt_labels.aminmax()).tolist()
            raise ValueError(
                f'RefilledClassifierLoss: labels in [{low}, {high}] for '
                f'num_classes={self.num_classes}: {fix}')
        if self.weighted and (logits_T is None or len(logits_T) != batch):
            raise ValueError(
                'RefilledClassifierLoss: weighted=True needs logits_T, the '
                f'teacher head\'s ({batch}, C_T) logits; got '
                f'{None if logits_T is None else tuple(logits_T.shape)}.')

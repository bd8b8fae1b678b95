"""RRD: Relational Representation Distillation (arXiv 2407.12073)."""
import torch
import torch.nn.functional as F
from mmengine import dist
from mmrazor.registry import MODELS

from ..interfaces import RelationalLoss
from .relation import (full_precision, kl_divergence, similarity_logits,
                       soft_cross_entropy)

#: The two published versions of RRD. ``'2024'`` is the code of July to
#: November 2024 that produced the paper's tables; ``'2025'`` the code from
#: February 2025.
RRD_PRESETS = {
    '2024': dict(tau_s=0.04, tau_t=0.1, enqueue_first=False),
    '2025': dict(tau_s=0.1, tau_t=0.02, enqueue_first=True),
}


def _physical_memory():
    """The machine's physical memory in bytes, or None if unknown."""
    import os
    try:
        return os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    except (AttributeError, ValueError, OSError):
        return None


def _memory(queue_size, embed_dim):
    """The memory of ``queue_size`` random unit rows, or a ValueError
    naming ``queue_size`` and the bytes it needs where they can not be
    allocated (torch's "DefaultCPUAllocator: can't allocate" named no
    key). Refused before allocating when it exceeds the physical memory
    (``randn`` and ``normalize`` need twice the queue while it is made)."""
    need = 2 * queue_size * embed_dim * 4
    physical = _physical_memory()

    def error(reason):
        return ValueError(
            f'RRDLoss: queue_size={queue_size} x embed_dim={embed_dim} '
            f'float32 values need {need / 2 / 2**30:.2f} GiB (twice that '
            f'while the memory is made), {reason}. The paper uses '
            'queue_size=16384 (8 MiB with embed_dim=128); lower queue_size '
            '(model.distiller.distill_losses.<name>.queue_size).')

    if physical is not None and need > physical:
        raise error(f'more than this machine\'s {physical / 2**30:.1f} GiB')
    try:
        return F.normalize(torch.randn(queue_size, embed_dim), dim=1)
    except (RuntimeError, MemoryError) as exc:
        if 'alloc' not in str(exc).lower() and \
                not isinstance(exc, MemoryError):
            raise
        raise error('which could not be allocated') from None


@MODELS.register_module()
class RRDLoss(RelationalLoss):
    """Relational Representation Distillation loss.

    With ``z_s``, ``z_t`` the ``(B, embed_dim)`` L2-normalised student and
    teacher embeddings and ``Q`` the ``(queue_size, embed_dim)`` memory of
    past teacher embeddings (detached),

    ``p_t = softmax(z_t Q^T / tau_t)``,
    ``log p_s = log_softmax(z_s Q^T / tau_s)``,
    ``L = -loss_weight / B * sum_i sum_k p_t[i, k] log p_s[i, k]``.

    Only ``z_s`` receives a gradient. The memory is a FIFO: each step writes
    the batch's teacher embeddings at ``queue_ptr`` and advances it modulo
    ``queue_size``, wrapping around the end for any batch size.

    Multi-GPU: by default (``per_rank_memory=False``) the teacher embeddings
    of all ranks are all-gathered in rank order before the write, so every
    rank holds the same memory (the MoCo/ReSSL convention). Then the memory
    does not depend on how a global batch is split across GPUs, and the
    checkpoint, written by rank 0, holds the memory of every rank, so
    ``--resume`` restores it exactly. ``per_rank_memory=True`` keeps one
    memory per rank fed by that rank's batches only, as the official code
    does; a checkpoint then holds rank 0's memory, which ``--resume`` loads
    on every rank. Either way keep DDP's ``broadcast_buffers=False``
    (MMEngine's default): broadcasting would overwrite every rank's memory
    with rank 0's each step.

    Presets: ``preset='2024'`` (default; ``tau_s=0.04, tau_t=0.1``, write
    after the loss, the published tables) or ``preset='2025'`` (``tau_s=0.1,
    tau_t=0.02``, write before the loss). ``tau_s``, ``tau_t`` and
    ``enqueue_first`` given explicitly override the preset's values.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        queue_size (int): Number of teacher embeddings in the memory.
            Defaults to 16384.
        embed_dim (int): Dimension of the embeddings. Defaults to 128.
        tau_s (float, optional): Student temperature. Defaults to the
            preset's (0.04 for ``'2024'``).
        tau_t (float, optional): Teacher temperature. Defaults to the
            preset's (0.1 for ``'2024'``).
        enqueue_first (bool, optional): Write the batch into the memory
            before computing the loss, so that each sample's own teacher
            embedding is among the keys (2025 code), instead of after it
            (2024 code: the memory holds past batches only). Defaults to the
            preset's (False for ``'2024'``).
        preset (str): ``'2024'`` or ``'2025'``, see above. Defaults to
            ``'2024'``.
        per_rank_memory (bool): Under distributed training keep one memory
            per rank instead of all-gathering the teacher embeddings.
            Defaults to False.
    """

    #: Relates each sample to a memory, not to the batch's other samples.
    relates_batch_samples = False

    def __init__(self,
                 loss_weight=1.0,
                 queue_size=16384,
                 embed_dim=128,
                 tau_s=None,
                 tau_t=None,
                 enqueue_first=None,
                 preset='2024',
                 per_rank_memory=False):
        super().__init__()
        # `--cfg-options ...preset=2025` parses the year as an int.
        if isinstance(preset, int) and not isinstance(preset, bool):
            preset = str(preset)
        if preset not in RRD_PRESETS:
            raise ValueError(f'RRDLoss: preset={preset!r} is unknown; use '
                             f'one of {sorted(RRD_PRESETS)}.')
        chosen = dict(RRD_PRESETS[preset])
        given = dict(tau_s=tau_s, tau_t=tau_t, enqueue_first=enqueue_first)
        chosen.update({k: v for k, v in given.items() if v is not None})
        for key, value in (('queue_size', queue_size),
                           ('embed_dim', embed_dim)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < 1:
                raise ValueError(
                    f'RRDLoss: {key}={value!r} must be a positive integer '
                    f'(written without an exponent: 1e4 is a float), e.g. '
                    f'{key}={16384 if key == "queue_size" else 128} (the '
                    'paper\'s).')
        for key in ('tau_s', 'tau_t'):
            if not chosen[key] > 0:
                raise ValueError(f'RRDLoss: {key}={chosen[key]!r} must be a '
                                 'positive temperature.')
        self.loss_weight = loss_weight
        self.queue_size = queue_size
        self.embed_dim = embed_dim
        self.tau_s = float(chosen['tau_s'])
        self.tau_t = float(chosen['tau_t'])
        self.enqueue_first = bool(chosen['enqueue_first'])
        self.preset = preset
        self.per_rank_memory = per_rank_memory
        self.register_buffer('queue', _memory(queue_size, embed_dim))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))

    def extra_repr(self):
        return (f'queue_size={self.queue_size}, embed_dim={self.embed_dim}, '
                f'tau_s={self.tau_s}, tau_t={self.tau_t}, '
                f'enqueue_first={self.enqueue_first}, '
                f'per_rank_memory={self.per_rank_memory}, '
                f'loss_weight={self.loss_weight}')

    @property
    def memory_size(self):
        """Rows of the memory (:class:`RelationalLoss`'s declaration)."""
        return self.queue_size

    def memory_rows_per_step(self, rows_per_rank, world_size):
        """Rows written into the memory per training step, for
        TrainCheckHook (which refuses a memory that a step would overwrite
        with its own writes): every rank's rows, all-gathered, or one
        rank's with ``per_rank_memory``."""
        return rows_per_rank * (1 if self.per_rank_memory else world_size)

    def _check(self, preds_S, preds_T):
        for name, x in (('preds_S', preds_S), ('preds_T', preds_T)):
            if x.dim() != 2 or x.size(1) != self.embed_dim:
                raise ValueError(
                    f'RRDLoss: {name} has shape {tuple(x.shape)}, expected '
                    f'(B, {self.embed_dim}); set embed_dim to the '
                    'connectors\' dim_out and record the pooled features.')
        if preds_S.shape != preds_T.shape:
            raise ValueError(
                f'RRDLoss: preds_S {tuple(preds_S.shape)} and preds_T '
                f'{tuple(preds_T.shape)} differ in batch size.')

    @full_precision
    def similarities(self, preds_S, preds_T):
        """The relations RRD matches: the student's and the teacher's
        similarity logits against the memory as it is now (the memory is
        not written).

        Returns:
            tuple[Tensor]: ``logits_s = z_s Q^T / tau_s`` and ``logits_t =
            z_t Q^T / tau_t``, each ``(B, queue_size)``, float32.
        """
        # A snapshot, because the matmul keeps it for the backward pass and
        # the memory is written in place before that pass may run (its
        # dtype is full_precision's business).
        memory = self.queue.clone()
        return (similarity_logits(preds_S, memory, self.tau_s),
                similarity_logits(preds_T.detach(), memory, self.tau_t))

    @torch.no_grad()
    @full_precision
    def agreement(self, preds_S, preds_T):
        """What the loss drives down, for diagnostics: the mean
        ``KL(p_t || p_s)`` of the similarity distributions over the memory
        (the loss minus the teacher's entropy); the memory is not
        written."""
        self._check(preds_S, preds_T)
        logits_s, logits_t = self.similarities(preds_S, preds_T)
        return dict(kl=kl_divergence(logits_t, logits_s).mean())

    @full_precision
    def forward(self, preds_S, preds_T):
        """Compute the loss, and write ``preds_T`` into the memory.

        Args:
            preds_S (Tensor): ``(B, embed_dim)`` student embeddings.
            preds_T (Tensor): ``(B, embed_dim)`` teacher embeddings.

        Returns:
            Tensor: Scalar loss.
        """
        self._check(preds_S, preds_T)
        keys = preds_T.detach()
        if self.enqueue_first:
            self._enqueue(keys)
        logits_s, logits_t = self.similarities(preds_S, keys)
        loss = soft_cross_entropy(logits_t, logits_s).mean()
        if not self.enqueue_first:
            self._enqueue(keys)
        return self.loss_weight * loss

    @torch.no_grad()
    def _gather(self, keys):
        """All ranks' ``keys``, concatenated in rank order; the batch sizes
        may differ between ranks (a sampler without padding)."""
        size = torch.tensor([keys.size(0)], device=keys.device)
        sizes = torch.cat(dist.all_gather(size)).tolist()
        longest = max(sizes)
        if longest != keys.size(0):
            keys = torch.cat(
                [keys, keys.new_zeros(longest - keys.size(0), keys.size(1))])
        parts = dist.all_gather(keys)
        return torch.cat([part[:n] for part, n in zip(parts, sizes)])

    @torch.no_grad()
    def _enqueue(self, keys):
        """Write ``keys`` at the pointer, wrapping around the end; of more
        than ``queue_size`` rows only the last ``queue_size`` survive, as a
        row-by-row write would leave them."""
        if not self.per_rank_memory and dist.get_world_size() > 1:
            keys = self._gather(keys)
        num = keys.size(0)
        size = self.queue_size
        start = self.queue_ptr + max(num - size, 0)
        keys = keys[-size:]
        index = (start + torch.arange(
            keys.size(0), device=self.queue.device)) % size
        # A non-finite teacher embedding would poison every later loss:
        # such rows keep their old value (no host sync, unlike a skip).
        keys = torch.where(
            torch.isfinite(keys).all(dim=1, keepdim=True), keys.to(
                self.queue), self.queue.index_select(0, index))
        self.queue.index_copy_(0, index, keys)
        self.queue_ptr.copy_((self.queue_ptr + num) % size)

"""Test helpers (imported by generated configs): every rank writes its
logged losses, since MMEngine logs rank 0's only; a sampler that orders a
single process's batch as DDP ranks split it."""
import json
import os.path as osp

from mmengine.dataset import DefaultSampler
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import DATA_SAMPLERS, HOOKS


@HOOKS.register_module()
class RankLossHook(Hook):
    """Append ``{iter, rank, losses, find_unused}`` to
    ``work_dir/rank_losses.jsonl``; ``find_unused``: the DDP wrapper's
    ``find_unused_parameters`` (None without DDP)."""

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        row = dict(iter=runner.iter, rank=get_rank(), losses={
            k: float(v) for k, v in (outputs or {}).items() if 'loss' in k
        }, find_unused=getattr(runner.model, 'find_unused_parameters', None))
        path = osp.join(runner.work_dir, f'rank_losses_{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(row) + '\n')


@DATA_SAMPLERS.register_module()
class RankOrderSampler(DefaultSampler):
    """One process's :class:`DefaultSampler` indices, each global batch
    reordered as ``ranks`` DDP processes would split it (rank 0's samples,
    then rank 1's, ...).

    The batch holds the same samples as the plain single-process run's, so
    a run with this sampler differs from that run only in the order of its
    float32 sums: the test's measure of summation-order noise."""

    def __init__(self, *args, ranks=2, batch_size=32, **kwargs):
        super().__init__(*args, **kwargs)
        self.ranks, self.batch_size = ranks, batch_size

    def __iter__(self):
        indices = list(super().__iter__())
        out = []
        for start in range(0, len(indices), self.batch_size):
            window = indices[start:start + self.batch_size]
            for rank in range(self.ranks):
                out += window[rank::self.ranks]
        return iter(out)

"""Test helper (imported by generated configs): every rank writes its
logged losses, since MMEngine logs rank 0's only."""
import json
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class RankLossHook(Hook):
    """Append ``{iter, rank, losses}`` to ``work_dir/rank_losses.jsonl``."""

    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        row = dict(iter=runner.iter, rank=get_rank(), losses={
            k: float(v) for k, v in (outputs or {}).items() if 'loss' in k
        })
        path = osp.join(runner.work_dir, f'rank_losses_{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(row) + '\n')

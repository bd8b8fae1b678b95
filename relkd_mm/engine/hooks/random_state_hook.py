"""Saves the random generators' states in checkpoints, restores them on
resume.

MMEngine seeds the generators once when a runner starts and never saves
them, so a resumed run draws different augmentations (and dropout masks)
from the run it continues: its losses drift from the uninterrupted run's.
Epoch-based checkpoints are written at the end of an epoch; restoring the
states saved there makes the next epoch draw exactly what the uninterrupted
run drew (the samplers are re-seeded per epoch by MMEngine already).
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmrazor.registry import HOOKS


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Keep Python's, NumPy's and PyTorch's (CPU and CUDA) random states in
    ``checkpoint['random_states']`` and restore them on resume.

    States are per process: under DDP each rank restores its own when the
    world size matches; otherwise the hook warns and keeps the fresh seeds
    (a resume on another number of processes cannot reproduce the draws).
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint):
        from mmengine.dist import get_rank, get_world_size
        states = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state(),
            world_size=get_world_size(),
            rank=get_rank())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            states['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['random_states'] = states

    def after_load_checkpoint(self, runner, checkpoint):
        from mmengine.dist import get_world_size
        states = checkpoint.get('random_states')
        if states is None:
            return
        if states.get('world_size') != get_world_size():
            runner.logger.warning(
                'RandomStateHook: the checkpoint was written by '
                f'{states.get("world_size")} process(es), this run has '
                f'{get_world_size()}: random states are not restored.')
            return
        random.setstate(states['python'])
        np.random.set_state(states['numpy'])
        torch.set_rng_state(states['torch'])
        if 'cuda' in states and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(states['cuda'])

"""DistillWarmupHook: a linear ramp of the distillation weights, computed
from the runner's iteration (so that a resumed run continues it)."""
from types import SimpleNamespace

import pytest
import torch.nn as nn

from relkd_mm.engine.hooks import DistillWarmupHook


class Loss(nn.Module):

    def __init__(self, weight):
        super().__init__()
        self.loss_weight = weight


def runner(iters_per_epoch=10):
    distiller = SimpleNamespace(distill_losses=nn.ModuleDict(
        dict(loss_vrm=Loss(2.0), loss_kd=Loss(1.0))))
    return SimpleNamespace(model=SimpleNamespace(distiller=distiller),
                           train_dataloader=[None] * iters_per_epoch, iter=0)


def weights(r):
    return {k: m.loss_weight for k, m in
            r.model.distiller.distill_losses.items()}


def test_linear_ramp_over_epochs_then_restored():
    r = runner()
    hook = DistillWarmupHook(warmup_epochs=2)  # 20 iterations
    hook.before_train(r)
    seen = []
    for it in range(25):
        r.iter = it
        hook.before_train_iter(r, it)
        seen.append(weights(r))
    assert seen[0] == {'loss_vrm': 2.0 / 20, 'loss_kd': 1.0 / 20}
    assert seen[9] == {'loss_vrm': 1.0, 'loss_kd': 0.5}
    assert seen[19] == seen[24] == {'loss_vrm': 2.0, 'loss_kd': 1.0}
    hook.after_train(r)
    assert weights(r) == {'loss_vrm': 2.0, 'loss_kd': 1.0}


def test_resume_continues_the_ramp_and_selected_losses_only():
    r = runner()
    hook = DistillWarmupHook(warmup_iters=8, losses=['loss_vrm'])
    hook.before_train(r)
    r.iter = 5  # resumed at iteration 5
    hook.before_train_iter(r, 0)
    assert weights(r) == {'loss_vrm': 2.0 * 6 / 8, 'loss_kd': 1.0}


@pytest.mark.parametrize('kwargs,match', [
    (dict(), 'exactly one'),
    (dict(warmup_epochs=1, warmup_iters=3), 'exactly one'),
    (dict(warmup_iters=0), 'positive'),
    (dict(warmup_epochs='1'), 'positive'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DistillWarmupHook(**kwargs)


def test_unknown_loss_is_named():
    hook = DistillWarmupHook(warmup_iters=3, losses=['loss_dkd'])
    with pytest.raises(KeyError, match='loss_dkd'):
        hook.before_train(runner())

"""Linear warm-up of distillation loss weights."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmrazor.registry import HOOKS


@HOOKS.register_module()
class DistillWarmupHook(Hook):
    """Ramp each distillation loss's ``loss_weight`` linearly from 0 to its
    configured value over the first iterations, as DKD and others warm up
    their distillation term.

    At training iteration ``t`` (from 1) the weight is
    ``loss_weight * min(1, t / T)``, with ``T = warmup_iters``, or
    ``warmup_epochs`` times the iterations of an epoch. The weight is
    recomputed from the runner's iteration before every step, so a resumed
    run continues the ramp exactly. Losses that read ``loss_weight`` at
    each forward are ramped: relkd_mm's, and MMRazor's (``KLDivergence``,
    ``DKDLoss``...).

    Why VRM needs it: its z-scored logits make the loss invariant to the
    logits' scale, so its gradient at the logits grows as 1 / scale, and an
    MMPretrain ``LinearClsHead`` starts with tiny logits (weights of std
    0.01): in the first iterations VRM's gradient dwarfs the cross-entropy's
    (``DistillDiagnosticsHook`` shows the ratio), before the classifier has
    learnt anything (docs/results.md).

    Args:
        warmup_epochs (float, optional): Length of the ramp in epochs.
        warmup_iters (int, optional): Length of the ramp in iterations
            (instead of ``warmup_epochs``).
        losses (list[str], optional): Names of the distiller's losses to
            ramp (keys of ``distill_losses``); all by default.
    """

    priority = 'NORMAL'

    def __init__(self, warmup_epochs=None, warmup_iters=None, losses=None):
        if (warmup_epochs is None) == (warmup_iters is None):
            raise ValueError('DistillWarmupHook: give exactly one of '
                             'warmup_epochs and warmup_iters.')
        length = warmup_epochs if warmup_iters is None else warmup_iters
        if isinstance(length, bool) or not isinstance(
                length, (int, float)) or length <= 0:
            raise ValueError(
                'DistillWarmupHook: the warm-up length must be a positive '
                f'number, got {length!r}.')
        self.warmup_epochs = warmup_epochs
        self.warmup_iters = warmup_iters
        self.losses = losses
        self._base = {}

    def _distill_losses(self, runner):
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        distiller = getattr(model, 'distiller', None)
        if distiller is None:
            raise TypeError('DistillWarmupHook needs a distillation '
                            f'algorithm, got {type(model).__name__}.')
        modules = dict(distiller.distill_losses.items())
        names = list(modules) if self.losses is None else self.losses
        unknown = [n for n in names if n not in modules]
        if unknown:
            raise KeyError(f'DistillWarmupHook: losses={unknown} are not '
                           f'among the distiller\'s {sorted(modules)}.')
        return {n: modules[n] for n in names}

    def before_train(self, runner):
        self._modules = self._distill_losses(runner)
        self._base = {n: m.loss_weight for n, m in self._modules.items()}
        self._length = self.warmup_iters or max(
            1, round(self.warmup_epochs * len(runner.train_dataloader)))

    def factor(self, iteration):
        """Weight factor at 0-based training ``iteration``."""
        return min(1.0, (iteration + 1) / self._length)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        factor = self.factor(runner.iter)
        for name, module in self._modules.items():
            module.loss_weight = self._base[name] * factor

    def after_train(self, runner):
        for name, module in self._modules.items():
            module.loss_weight = self._base[name]

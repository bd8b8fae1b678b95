"""Stop (or skip) a training step whose loss is NaN or infinite, before the
optimizer uses it."""
from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmrazor.registry import HOOKS


class _SkippedStep(Exception):
    """Raised inside ``parse_losses`` to leave ``train_step`` before
    ``update_params``."""


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Check every loss of every training step before the optimizer step.

    MMEngine sums the losses and calls ``optim_wrapper.update_params``
    inside the model's ``train_step``, so an ``after_train_iter`` check
    would come after the weights (and Adam's moments) had absorbed a NaN.
    This hook wraps the model's ``parse_losses`` (called by ``train_step``
    of both the bare model and MMEngine's DDP wrapper, right before
    ``update_params``): one host synchronisation per step checks all the
    losses at once (under DDP the verdict is all-reduced, so that every rank
    stops or skips together and none hangs in the backward's all-reduce).

    On a non-finite loss it either raises ``FloatingPointError`` naming the
    loss, its value and the iteration (default), or, with ``skip=True``,
    skips the step: no backward, no optimizer step, and every buffer of the
    model (BatchNorm statistics, the losses' memories such as RRD's queue)
    restored to its value before the step, so that the bad batch leaves no
    trace; the skip is logged. ``max_consecutive_skips`` consecutive skips
    raise anyway: a run that only skips is broken.

    Args:
        skip (bool): Skip the step instead of raising. Defaults to False.
        max_consecutive_skips (int): Raise after this many skipped steps in
            a row. Defaults to 10.
    """

    priority = 'VERY_HIGH'

    def __init__(self, skip=False, max_consecutive_skips=10):
        if not isinstance(max_consecutive_skips, int) or \
                max_consecutive_skips < 1:
            raise ValueError(
                'NonFiniteLossHook: max_consecutive_skips='
                f'{max_consecutive_skips!r} must be a positive integer.')
        self.skip = skip
        self.max_consecutive_skips = max_consecutive_skips
        self.skipped = 0
        self._consecutive = 0
        self._runner = None

    def before_train(self, runner):
        self._runner = runner
        model = runner.model
        inner = model.module if is_model_wrapper(model) else model
        if getattr(inner, '_non_finite_loss_hook', None) is self:
            return
        inner._non_finite_loss_hook = self
        parse_losses = inner.parse_losses
        train_step = model.train_step

        def checked_parse_losses(losses):
            parsed = parse_losses(losses)
            self._check(losses)
            return parsed

        def guarded_train_step(*args, **kwargs):
            saved = None
            if self.skip:
                saved = [(b, b.detach().clone()) for b in inner.buffers()]
            try:
                outputs = train_step(*args, **kwargs)
            except _SkippedStep as step:
                for buffer, value in saved:
                    buffer.copy_(value)
                runner.logger.warning(str(step))
                return {}
            self._consecutive = 0
            return outputs

        inner.parse_losses = checked_parse_losses
        model.train_step = guarded_train_step

    def _check(self, losses):
        import torch
        items = [(k, v) for k, v in losses.items() if 'loss' in k]
        tensors = [t for _, v in items
                   for t in (v if isinstance(v, (list, tuple)) else [v])]
        if not tensors:
            return
        bad = torch.stack([~torch.isfinite(t.detach()).all()
                           for t in tensors]).any().float()
        if dist.get_world_size() > 1:
            dist.all_reduce(bad, op='max')
        if not bad.item():
            return
        runner = self._runner
        where = (f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
                 if runner is not None else 'this step')
        culprits = ', '.join(
            f'`{k}` = {self._value(v)}' for k, v in items
            if not all(torch.isfinite(t.detach()).all()
                       for t in (v if isinstance(v, (list, tuple)) else [v]))
        ) or 'a loss on another rank'
        if self.skip and self._consecutive < self.max_consecutive_skips:
            self._consecutive += 1
            self.skipped += 1
            raise _SkippedStep(
                f'NonFiniteLossHook: skipped {where}: {culprits} is not '
                f'finite ({self.skipped} step(s) skipped so far). The '
                'weights, optimizer and buffers are as before the step.')
        reason = (f' after {self._consecutive} consecutive skipped steps'
                  if self.skip else '')
        raise FloatingPointError(
            f'NonFiniteLossHook: at {where}, {culprits} is not finite'
            f'{reason}; training stopped before the optimizer step, so the '
            'weights and the last checkpoint are intact. Usual causes: a '
            'learning rate or loss_weight too high, fp16 overflow under '
            '--amp (try bf16 or fp32), a temperature near 0, corrupt '
            'inputs. To skip such steps instead, use custom_hooks entry '
            "dict(type='mmrazor.NonFiniteLossHook', skip=True).")

    @staticmethod
    def _value(value):
        if isinstance(value, (list, tuple)):
            return [NonFiniteLossHook._value(v) for v in value]
        return value.detach().float().mean().item() \
            if value.numel() > 1 else value.detach().float().item()

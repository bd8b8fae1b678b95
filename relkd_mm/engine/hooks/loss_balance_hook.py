"""A warning when one distillation term drowns the cross-entropy, or
vanishes beside it, or when the student stops learning its labels."""
import math

from mmengine.logging import print_log
from mmrazor.registry import HOOKS

from .distill_diagnostics_hook import (DistillDiagnosticsHook,
                                       term_gradient_norms)
from .distill_warmup_hook import DistillWarmupHook

#: The default upper bound of a distillation term's gradient, as a multiple
#: of the cross-entropy's (class docstring).
HIGH = 5.0


@HOOKS.register_module()
class LossBalanceHook(DistillDiagnosticsHook):
    """Warn once per term when a distillation term's gradient at the
    student's features is more than ``high`` times the cross-entropy's, or
    under ``low`` times it.

    On by default in every config (``configs/_base_/default_runtime.py``);
    a model without a distiller (a teacher, a student alone) is left alone.
    It takes :class:`DistillDiagnosticsHook`'s measurement (the norm of each
    term's gradient at the student's ``feature`` output, the neck, which
    every term of an MMPretrain classifier reaches), but only at the
    iterations ``check_iters`` (1-based; the very first iterations are
    left out: from random weights every term's ratio swings, RRD's to 20-40x
    at iterations 1-5 on Fashion-MNIST before it settles under 1.2x by
    iteration 20), at the first iteration after a
    :class:`DistillWarmupHook` ramp ends, and then every ``interval``
    iterations: each measurement costs a gradient of each term back to the
    features, 4 measurements in the first 1000 iterations and 13 in 10,000
    (``tools/benchmark_cost.py --loss-balance`` times it and amortises it
    over a schedule: docs/benchmarks.md; target under 1% of a step).
    Nothing is logged unless a term is out of bounds.

    Why the bounds: at ``high`` (5) times the CE's pull the student follows
    that term alone: VRM + MMRazor's DKD at DKD's CIFAR-100 settings (alpha
    1, beta 8, no warm-up) gives DKD 8x the CE's gradient, and 24 iterations
    reach 14% where VRM alone reaches 39%
    (``tests/test_engine/test_loss_balance_hook.py``). Under ``low``
    (0.01) times it, a term moves the student by less than a hundredth of
    the labels' pull: its ``loss_weight`` is too small to matter. The
    relkd_mm presets stay within both on Fashion-MNIST (docs/tuning.md) but
    one: the fmnist-lowdata VRM+KD's VRM weight 16, chosen on validation,
    leads the CE by 7-9x, and its config raises ``high`` to 12.

    A term that a :class:`DistillWarmupHook` is still ramping is not
    judged (its weight is not yet the configured one). A loss whose term is
    meant to lead the CE declares its own upper bound as the class
    attribute ``balance_high`` (``RefilledClassifierLoss``: REFILLED's
    stage 2 trains the classifier towards the teacher's, the CE only
    helps); a model without the CE's term (REFILLED's stage 1) is not
    judged.

    A term can also wreck the student inside its bound: REFILLED's stage 2
    on RepDistiller's MobileNetV2 at the main pair's preset (7x, under its
    30x) left the student's CE at chance from the first 50 iterations on and
    the run ended at 21.61% (docs/results.md). So, after every epoch but the
    first (from random weights the first epoch's mean is still near
    chance), the student's mean CE over the epoch is compared with chance,
    ``ln C`` for its head's ``C`` classes: at or above ``chance`` times it,
    the student is not learning its labels, and the warning names the
    terms' last ratios and the knobs. Epoch-based loops only.

    Args:
        high (float, optional): Ratio above which a term drowns the CE.
            Defaults to None: the loss's ``balance_high``, else
            :data:`HIGH` (5).
        low (float): Ratio under which a term vanishes. Defaults to 0.01.
        check_iters (tuple[int]): Early iterations measured. Defaults to
            (20, 50, 100).
        interval (int): Iterations between later measurements. Defaults to
            1000.
        feature (str): Student module whose output the gradients are taken
            at. Defaults to ``'neck'``.
        chance (float): Fraction of ``ln C`` at or above which an epoch's
            mean CE counts as not learning. Defaults to 0.9 (2.07 for 10
            classes; the protocol's KD and KD@2B students of all four pairs
            average 0.80-1.50 in their second epoch, MobileOne's first
            2.62).
    """

    priority = 'NORMAL'

    def __init__(self, high=None, low=0.01, check_iters=(20, 50, 100),
                 interval=1000, feature='neck', chance=0.9):
        super().__init__(interval=interval, feature=feature, val_batches=0)
        if not (isinstance(high, (int, float, type(None))) and
                isinstance(low, (int, float)) and
                0 <= low < (HIGH if high is None else high)):
            raise ValueError(f'LossBalanceHook: low={low!r}, high={high!r} '
                             'must be numbers with 0 <= low < high.')
        if any(isinstance(i, bool) or not isinstance(i, int) or i < 1
               for i in check_iters):
            raise ValueError(f'LossBalanceHook: check_iters={check_iters!r} '
                             'must be 1-based iteration numbers.')
        if isinstance(chance, bool) or not isinstance(chance, (int, float)) \
                or not 0 < chance <= 1:
            raise ValueError(f'LossBalanceHook: chance={chance!r} must be a '
                             'number in (0, 1].')
        self.chance = float(chance)
        self._ratios = {}
        self.high = None if high is None else float(high)
        self.low = float(low)
        self.check_iters = set(check_iters)
        self._active = False
        self._warned = set()
        self._warmups = []

    def before_train(self, runner):
        algo = self._algorithm(runner)
        self._active = hasattr(algo, 'distiller') and \
            getattr(algo, 'student', None) is not None and \
            self.feature in dict(algo.student.named_modules())
        if not self._active:
            return
        self._warmups = [h for h in runner.hooks
                         if isinstance(h, DistillWarmupHook)]
        super().before_train(runner)

    def _ramp_end(self):
        """1-based iteration after which every warm-up ramp is done."""
        return max((getattr(h, '_length', 0) for h in self._warmups),
                   default=0)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        step = runner.iter + 1
        ramp = self._ramp_end()
        self._due = self._active and (
            step in self.check_iters or step % self.interval == 0 or
            (ramp and step == ramp + 1))
        self._feat = None

    def _ramping(self, name):
        """Whether a warm-up hook has not yet brought ``name`` (a key of
        ``distill_losses``) to its configured weight."""
        for hook in self._warmups:
            base = getattr(hook, '_base', {}).get(name)
            module = getattr(hook, '_modules', {}).get(name)
            if base is not None and module is not None and \
                    module.loss_weight < base:
                return True
        return False

    def _measure(self, runner, losses):
        feat = self._feat
        if not feat.requires_grad:
            return
        norms = term_gradient_norms(losses, feat)
        ce = norms.get('student.loss')
        if not ce:
            return
        ratios = {key: norm / ce for key, norm in norms.items()
                  if key.startswith('distill.')}
        self._ratios = ratios
        for key, ratio in ratios.items():
            name = key[len('distill.'):]
            if key in self._warned or self._ramping(name) or \
                    self.low <= ratio <= self._high(runner, name):
                continue
            self._warned.add(key)
            print_log(self._message(runner, key, ratio, ratios), 'current',
                      level=30)

    def after_train_epoch(self, runner):
        # MMEngine's RuntimeInfoHook logs every step's losses to the message
        # hub (already read to the host there): the epoch's mean is the last
        # len(train_dataloader) entries of that history.
        history = runner.message_hub.log_scalars.get('train/student.loss')
        mean = history.mean(len(runner.train_dataloader)) \
            if history is not None and self._active else None
        classes = getattr(getattr(self._algorithm(runner).student, 'head',
                                  None), 'num_classes', None) \
            if self._active else None
        # runner.epoch is the finished epoch's 0-based index here.
        if mean is None or not classes or classes < 2 or runner.epoch < 1 \
                or 'not learning' in self._warned:
            return
        chance = math.log(classes)
        if mean < self.chance * chance:
            return
        self._warned.add('not learning')
        ratios = ', '.join(f'{k} {r:.2g}x' for k, r in self._ratios.items())
        print_log(
            f'LossBalanceHook: the student is not learning its labels: its '
            f'cross-entropy averaged {mean:.3f} over epoch '
            f'{runner.epoch + 1}, at chance level (ln {classes} = '
            f'{chance:.3f}; warned at {self.chance:g}x that).' +
            (f' The distillation terms\' gradients, last measured: {ratios} '
             'the CE\'s.' if ratios else '') +
            ' A term or the learning rate has driven the student off its '
            'task (its later accuracy will be near chance): lower '
            'optim_wrapper.optimizer.lr or the terms\' loss_weight, or ramp '
            "them in with dict(type='mmrazor.DistillWarmupHook', "
            'warmup_epochs=N) in custom_hooks. (Warned once; '
            'LossBalanceHook(chance=...) sets the level.)', 'current',
            level=30)

    def _high(self, runner, name):
        if self.high is not None:
            return self.high
        loss = self._algorithm(runner).distiller.distill_losses[name]
        return float(getattr(loss, 'balance_high', HIGH))

    def _message(self, runner, key, ratio, ratios):
        name = key[len('distill.'):]
        loss = self._algorithm(runner).distiller.distill_losses[name]
        high = self._high(runner, name)
        weight = getattr(loss, 'loss_weight', None)
        others = ', '.join(f'{k} {r:.2g}x' for k, r in ratios.items()
                           if k != key)
        knob = f'model.distiller.distill_losses.{name}.loss_weight'
        if ratio > high:
            what = (f'above {high:g}x: it drowns the cross-entropy' +
                    (' and the other terms' if others else ''))
            fix = (f'lower {knob}' +
                   (f' (now {weight:g}; {weight / ratio:.2g} gives the CE\'s '
                    'pull)' if isinstance(weight, (int, float)) else '') +
                   ', or ramp it in with dict(type=\'mmrazor.'
                   f'DistillWarmupHook\', warmup_epochs=N, losses=[{name!r}])'
                   ' in custom_hooks')
        else:
            what = f'under {self.low:g}x: it barely moves the student'
            fix = f'raise {knob}' + (
                f' (now {weight:g})' if isinstance(weight, (int, float))
                else '')
        return (f'LossBalanceHook: at iteration {runner.iter + 1}, {key}\'s '
                f'gradient at the student\'s {self.feature} is {ratio:.3g}x '
                f'the cross-entropy\'s ({what}' +
                (f'; {others}' if others else '') + f'). To balance it, {fix}.'
                ' (Warned once per term; LossBalanceHook(high=..., low=...) '
                'in custom_hooks sets the bounds: docs/tuning.md.)')

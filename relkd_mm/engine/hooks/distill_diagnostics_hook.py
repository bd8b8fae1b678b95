"""Diagnostics of what each distillation term does to the student."""
import math
from collections import defaultdict

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmrazor.registry import HOOKS

from relkd_mm.models.interfaces import RelationalLoss


def _first_tensor(output):
    while isinstance(output, (tuple, list)):
        output = output[0]
    return output if isinstance(output, torch.Tensor) else None


def term_gradient_norms(losses, feat):
    """``{term: norm}``: the norm of each loss term's gradient at ``feat``
    (the graph is kept for the step's own backward). A term that does not
    reach ``feat`` has norm 0."""
    norms = {}
    for key, value in losses.items():
        if 'loss' not in key or not isinstance(value, torch.Tensor) or \
                not value.requires_grad:
            continue
        (grad, ) = torch.autograd.grad(
            value, feat, retain_graph=True, allow_unused=True)
        norms[key] = 0.0 if grad is None else float(grad.norm())
    return norms


@HOOKS.register_module()
class DistillDiagnosticsHook(Hook):
    """Log each loss term's pull on the student and, on the validation
    split, the agreement each distillation loss aims at.

    Training, every ``interval`` iterations: for every term of the loss
    dict (``student.loss`` is the cross-entropy, ``distill.loss_*`` the
    distillation terms; their values are logged by MMEngine already) the
    norm of its gradient at the student's ``feature`` output (default: the
    neck, the pooled features that every term of an MMPretrain classifier
    reaches), as ``diag/grad.<term>``, and for each distillation term its
    ratio to the cross-entropy's, ``diag/ratio.<term>``. These answer "is
    the distillation term drowning the CE, or vanishing?" at a glance.

    Validation, on the first ``val_batches`` batches: the student and the
    teacher run once more with the distiller's recorders, and every
    distillation loss that defines ``agreement(**inputs)``
    (:class:`~relkd_mm.models.interfaces.RelationalLoss`; VRM: mean edge
    discrepancy of each graph; RRD: KL between the similarity
    distributions; REFILLED stage 1: tuple-order agreement and KL; stage 2:
    the classifier's KL, top-1 match and the induced classifier's accuracy)
    reports it, averaged over the batches, as ``diag/<loss>.<metric>``
    beside the validation accuracy. ``agreement`` has no side effect: RRD's
    memory is not written.

    Everything goes through the message hub, so that the log, MMEngine's
    visualiser backends (``vis_data/scalars.json``, TensorBoard, W&B) and
    ``tools/plot_curves.py`` show it.

    Args:
        interval (int): Training iterations between gradient measurements;
            1 (default) measures every step (a gradient of each term back
            to the features only: a small fraction of the step).
        feature (str): Student module whose output the gradients are taken
            at. Defaults to ``'neck'``.
        val_batches (int): Validation batches used for the agreement
            metrics; 0 turns them off. Defaults to 4.
    """

    priority = 'NORMAL'  # before LoggerHook, which writes the hub out

    def __init__(self, interval=1, feature='neck', val_batches=4):
        for key, value, low in (('interval', interval, 1),
                                ('val_batches', val_batches, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or \
                    value < low:
                raise ValueError(f'DistillDiagnosticsHook: {key}={value!r} '
                                 f'must be an integer >= {low}.')
        self.interval = interval
        self.feature = feature
        self.val_batches = val_batches
        self._feat = None
        self._due = False
        self._sums = defaultdict(float)
        self._counts = defaultdict(int)

    @staticmethod
    def _algorithm(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def before_train(self, runner):
        algo = self._algorithm(runner)
        student = getattr(algo, 'student', None)
        if student is None or not hasattr(algo, 'distiller'):
            raise TypeError(
                'DistillDiagnosticsHook needs a distillation algorithm '
                f'(SingleTeacherDistill, VRMDistill, RefilledDistill); got '
                f'{type(algo).__name__}. Remove the hook from custom_hooks.')
        modules = dict(student.named_modules())
        if self.feature not in modules:
            raise KeyError(
                f'DistillDiagnosticsHook: feature={self.feature!r} is not a '
                f'module of the student ({type(student).__name__}); use one '
                f'of {[n for n in modules if n and "." not in n]}.')
        modules[self.feature].register_forward_hook(self._keep_feature)
        original = algo.parse_losses

        def parse_losses(losses):
            if self._due and self._feat is not None:
                self._measure(runner, losses)
            return original(losses)

        algo.parse_losses = parse_losses

    def _keep_feature(self, module, inputs, output):
        if self._due and torch.is_grad_enabled():
            self._feat = _first_tensor(output)

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self._due = (runner.iter + 1) % self.interval == 0
        self._feat = None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self._due, self._feat = False, None

    def _measure(self, runner, losses):
        feat = self._feat
        if not feat.requires_grad:
            return
        norms = term_gradient_norms(losses, feat)
        hub = runner.message_hub
        for key, norm in norms.items():
            hub.update_scalar(f'train/diag/grad.{key}', norm)
        ce = norms.get('student.loss')
        if ce:
            for key, norm in norms.items():
                if key.startswith('distill.'):
                    hub.update_scalar(f'train/diag/ratio.{key}', norm / ce)

    # -- validation ---------------------------------------------------
    def before_val_epoch(self, runner):
        self._sums.clear()
        self._counts.clear()

    @torch.no_grad()
    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        if batch_idx >= self.val_batches:
            return
        algo = self._algorithm(runner)
        distiller = getattr(algo, 'distiller', None)
        if distiller is None:
            return
        losses = {name: loss for name, loss in
                  distiller.distill_losses.items()
                  if isinstance(loss, RelationalLoss)
                  and loss.reports_agreement()}
        if not losses:
            return
        data = algo.data_preprocessor(data_batch, False)
        inputs, samples = data['inputs'], data['data_samples']
        with distiller.teacher_recorders:
            algo.teacher(inputs, mode='tensor')
        # mode='loss' so that recorders on the head's loss module (the
        # labels REFILLED needs) see their inputs.
        with distiller.student_recorders:
            algo.student(inputs, samples, mode='loss')
        for name, loss in losses.items():
            kwargs = {key: distiller.get_record(**record) for key, record in
                      distiller.loss_forward_mappings[name].items()}
            metrics = loss.agreement(**kwargs)
            for metric, value in (metrics or {}).items():
                value = float(value)
                if math.isfinite(value):
                    self._sums[f'{name}.{metric}'] += value
                    self._counts[f'{name}.{metric}'] += 1

    def after_val_epoch(self, runner, metrics=None):
        for key, total in self._sums.items():
            runner.message_hub.update_scalar(f'val/diag/{key}',
                                             total / self._counts[key])

"""The frozen teacher, evaluated once: the teacher metrics that
:class:`~relkd_mm.engine.loops.TeacherCachedDistillValLoop` keeps while the
teacher and the validation set stay the same, and the teacher check before
the first training iteration (``model.teacher_expected_top1``, registered
by :class:`~relkd_mm.runner.relkd_runner.RelKDRunner`).
"""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import autocast

#: The metric ``model.teacher_expected_top1`` is compared with (MMPretrain's
#: ``Accuracy``, in percent).
TOP1 = 'accuracy/top1'


class TeacherAccuracyError(RuntimeError):
    """The teacher scores far below the accuracy the config expects of
    it."""


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def teacher_state_key(teacher):
    """What changes when the teacher's weights or statistics change: every
    in-place write (an optimizer step, ``load_state_dict``, BatchNorm
    statistics of a teacher in train mode) bumps a tensor's version counter,
    and a replaced tensor has another identity. A pass over the tensors'
    metadata only (no data is read)."""
    tensors = list(teacher.parameters()) + list(teacher.buffers())
    return tuple((id(t), t._version) for t in tensors)


def dataset_key(dataloader):
    """The validation set a cached result belongs to: another dataloader or
    dataset object, or a dataset whose length changed, is another set."""
    dataset = dataloader.dataset
    return (id(dataloader), id(dataset), len(dataset))


def cache_key(loop):
    return (dataset_key(loop.dataloader), teacher_state_key(loop.teacher),
            bool(loop.fp16))


def caching_enabled(loop):
    """Whether the loop may reuse the teacher's metrics: not when switched
    off (``val_cfg.teacher_cache=False``) or when the teacher trains."""
    model = _unwrap(loop.runner.model)
    return bool(getattr(loop, 'teacher_cache', True)) and not getattr(
        model, 'teacher_trainable', False)


def evaluate_teacher(loop, hooks=True):
    """The teacher's metrics on the loop's dataloader, as MMRazor's
    ``SingleTeacherDistillValLoop.run`` computes them (``hooks=False``: the
    pre-training check, which must not reach the logger's or the timer's
    validation hooks); kept in the loop's cache."""
    key = cache_key(loop)
    if hooks:
        loop.runner.call_hook('before_val_epoch')
        for idx, data_batch in enumerate(loop.dataloader):
            loop.run_iter_teacher(idx, data_batch)
    else:
        with torch.no_grad():
            for data_batch in loop.dataloader:
                with autocast(enabled=loop.fp16):
                    outputs = loop.teacher.val_step(data_batch)
                loop.evaluator.process(data_samples=outputs,
                                       data_batch=data_batch)
    metrics = loop.evaluator.evaluate(len(loop.dataloader.dataset))
    loop._teacher_metrics = (key, dict(metrics))
    loop.teacher_evaluations = getattr(loop, 'teacher_evaluations', 0) + 1
    return dict(metrics)


def cached_teacher_metrics(loop):
    """The kept metrics if they belong to this teacher and this validation
    set, else None."""
    kept = getattr(loop, '_teacher_metrics', None)
    if kept is None or not caching_enabled(loop):
        return None
    key, metrics = kept
    return dict(metrics) if key == cache_key(loop) else None


def draw_iterator_seed(dataloader):
    """Consume the random number that iterating the dataloader would: a
    (non-persistent) torch ``DataLoader`` draws its workers' base seed from
    the global generator at each ``iter()``. Without this a validation that
    reuses the teacher's metrics would shift the random stream of the
    training that follows (other augmentations than upstream's, at the
    same seed)."""
    loader = dataloader
    if not isinstance(loader, torch.utils.data.DataLoader):
        return
    if loader.persistent_workers and loader.num_workers > 0:
        return  # the student pass created the iterator: reused, no draw
    torch.empty((), dtype=torch.int64).random_(generator=loader.generator)


# ---------------------------------------------------------------------------
# The teacher check before the first training iteration.
# ---------------------------------------------------------------------------
def _random_states():
    states = [random.getstate(), np.random.get_state(),
              torch.get_rng_state()]
    if torch.cuda.is_available():
        states.append(torch.cuda.get_rng_state_all())
    return states


def _set_random_states(states):
    random.setstate(states[0])
    np.random.set_state(states[1])
    torch.set_rng_state(states[2])
    if len(states) > 3:
        torch.cuda.set_rng_state_all(states[3])


def _teacher_metrics_for_check(runner, model):
    """Evaluate the teacher on the validation set: through the validation
    loop (its result is kept for the first validation) or, for another
    loop, on its dataloader and evaluator with the distiller's data
    preprocessor."""
    loop = runner.val_loop
    if loop is None:
        raise TeacherAccuracyError(
            'model.teacher_expected_top1 is set, but the run has no '
            'validation set to check the teacher on (val_dataloader, '
            'val_evaluator and val_cfg are None, e.g. tools/train.py '
            '--no-validate). Give it a validation set, or remove '
            'model.teacher_expected_top1.')
    if hasattr(loop, 'run_iter_teacher'):
        return evaluate_teacher(loop, hooks=False), loop.dataloader
    teacher = model.teacher
    with torch.no_grad():
        for data_batch in loop.dataloader:
            data = model.data_preprocessor(data_batch, False)
            with autocast(enabled=getattr(loop, 'fp16', False)):
                outputs = teacher._run_forward(data, mode='predict')
            loop.evaluator.process(data_samples=outputs,
                                   data_batch=data_batch)
    return (loop.evaluator.evaluate(len(loop.dataloader.dataset)),
            loop.dataloader)


def check_teacher_accuracy(runner):
    """Evaluate the teacher once and refuse to train when it scores more
    than ``model.teacher_top1_margin`` points below
    ``model.teacher_expected_top1``. Leaves the random state and the
    model's mode as it found them."""
    model = _unwrap(runner.model)
    expected = getattr(model, 'teacher_expected_top1', None)
    if expected is None:
        return None
    margin = float(getattr(model, 'teacher_top1_margin', 1.0))
    training = model.training
    states = _random_states()
    model.eval()
    try:
        metrics, dataloader = _teacher_metrics_for_check(runner, model)
    finally:
        model.train(training)
        _set_random_states(states)
    if TOP1 not in metrics:
        raise TeacherAccuracyError(
            f'model.teacher_expected_top1 is compared with {TOP1!r}, but '
            f'the validation evaluator reports {sorted(metrics)}: use '
            "val_evaluator = dict(type='Accuracy', topk=(1, )), or remove "
            'model.teacher_expected_top1.')
    measured = float(metrics[TOP1])
    source = getattr(model, '_teacher_source', None) or getattr(
        model.teacher, '_relkd_pretrained_from', None) or 'a random teacher'
    samples = len(dataloader.dataset)
    where = (f'the teacher ({source}) scores {TOP1} = {measured:.2f} on the '
             f'validation set ({samples} samples)')
    if measured < float(expected) - margin:
        raise TeacherAccuracyError(
            f'{where}: {float(expected) - measured:.2f} points below the '
            f'expected {float(expected):.2f} (model.teacher_expected_top1), '
            f'more than the margin of {margin:.2f} '
            '(model.teacher_top1_margin). Training would distil from a '
            'teacher that is not the one expected: the wrong checkpoint, '
            'one trained on another class list or label order, or other '
            'preprocessing (mean/std, image size, channels) than it was '
            'trained with. Check model.teacher_ckpt and the data pipeline; '
            'if the measured accuracy is right for this validation set, '
            'set model.teacher_expected_top1 to it (or raise '
            'model.teacher_top1_margin).')
    runner.logger.info(
        f'teacher check: {where}; expected {float(expected):.2f} '
        f'(model.teacher_expected_top1), margin {margin:.2f} '
        '(model.teacher_top1_margin): OK.')
    runner.message_hub.update_info('teacher_check_top1', measured)
    return measured


class TeacherCheckHook(Hook):
    """Runs :func:`check_teacher_accuracy` in ``before_train`` (after
    ``load_from``/resume loaded the teacher). Registered by
    :meth:`RelKDRunner.train <relkd_mm.runner.relkd_runner.RelKDRunner.
    train>` for a model that sets ``teacher_expected_top1``; not listed in
    configs, so that configs without the key resolve as before."""

    priority = 'VERY_HIGH'

    def before_train(self, runner):
        check_teacher_accuracy(runner)

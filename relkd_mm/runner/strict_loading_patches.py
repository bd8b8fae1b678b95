"""How the rules of :mod:`relkd_mm.models.utils.strict_loading` are
installed on MMEngine's runner (patch 6 of :mod:`relkd_mm.compat`): strict
``load_from`` and resume loads, no training from a random or non-finite
teacher, no resume that changes the run. (A strict ``teacher_ckpt`` is
:class:`~relkd_mm.models.algorithms.CheckedSingleTeacherDistill`'s, a
strict ``Pretrained`` init the registered ``StrictPretrained``
initializer's: extension points that configs name.)

:mod:`relkd_mm.compat` imports this module before anything imports an mm*
package: it (and ``relkd_mm/runner/__init__.py``) imports none at module
level.
"""
import torch

from relkd_mm.compat.stack import _mark
from relkd_mm.runner.resume_checks import (_check_resume_matches_config,
                                           _drop_executable_config,
                                           _extend_resumed_schedules)

# ---------------------------------------------------------------------------
# 6. mmengine/mmrazor: non-strict loads, random teachers, changed resumes.
# ---------------------------------------------------------------------------
_STRICT_POLICY = None  # set per load by the patched Runner methods


def patch_strict_checkpoint_loading():
    """Make ``load_from`` and resume loads strict.

    Why: MMEngine 0.10.7's ``Runner.load_checkpoint`` (``load_from`` and
    ``--resume``) is non-strict: a student starts from random weights, a
    resume after a config change silently drops a loss's memory.
    Upstream: no issue asks for strict loading; open-mmlab/mmrazor#650 shows
    the symptom (a distillation checkpoint's ``architecture.`` keys all
    "missing" in a student, reported only as a warning).

    Fix (rules and opt-outs in :mod:`relkd_mm.models.utils.strict_loading`):
    ``Runner.load_checkpoint`` checks the networks' keys for ``load_from``
    (config key ``load_from_strict=False`` opts out) and all keys on
    resume. Mismatches raise ``CheckpointMismatchError`` naming the keys.
    Applied only where the runner's loader is non-strict.

    A distiller whose teacher nothing loaded (``teacher_ckpt`` unset, no
    ``load_from``/resume checkpoint holding it, no ``StrictPretrained`` init
    of the whole teacher) exits 0 in MMRazor after training from a random
    teacher: for relkd_mm's algorithms
    (:class:`~relkd_mm.models.algorithms.CheckedSingleTeacherDistill` and
    its subclasses) ``Runner.train`` now raises :class:`RandomTeacherError`
    right after loading, unless the model sets
    ``allow_random_teacher=True`` (logged as a warning; for tests). The
    strict check also requires each value to be a tensor of a dtype the
    parameter can take (a floating one for a floating parameter): numpy
    arrays, strings or int64 tensors with the right shapes used to pass and
    leave the weights random. Upstream: none found.

    A teacher whose loaded weights hold NaN or inf raises
    :class:`~relkd_mm.models.utils.NonFiniteTeacherError` naming the
    checkpoint (after load_from/resume, as the algorithm does at
    ``teacher_ckpt`` load), instead of ``NonFiniteLossHook`` stopping at
    iteration 1 and blaming the learning rate or the temperature.
    Upstream: none found.

    A resume whose config changes the optimizer type or the schedule
    (``T_max``, milestones, the number of schedulers) raises
    :class:`~relkd_mm.runner.resume_checks.ResumeConfigError` naming what
    differs, before the first step: MMEngine loads the checkpoint's scheduler
    state over the config's (resuming with a longer cosine keeps the learning
    rate frozen) and another optimizer's state fails inside torch (``KeyError:
    'step'``). Only a longer ``max_epochs`` on the same schedule (a scheduler's
    default ``end``) is made to work: the config's ``end`` replaces the
    checkpoint's, logged, as an uninterrupted longer run would have it.
    Upstream: none found.

    A resumed checkpoint's ``meta['config']`` is dropped (logged): MMEngine
    would execute that text as a Python config, so a safely loaded file
    could still run code on resume. Upstream: none found.
    """
    import inspect

    from mmengine.runner import Runner

    load = inspect.signature(Runner.load_checkpoint,
                             follow_wrapped=False).parameters
    if load['strict'].default is False:
        _patch_runner_strict_loading(Runner)
        _mark('strict_runner_load_checkpoint')


class RandomTeacherError(RuntimeError):
    """A distiller is about to train from a teacher nothing loaded."""


def _check_teacher_loaded(runner):
    """Before the first step: a distiller's teacher must have been loaded
    (``teacher_ckpt``, a ``load_from``/resume checkpoint holding it, or a
    ``StrictPretrained`` init of the whole teacher) unless the config opts
    in."""
    from mmengine.model import is_model_wrapper

    from relkd_mm.models.algorithms import CheckedSingleTeacherDistill
    from relkd_mm.models.utils.strict_loading import check_teacher_finite
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    # MMRazor's own SingleTeacherDistill keeps upstream's behaviour: only
    # relkd_mm's algorithms record where their teacher came from.
    if not isinstance(model, CheckedSingleTeacherDistill):
        return
    source = model._teacher_source or getattr(
        model.teacher, '_relkd_pretrained_from', None)
    if source:
        check_teacher_finite(model.teacher, source)
        return
    if model.allow_random_teacher:
        runner.logger.warning(
            f'{type(model).__name__}: training with a RANDOM teacher '
            '(teacher_ckpt is not set and allow_random_teacher=True): the '
            'distillation losses teach noise. Only for tests.')
        return
    raise RandomTeacherError(
        f'{type(model).__name__}: the teacher was never loaded: '
        'model.teacher_ckpt is not set, and neither load_from nor the '
        'resumed checkpoint holds its weights. The run would distil from a '
        'random teacher. Set `--cfg-options model.teacher_ckpt=PATH` (a '
        'checkpoint of the teacher); to train with a random teacher on '
        'purpose (tests), set model.teacher_ckpt=None and '
        'model.allow_random_teacher=True.')


def _patch_runner_strict_loading(runner_cls):
    import functools

    import mmengine.runner.runner as runner_module
    original_load = runner_cls.load_checkpoint
    original_resume = runner_cls.resume
    original_train = runner_cls.train
    original_to_model = runner_module._load_checkpoint_to_model

    @functools.wraps(original_load)
    def load_checkpoint(self, filename, map_location='cpu', strict=None,
                        revise_keys=[(r'^module\.', '')]):
        global _STRICT_POLICY
        if strict is not None:  # the caller decided
            return original_load(self, filename, map_location, strict,
                                 revise_keys)
        outer = _STRICT_POLICY
        cfg = getattr(self, 'cfg', None) or {}
        resuming = bool(outer and outer.get('resume'))
        _STRICT_POLICY = dict(
            filename=filename,
            resume=resuming,
            strict=bool(cfg.get('load_from_strict', True)))
        try:
            checkpoint = original_load(self, filename, map_location, False,
                                       revise_keys)
        finally:
            _STRICT_POLICY = outer
        if resuming:
            _drop_executable_config(checkpoint, filename)
            _check_resume_matches_config(self, checkpoint, filename)
        return checkpoint

    @functools.wraps(original_resume)
    def resume(self, *args, **kwargs):
        global _STRICT_POLICY
        outer = _STRICT_POLICY
        _STRICT_POLICY = dict(resume=True)
        try:
            resumed = original_resume(self, *args, **kwargs)
        finally:
            _STRICT_POLICY = outer
        _extend_resumed_schedules(self)
        return resumed

    @functools.wraps(original_to_model)
    def checked_to_model(model, checkpoint, strict=False, logger=None,
                         revise_keys=[(r'^module\.', '')]):
        policy = _STRICT_POLICY
        if policy is not None and 'filename' in policy:
            checkpoint = _one_teacher(model, checkpoint, policy,
                                      revise_keys)
        if policy is not None and 'filename' in policy and not strict:
            _check_runner_load(model, checkpoint, policy, revise_keys)
        loaded = original_to_model(model, checkpoint, strict, logger,
                                   revise_keys)
        if policy is not None and 'filename' in policy:
            from relkd_mm.models.utils import strict_loading
            kind = 'resume' if policy.get('resume') else 'load_from'
            strict_loading.verify_copied(
                model, strict_loading.state_dict_of(checkpoint, revise_keys),
                policy['filename'], kind)
            _note_teacher_source(model, checkpoint, policy, revise_keys)
        return loaded

    @functools.wraps(original_train)
    def train(self):
        # Runner.train loads (load_from/resume) right before its loop: the
        # teacher is checked there, whatever hooks the config lists.
        load_or_resume = self.load_or_resume

        def load_then_check():
            load_or_resume()
            _check_teacher_loaded(self)

        self.load_or_resume = load_then_check
        try:
            return original_train(self)
        finally:
            del self.load_or_resume

    runner_cls.load_checkpoint = load_checkpoint
    runner_cls.resume = resume
    runner_cls.train = train
    runner_module._load_checkpoint_to_model = checked_to_model


def _note_teacher_source(model, checkpoint, policy, revise_keys):
    """A runner checkpoint that holds every teacher key loaded the teacher
    (a resume, REFILLED stage 2's load_from of stage 1), if the teacher
    now holds each of the file's tensors: a key whose value could not be
    copied (a meta or sparse tensor under ``load_from_strict=False``)
    leaves the teacher random, not loaded."""
    if not hasattr(model, '_teacher_source'):
        return
    from relkd_mm.models.utils import strict_loading
    state = strict_loading.state_dict_of(checkpoint, revise_keys)
    keys = [f'teacher.{k}' for k in model.teacher.state_dict()]
    good, _ = strict_loading.copied(model, state, keys)
    if keys and len(good) == len(keys):
        kind = 'resume' if policy.get('resume') else 'load_from'
        model._teacher_source = f'{kind} {policy["filename"]!r}'


class TeacherConflictError(RuntimeError, ValueError):
    """``model.teacher_ckpt`` and a ``load_from`` checkpoint hold two
    different teachers."""


def _one_teacher(model, checkpoint, policy, revise_keys):
    """A teacher comes from one place. With ``model.teacher_ckpt`` loaded,
    a ``load_from`` checkpoint that holds another teacher (``teacher.*``
    keys that differ: ``save_teacher=True``, MMRazor's or earlier
    checkpoints) would silently replace it: refused naming both files, or,
    with ``load_from_strict=False``, left out so that the teacher stays
    ``teacher_ckpt``'s (logged). A checkpoint holding the same teacher
    loads as before. Returns the checkpoint to load (a copy without the
    teacher's keys where they are left out). A resume continues its run
    and keeps the checkpoint's teacher."""
    source = getattr(model, '_teacher_source', None)
    if policy.get('resume') or not source or \
            not source.startswith('teacher_ckpt='):
        return checkpoint
    from mmengine.logging import print_log

    from relkd_mm.models.utils import strict_loading
    state = strict_loading.state_dict_of(checkpoint, revise_keys)
    prefix = strict_loading.TEACHER_PREFIX
    teacher = model.teacher.state_dict()
    held = [k for k in state if k.startswith(prefix)]
    if not held:
        return checkpoint
    differ = [k for k in held if k[len(prefix):] not in teacher or
              not isinstance(state[k], torch.Tensor) or
              tuple(state[k].shape) != tuple(teacher[k[len(prefix):]].shape)
              or strict_loading._type_problem(
                  state[k], teacher[k[len(prefix):]]) is not None or
              not strict_loading._same_values(teacher[k[len(prefix):]],
                                              state[k])]
    name = policy['filename']
    teacher_ckpt = source[len('teacher_ckpt='):]
    if not differ:
        print_log(f'load_from {name!r} holds the same teacher as '
                  f'model.teacher_ckpt={teacher_ckpt}; the teacher is '
                  'unchanged.', logger='current')
        return checkpoint
    if policy.get('strict', True):
        raise TeacherConflictError(
            f'load_from {name!r} holds a teacher ({len(held)} teacher.* '
            f'tensors, e.g. {differ[0]} differs) other than the one '
            f'model.teacher_ckpt={teacher_ckpt} loaded: a distiller has one '
            'teacher, and loading the checkpoint would silently replace '
            "teacher_ckpt's. To distil from teacher_ckpt's teacher with the "
            "checkpoint's student, add `--cfg-options load_from_strict=False`"
            " (the checkpoint's teacher is left out, logged); to keep the "
            "checkpoint's teacher, set `model.teacher_ckpt=None` (or to "
            'the file that teacher came from).')
    print_log(f'load_from {name!r}: its teacher ({len(held)} teacher.* '
              'tensors) differs from model.teacher_ckpt='
              f'{teacher_ckpt} and is left out (load_from_strict=False): '
              "the teacher is teacher_ckpt's.", logger='current', level=30)
    import re

    def revised(key):
        for pattern, repl in revise_keys:
            key = re.sub(pattern, repl, key)
        return key

    nested = 'state_dict' in checkpoint
    original = checkpoint['state_dict'] if nested else checkpoint
    kept = type(original)((k, v) for k, v in original.items()
                          if not revised(k).startswith(prefix))
    if hasattr(original, '_metadata'):
        kept._metadata = original._metadata
    return dict(checkpoint, state_dict=kept) if nested else kept


def _check_runner_load(model, checkpoint, policy, revise_keys):
    from mmengine.logging import print_log

    from relkd_mm.models.utils import strict_loading
    state = strict_loading.state_dict_of(checkpoint, revise_keys)
    name = policy['filename']
    if hasattr(model, 'teacher') and hasattr(model, '_teacher_source'):
        kind = 'resume' if policy['resume'] else 'load_from'
        strict_loading.check_state_finite(model.teacher, state,
                                          strict_loading.TEACHER_PREFIX,
                                          f'{kind} {name!r}')
    if policy['resume']:
        strict_loading.check(
            model, state, name, 'resume',
            'Resume with the config of the run that wrote the checkpoint; '
            'to start a changed run from its weights use `load_from` '
            'instead.')
        return
    if not policy['strict']:
        diff = strict_loading.describe(*strict_loading.compare(model, state))
        if diff:
            print_log(f'load_from {name!r} loaded partially '
                      f'(load_from_strict=False): {diff}',
                      logger='current', level=30)
        return
    lenient = ('distiller.', ) if hasattr(model, 'distiller') else ()
    diff = strict_loading.check(
        model, state, name, 'load_from',
        'To load only the matching weights on purpose, set '
        '`load_from_strict = False` in the config.', lenient)
    if diff:
        print_log(f'load_from {name!r}: the distiller\'s state differs '
                  f'from the checkpoint\'s and starts fresh where missing: '
                  f'{diff}', logger='current', level=30)

"""The strict-loading rules of :mod:`relkd_mm.models.utils.strict_loading`
for the checkpoints a runner loads (``load_from``, ``--resume``,
``tools/test.py``) and the teacher a distiller trains with, as
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner` applies them.

Why: MMEngine 0.10.7's ``Runner.load_checkpoint`` is non-strict: a student
starts from random weights, a resume after a config change silently drops
a loss's memory, and a distiller whose teacher nothing loaded
(``teacher_ckpt`` unset, no ``load_from``/resume checkpoint holding it, no
``StrictPretrained`` init of the whole teacher) trains from a random teacher
and exits 0. Upstream: no issue asks for strict loading;
open-mmlab/mmrazor#650 shows the symptom (a distillation checkpoint's
``architecture.`` keys all "missing" in a student, reported only as a
warning).

Rules: ``load_from`` checks the networks' keys (the distiller's may differ,
logged; config key ``load_from_strict=False`` opts out), a resume every
key; mismatches raise ``CheckpointMismatchError`` naming the keys. A
teacher's NaN or inf weights raise
:class:`~relkd_mm.models.utils.NonFiniteTeacherError` naming the
checkpoint (as
:class:`~relkd_mm.models.algorithms.CheckedSingleTeacherDistill` does at
``teacher_ckpt`` load). Before the first step the teacher of
relkd_mm's algorithms (``CheckedSingleTeacherDistill`` and its subclasses,
which record where their teacher came from) must be loaded
(:class:`RandomTeacherError`, unless the model sets
``allow_random_teacher=True``: logged as a warning, for tests); MMRazor's
own ``SingleTeacherDistill`` keeps upstream's behaviour.

:mod:`relkd_mm.compat` re-exports this module's errors before anything
imports an mm* package: relkd_mm's models are imported inside the
functions.
"""

import torch


class RandomTeacherError(RuntimeError):
    """A distiller is about to train from a teacher nothing loaded."""


def check_teacher_loaded(runner):
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


def load_checked(model, checkpoint, policy, revise_keys):
    """Load a ``load_from`` or resumed ``checkpoint`` into ``model`` (the
    unwrapped model) under the strict-loading rules: one teacher
    (:func:`one_teacher`), the keys checked (:func:`check_runner_load`),
    MMEngine's copy with its report sent to the run's log, every tensor
    verified as copied, and the teacher's source noted
    (:func:`note_teacher_source`).

    Args:
        policy (dict): ``filename`` (for messages), ``resume`` (a resume:
            every key must match) and ``strict`` (``load_from_strict``).

    Returns:
        dict: The checkpoint loaded (a copy without the teacher where
        :func:`one_teacher` left it out).
    """
    from mmengine.runner.checkpoint import _load_checkpoint_to_model

    from relkd_mm.models.utils import strict_loading
    checkpoint = one_teacher(model, checkpoint, policy, revise_keys)
    check_runner_load(model, checkpoint, policy, revise_keys)
    # logger='current': MMEngine's Runner passes none, so its mismatch
    # report went to print(), missing from the log file and the console
    # filter (an expected one: REFILLED stage 2 loading stage 1).
    _load_checkpoint_to_model(model, checkpoint, False, logger='current',
                              revise_keys=revise_keys)
    kind = 'resume' if policy['resume'] else 'load_from'
    strict_loading.verify_copied(
        model, strict_loading.state_dict_of(checkpoint, revise_keys),
        policy['filename'], kind)
    note_teacher_source(model, checkpoint, policy, revise_keys)
    return checkpoint


def note_teacher_source(model, checkpoint, policy, revise_keys):
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


def one_teacher(model, checkpoint, policy, revise_keys):
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


def check_runner_load(model, checkpoint, policy, revise_keys):
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

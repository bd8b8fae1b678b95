"""How the rules of :mod:`relkd_mm.runner.strict_loading` are installed on
MMEngine and MMRazor (patch 6 of :mod:`relkd_mm.compat`): strict
``teacher_ckpt``, ``load_from``, resume and ``Pretrained`` loads, no
training from a random or non-finite teacher, no resume that changes the
run.

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
    """Make teacher, ``load_from``, resume and ``Pretrained`` loads strict.

    Why: MMRazor's ``SingleTeacherDistill`` loads ``teacher_ckpt`` with
    MMEngine's ``load_checkpoint(strict=False)``: a checkpoint of another
    architecture, or a distillation checkpoint whose keys carry a prefix,
    only logs a warning and the run distils from a random teacher. MMEngine
    0.10.7's ``Runner.load_checkpoint`` (``load_from`` and ``--resume``) and
    ``PretrainedInit`` are non-strict too: a student starts from random
    weights, a resume after a config change silently drops a loss's memory.
    Upstream: no issue asks for strict loading; open-mmlab/mmrazor#650 shows
    the symptom (a distillation checkpoint's ``architecture.`` keys all
    "missing" in a student, reported only as a warning).

    Fix (rules and opt-outs in :mod:`relkd_mm.runner.strict_loading`):
    ``SingleTeacherDistill.__init__`` (hence every subclass) accepts
    ``teacher_ckpt_strict=True`` and loads the teacher itself after the
    original ``__init__``; ``Runner.load_checkpoint`` checks the networks'
    keys for ``load_from`` (config key ``load_from_strict=False`` opts out)
    and all keys on resume; ``Pretrained`` init accepts ``strict=True``.
    Mismatches raise ``CheckpointMismatchError`` naming the keys. Applied
    only where those loaders are non-strict.

    A distiller whose teacher nothing loaded (``teacher_ckpt`` unset, no
    ``load_from``/resume checkpoint holding it, no ``Pretrained`` init of
    the whole teacher) exits 0 in MMRazor after training from a random
    teacher: ``Runner.train`` now raises :class:`RandomTeacherError` right
    after loading, unless the model sets ``allow_random_teacher=True``
    (logged as a warning; for tests). The strict check also requires each
    value to be a tensor of a dtype the parameter can take (a floating one
    for a floating parameter): numpy arrays, strings or int64 tensors with
    the right shapes used to pass and leave the weights random. Upstream:
    none found.

    A teacher whose loaded weights hold NaN or inf raises
    :class:`NonFiniteTeacherError` naming the checkpoint (at
    ``teacher_ckpt`` load, and after load_from/resume), instead of
    ``NonFiniteLossHook`` stopping at iteration 1 and blaming the learning
    rate or the temperature. Upstream: none found.

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

    from mmengine.model.weight_init import PretrainedInit
    from mmengine.runner import Runner
    from mmrazor.models import SingleTeacherDistill

    if 'teacher_ckpt_strict' not in inspect.signature(
            SingleTeacherDistill.__init__).parameters:
        _patch_teacher_ckpt_strict(SingleTeacherDistill)
        _mark('strict_teacher_ckpt')
    load = inspect.signature(Runner.load_checkpoint,
                             follow_wrapped=False).parameters
    if load['strict'].default is False:
        _patch_runner_strict_loading(Runner)
        _mark('strict_runner_load_checkpoint')
    if 'strict' not in inspect.signature(PretrainedInit.__init__,
                                         follow_wrapped=False).parameters:
        _patch_pretrained_init_strict(PretrainedInit)
        _mark('strict_pretrained_init')


def _patch_teacher_ckpt_strict(cls):
    import functools
    import inspect

    original = cls.__init__
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self, *args, teacher_ckpt_strict=True,
                 allow_random_teacher=False, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        teacher_ckpt = bound.arguments.get('teacher_ckpt')
        bound.arguments['teacher_ckpt'] = None
        original(*bound.args, **bound.kwargs)
        # Where the teacher's weights come from; None until something loads
        # them (teacher_ckpt here, load_from/resume or a Pretrained init
        # later). Training refuses a teacher that stays random.
        self._teacher_source = None
        self.allow_random_teacher = bool(allow_random_teacher)
        if teacher_ckpt:
            _load_teacher(self.teacher, teacher_ckpt, teacher_ckpt_strict)
            # Keeps init_weights() from overwriting the loaded weights.
            self.teacher._is_init = True
            self._teacher_source = f'teacher_ckpt={teacher_ckpt!r}'

    params = list(signature.parameters.values())
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                               default=default)
             for name, default in (('teacher_ckpt_strict', True),
                                   ('allow_random_teacher', False))]
    __init__.__signature__ = signature.replace(
        parameters=params[:-1] + extra + params[-1:])
    cls.__init__ = __init__


class RandomTeacherError(RuntimeError):
    """A distiller is about to train from a teacher nothing loaded."""


def _check_teacher_loaded(runner):
    """Before the first step: a distiller's teacher must have been loaded
    (``teacher_ckpt``, a ``load_from``/resume checkpoint holding it, or a
    ``Pretrained`` init of the whole teacher) unless the config opts in."""
    from mmengine.model import is_model_wrapper
    from mmrazor.models import SingleTeacherDistill
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    if not isinstance(model, SingleTeacherDistill):
        return
    source = getattr(model, '_teacher_source', None) or getattr(
        model.teacher, '_relkd_pretrained_from', None)
    if source:
        _check_teacher_finite(model.teacher, source)
        return
    if getattr(model, 'allow_random_teacher', False):
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


def _load_teacher(teacher, filename, strict):
    from mmengine.logging import print_log
    from mmengine.runner.checkpoint import (_load_checkpoint,
                                            _load_checkpoint_to_model)

    from relkd_mm.runner import strict_loading
    checkpoint = _load_checkpoint(filename, map_location='cpu')
    state = strict_loading.state_dict_of(checkpoint)
    # Named as the teacher's NaN before the strict check names the keys.
    _check_state_finite(teacher, state, '', f'teacher_ckpt={filename!r}')
    if strict:
        strict_loading.check(
            teacher, state, filename, 'teacher_ckpt',
            'To load only the matching weights on purpose, set '
            '`model.teacher_ckpt_strict=False`.')
    else:
        diff = strict_loading.describe(*strict_loading.compare(teacher,
                                                               state))
        if diff:
            print_log(f'teacher_ckpt {filename!r} loaded partially '
                      f'(teacher_ckpt_strict=False): {diff}',
                      logger='current', level=30)
    _load_checkpoint_to_model(teacher, checkpoint, strict=False)
    # "loaded" only when the teacher holds the file's tensors: a copy that
    # failed (MMEngine logs it and goes on) is an error naming them.
    strict_loading.verify_copied(teacher, state, filename, 'teacher_ckpt')
    _check_teacher_finite(teacher, f'teacher_ckpt={filename!r}')
    print_log(f'teacher_ckpt: loaded {filename}', logger='current')


class NonFiniteTeacherError(ValueError):
    """A teacher's weights hold NaN or inf: its outputs can not be
    finite."""


def _check_state_finite(teacher, state, prefix, source):
    """:class:`NonFiniteTeacherError` when the teacher's entries of the
    loaded ``state`` (keys ``prefix + key``) hold NaN or inf: named as the
    teacher's, before the strict check would list them as values."""
    keys = [prefix + k for k, v in teacher.state_dict().items()
            if v.is_floating_point()]
    values = [(k, state[k]) for k in keys
              if isinstance(state.get(k), torch.Tensor)
              and state[k].is_floating_point() and not state[k].is_meta
              and state[k].layout == torch.strided]
    bad = [k[len(prefix):] for k, v in values
           if not bool(torch.isfinite(v).all())]
    if bad:
        raise NonFiniteTeacherError(
            f'the teacher loaded from {source} holds NaN or inf in '
            f'{len(bad)} of its {len(keys)} tensors (e.g. '
            f'{", ".join(bad[:3])}): its outputs are not finite, so neither '
            'is any distillation loss. The checkpoint is corrupt or comes '
            'from a run that diverged: use another teacher checkpoint.')


def _check_teacher_finite(teacher, source):
    """One pass over the teacher's floating tensors (a single host sync):
    NaN weights would make every output, hence every distillation loss,
    NaN at iteration 1, where the loss hook can only blame the learning
    rate or the temperature."""
    tensors = [(k, v) for k, v in teacher.state_dict().items()
               if v.is_floating_point()]
    if not tensors:
        return
    finite = torch.stack([torch.isfinite(v).all() for _, v in tensors])
    if bool(finite.all()):
        return
    bad = [k for (k, _), ok in zip(tensors, finite.tolist()) if not ok]
    raise NonFiniteTeacherError(
        f'the teacher loaded from {source} holds NaN or inf in {len(bad)} '
        f'of its {len(tensors)} tensors (e.g. {", ".join(bad[:3])}): its '
        'outputs are not finite, so neither is any distillation loss. The '
        'checkpoint is corrupt or comes from a run that diverged: use '
        'another teacher checkpoint.')


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
            from relkd_mm.runner import strict_loading
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
    from relkd_mm.runner import strict_loading
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

    from relkd_mm.runner import strict_loading
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

    from relkd_mm.runner import strict_loading
    state = strict_loading.state_dict_of(checkpoint, revise_keys)
    name = policy['filename']
    if hasattr(model, 'teacher') and hasattr(model, '_teacher_source'):
        kind = 'resume' if policy['resume'] else 'load_from'
        _check_state_finite(model.teacher, state,
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


def _patch_pretrained_init_strict(init_cls):
    import functools

    original_init = init_cls.__init__

    @functools.wraps(original_init)
    def __init__(self, checkpoint, prefix=None, map_location='cpu',
                 strict=True):
        original_init(self, checkpoint, prefix=prefix,
                      map_location=map_location)
        self.strict = strict

    def __call__(self, module):
        from mmengine.logging import print_log
        from mmengine.model.weight_init import update_init_info
        from mmengine.runner.checkpoint import (_load_checkpoint,
                                                _load_checkpoint_with_prefix,
                                                load_state_dict)

        from relkd_mm.runner import strict_loading
        if self.prefix is None:
            state = strict_loading.state_dict_of(
                _load_checkpoint(self.checkpoint, self.map_location))
        else:
            state = _load_checkpoint_with_prefix(
                self.prefix, self.checkpoint, map_location=self.map_location)
        if self.strict:
            strict_loading.check(
                module, state, self.checkpoint,
                "init_cfg=dict(type='Pretrained')",
                'To load only the matching weights on purpose, add '
                '`strict=False` to that init_cfg.')
        print_log(f'load {self.prefix or "model"} from: {self.checkpoint}',
                  logger='current')
        load_state_dict(module, state, strict=False, logger='current')
        if self.strict:
            strict_loading.verify_copied(
                module, state, self.checkpoint,
                "init_cfg=dict(type='Pretrained')")
        if self.prefix is None and self.strict:
            # The whole module is loaded: a teacher initialised so is not
            # random (see _check_teacher_loaded).
            module._relkd_pretrained_from = f'Pretrained {self.checkpoint!r}'
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    init_cls.__init__ = __init__
    init_cls.__call__ = __call__

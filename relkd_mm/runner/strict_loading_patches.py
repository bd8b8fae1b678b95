"""How the rules of :mod:`relkd_mm.runner.strict_loading` are installed on
MMRazor's ``SingleTeacherDistill`` and MMEngine's ``PretrainedInit``
(patch 6 of :mod:`relkd_mm.compat`): strict ``teacher_ckpt`` and
``Pretrained`` loads, no teacher with NaN or inf weights. (``load_from``,
resume and the random-teacher check are
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner`'s,
:mod:`relkd_mm.runner.load_checks`.)

:mod:`relkd_mm.compat` imports this module before anything imports an mm*
package: it (and ``relkd_mm/runner/__init__.py``) imports none at module
level.
"""
import torch

from relkd_mm.compat.stack import _mark


# ---------------------------------------------------------------------------
# 6. mmengine/mmrazor: non-strict loads, random teachers.
# ---------------------------------------------------------------------------
def patch_strict_checkpoint_loading():
    """Make ``teacher_ckpt`` and ``Pretrained`` loads strict.

    Why: MMRazor's ``SingleTeacherDistill`` loads ``teacher_ckpt`` with
    MMEngine's ``load_checkpoint(strict=False)``: a checkpoint of another
    architecture, or a distillation checkpoint whose keys carry a prefix,
    only logs a warning and the run distils from a random teacher. MMEngine
    0.10.7's ``PretrainedInit`` is non-strict too: a network starts from
    random weights. Upstream: no issue asks for strict loading;
    open-mmlab/mmrazor#650 shows the symptom (a distillation checkpoint's
    ``architecture.`` keys all "missing" in a student, reported only as a
    warning).

    Fix (rules and opt-outs in :mod:`relkd_mm.runner.strict_loading`):
    ``SingleTeacherDistill.__init__`` (hence every subclass) accepts
    ``teacher_ckpt_strict=True`` and loads the teacher itself after the
    original ``__init__``; ``Pretrained`` init accepts ``strict=True``.
    Mismatches raise ``CheckpointMismatchError`` naming the keys. Applied
    only where those loaders are non-strict. The strict check also
    requires each value to be a tensor of a dtype the parameter can take
    (a floating one for a floating parameter): numpy arrays, strings or
    int64 tensors with the right shapes used to pass and leave the weights
    random. Upstream: none found.

    ``SingleTeacherDistill`` also accepts ``allow_random_teacher=False`` and
    records where its teacher came from, for
    :class:`~relkd_mm.runner.relkd_runner.RelKDRunner`'s check that a
    distiller never trains from a random teacher.

    A teacher whose loaded weights hold NaN or inf raises
    :class:`NonFiniteTeacherError` naming the checkpoint (at
    ``teacher_ckpt`` load;
    :class:`~relkd_mm.runner.relkd_runner.RelKDRunner` checks it
    after load_from/resume), instead of ``NonFiniteLossHook`` stopping at
    iteration 1 and blaming the learning rate or the temperature.
    Upstream: none found.
    """
    import inspect

    from mmengine.model.weight_init import PretrainedInit
    from mmrazor.models import SingleTeacherDistill

    if 'teacher_ckpt_strict' not in inspect.signature(
            SingleTeacherDistill.__init__).parameters:
        _patch_teacher_ckpt_strict(SingleTeacherDistill)
        _mark('strict_teacher_ckpt')
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
    _load_checkpoint_to_model(teacher, checkpoint, strict=False,
                              logger='current')
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
            # random (see relkd_mm.runner.load_checks.check_teacher_loaded).
            module._relkd_pretrained_from = f'Pretrained {self.checkpoint!r}'
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    init_cls.__init__ = __init__
    init_cls.__call__ = __call__

"""Checkpoints that must fit the model they are loaded into.

MMEngine and MMRazor load every checkpoint with ``strict=False``: a teacher
checkpoint of another architecture, a student checkpoint with the wrong
prefix, or a resume after a config change only log a warning, and the run
goes on with random weights (or a fresh loss memory). These rules make
those loads strict; what applies them: the
:class:`~relkd_mm.models.algorithms.CheckedSingleTeacherDistill` family and
the ``StrictPretrained`` initializer
(:class:`~relkd_mm.models.utils.StrictPretrainedInit`), which configs name,
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner`'s ``load_from`` and
resume loads (:mod:`relkd_mm.runner.load_checks`) and the tools. Pure
torch, so that models, runner and tools share one error and one message
format.

* ``teacher_ckpt`` of ``CheckedSingleTeacherDistill`` (and its subclasses
  ``VRMDistill`` and ``RefilledDistill``): every key and shape of the
  teacher must match. Opt out with ``teacher_ckpt_strict=False``.
* ``load_from``: the networks (every key outside ``distiller.``) must match;
  keys of the distiller (losses' memories, connectors) may differ, e.g.
  REFILLED stage 2 starting from stage 1, and are listed in the log. Opt out
  with the top-level config key ``load_from_strict=False``.
* ``--resume``: every key must match, the losses' memories included.
* every value must be a tensor of a dtype the model's tensor can take (a
  floating one for floating weights): numpy arrays, strings or int64
  tensors of the right shapes are refused, not skipped. It must hold values
  the copy can take: dense (strided), not quantized, not on the ``meta``
  device (no values at all), a plain tensor (no subclass) and, if floating,
  finite. MMEngine's non-strict copy swallows the errors of such values and
  the model keeps its random weights.
* after the copy, every loaded tensor must equal the file's
  (:func:`verify_copied`): a copy that failed is named, never logged as
  "loaded".
* ``init_cfg=dict(type='StrictPretrained', ...)``: every key of the module
  (under ``prefix`` if given) must match; opt out with ``strict=False`` in
  that dict.
* a teacher's weights must be finite (:func:`check_state_finite`,
  :func:`check_teacher_finite`): :class:`NonFiniteTeacherError` names the
  checkpoint.
"""
import re
from collections import OrderedDict

import torch

#: How many keys of each kind an error message lists.
SHOWN = 10


class CheckpointMismatchError(RuntimeError, ValueError):
    """A checkpoint's keys or shapes do not match the model.

    The one error of every strict load, the runner's and the tools'
    (``convert_repdistiller_teacher``, ``export_student``,
    ``visualize_relations``), with one message format. A RuntimeError, as
    the runner's loads have always raised, and a ValueError, as the
    converter's did: callers catching either keep working.

    Attributes:
        missing (list[str]): Keys of the model absent from the checkpoint.
        unexpected (list[str]): Keys of the checkpoint absent from the model.
        mismatched (list[tuple]): ``(key, checkpoint shape, model shape)``.
        wrong_type (list[tuple]): ``(key, what the checkpoint holds, what
            the model's tensor needs)``: values that are no tensor, or a
            tensor of a dtype that does not fit (torch would skip them, or
            copy integers into float weights).
    """

    def __init__(self, message, missing=(), unexpected=(), mismatched=(),
                 wrong_type=()):
        super().__init__(message)
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        self.mismatched = list(mismatched)
        self.wrong_type = list(wrong_type)


def state_dict_of(checkpoint, revise_keys=((r'^module\.', ''), )):
    """The state dict of a loaded checkpoint, with MMEngine's default key
    revision (DDP's ``module.`` prefix dropped)."""
    state = checkpoint.get('state_dict', checkpoint) \
        if isinstance(checkpoint, dict) else checkpoint
    if not isinstance(state, dict):
        raise CheckpointMismatchError(
            f'the checkpoint holds a {type(state).__name__}, not a state '
            'dict (a dict of tensors, or a dict with a `state_dict`).')
    for pattern, repl in revise_keys:
        state = OrderedDict(
            (re.sub(pattern, repl, k), v) for k, v in state.items())
    return state


def _value_problem(value):
    """``(what the value is, the fix)`` when the tensor ``value`` holds no
    values a copy can take, or None. Checked before the dtype: a meta,
    sparse or quantized tensor has the right shape and may have the right
    dtype, and MMEngine's non-strict copy only logs the failure."""
    if type(value) not in (torch.Tensor, torch.nn.Parameter):
        kind = type(value)
        return (f'a {kind.__module__}.{kind.__qualname__} (a tensor '
                'subclass)', 'save plain tensors (torch.Tensor)')
    if value.is_meta:
        return ('a tensor on the meta device',
                'it holds no values (a model built on the meta device was '
                'saved): save the real weights')
    if value.layout != torch.strided:
        return (f'a {str(value.layout).replace("torch.", "")} tensor',
                'the model needs a dense tensor: convert it with '
                '.to_dense()')
    if value.is_quantized:
        return (f'a quantized {value.dtype} tensor',
                'dequantize it with .dequantize(), or load it into a '
                'quantized model')
    if value.is_floating_point() or value.is_complex():
        bad = value.numel() - int(torch.isfinite(value).sum())
        if bad:
            return (f'a tensor holding {bad} NaN or inf value(s)',
                    'the checkpoint is corrupt or comes from a run that '
                    'diverged: use another checkpoint')
    return None


def _statistics_problem(key, value):
    """A BatchNorm ``running_var`` with a negative entry: the layer divides
    by its square root, so every output is NaN, and the loss hook could
    only blame the learning rate or the temperature."""
    if not key.endswith('running_var') or \
            not isinstance(value, torch.Tensor) or \
            not value.is_floating_point():
        return None
    negative = int((value < 0).sum())
    if not negative:
        return None
    return (f'a BatchNorm running_var with {negative} negative value(s)',
            'a variance is never negative, so the layer\'s outputs would be '
            'NaN: the checkpoint is corrupt; use another one')


def _type_problem(value, target):
    """Why ``value`` can not be loaded into the tensor ``target`` (None if
    it can): load_state_dict skips a non-tensor with only a warning under
    strict=False, and copies an integer tensor into float weights."""
    if not isinstance(value, torch.Tensor):
        kind = type(value)
        return f'{kind.__module__}.{kind.__qualname__}'.replace(
            'builtins.', '')
    problem = _value_problem(value)
    if problem is not None:
        return problem
    if target.is_floating_point() or target.is_complex():
        if not (value.is_floating_point() or value.is_complex()) or \
                not torch.can_cast(value.dtype, target.dtype):
            return f'a {value.dtype} tensor'
    elif not torch.can_cast(value.dtype, target.dtype):
        return f'a {value.dtype} tensor'
    return None


def compare(model, state_dict):
    """Missing, unexpected, shape-mismatched and wrongly typed keys of
    ``state_dict`` against ``model.state_dict()``."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [(k, tuple(v.shape), tuple(expected[k].shape))
                  for k, v in state_dict.items()
                  if k in expected and hasattr(v, 'shape')
                  and tuple(v.shape) != tuple(expected[k].shape)]
    wrong_type = []
    for key, value in state_dict.items():
        if key in expected:
            problem = _type_problem(value, expected[key]) or \
                _statistics_problem(key, value)
            if isinstance(problem, tuple):  # a tensor without usable values
                wrong_type.append((key, *problem))
            elif problem is not None:
                wrong_type.append((key, problem, expected[key].dtype))
    return missing, unexpected, mismatched, wrong_type


def describe(missing, unexpected, mismatched, wrong_type=()):
    """A readable list of the differences (at most :data:`SHOWN` keys of
    each kind)."""

    def listed(keys):
        more = len(keys) - SHOWN
        shown = ', '.join(keys[:SHOWN])
        return shown + (f', ... ({more} more)' if more > 0 else '')

    parts = []
    if missing:
        parts.append(f'missing from the checkpoint ({len(missing)}): '
                     + listed(missing))
    if unexpected:
        parts.append(f'unexpected in the checkpoint ({len(unexpected)}): '
                     + listed(unexpected))
    if mismatched:
        parts.append(f'shape mismatch ({len(mismatched)}): ' + listed([
            f'{k} checkpoint {list(c)} vs model {list(m)}'
            for k, c, m in mismatched
        ]))
    if wrong_type:
        parts.append(f'not loadable ({len(wrong_type)}): ' + listed([
            f'{k} is {got}: {need}' if isinstance(need, str) else
            f'{k} is {got}, the model needs a '
            f'{"floating " if need.is_floating_point else ""}tensor '
            f'(castable to {need})'
            for k, got, need in wrong_type
        ]))
    return '; '.join(parts)


#: The prefix of a distiller's teacher keys.
TEACHER_PREFIX = 'teacher.'


def _student_only_hint(missing, model):
    """Why every key missing is the teacher's, when it is: a student-only
    checkpoint (TeacherCheckpointHook) whose ``meta['teacher_ckpt']``
    record was lost, so the teacher could not be rebuilt."""
    teacher = getattr(model, 'teacher', None)
    if not missing or teacher is None or \
            not all(k.startswith(TEACHER_PREFIX) for k in missing):
        return ''
    return (f' The {len(missing)} missing keys are all the teacher\'s: the '
            'file looks like a student-only checkpoint (TeacherCheckpointHook '
            'leaves the frozen teacher out and records its file in '
            "meta['teacher_ckpt']) whose record was lost, so the teacher "
            'can not be rebuilt from it. Start a new run from its student '
            'with the teacher it was trained with: `--cfg-options '
            'model.teacher_ckpt=TEACHER.pth load_from=CHECKPOINT '
            'load_from_strict=False` (without --resume); the teacher is '
            "then teacher_ckpt's.")


def _same_values(a, b):
    """Whether tensor ``a`` (the model's, after the copy) holds ``b`` (the
    file's) as the copy would have cast it; NaN equals NaN."""
    b = b.to(dtype=a.dtype, device=a.device)
    if a.is_floating_point() or a.is_complex():
        return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())
    return torch.equal(a, b)


def copied(model, state_dict, keys=None):
    """``(copied, not_copied)``: the keys of ``state_dict`` (or ``keys``)
    whose tensor in ``model`` holds the file's values after a load, and
    those whose copy failed silently. Keys absent from either side, of
    another shape or of a value that does not fit (:func:`compare` reports
    those) are in neither list."""
    expected = model.state_dict()
    good, bad = [], []
    for key in (state_dict if keys is None else keys):
        value, target = state_dict.get(key), expected.get(key)
        if target is None or not isinstance(value, torch.Tensor) or \
                tuple(value.shape) != tuple(target.shape) or \
                _type_problem(value, target) is not None:
            continue
        (good if _same_values(target, value) else bad).append(key)
    return good, bad


def not_copied(model, state_dict, keys=None):
    """The keys whose copy failed silently (see :func:`copied`)."""
    return copied(model, state_dict, keys)[1]


def verify_copied(model, state_dict, source, what, keys=None):
    """Raise :class:`CheckpointMismatchError` naming the tensors the load
    did not copy: MMEngine's ``load_state_dict(strict=False)`` logs a
    failed ``copy_`` and goes on with the model's random values."""
    bad = not_copied(model, state_dict, keys)
    if bad:
        more = len(bad) - SHOWN
        raise CheckpointMismatchError(
            f'{what}: {len(bad)} tensor(s) of {source!r} were not copied '
            f'into the model: {", ".join(bad[:SHOWN])}'
            + (f', ... ({more} more)' if more > 0 else '') +
            ': after the load the model holds other values than the file. '
            'The file holds values the copy could not take; re-save it '
            'with plain dense tensors.',
            wrong_type=[(k, 'not copied', 'the copy failed') for k in bad])


def check(model, state_dict, source, what, fix, lenient_prefixes=(),
          target=None):
    """Raise :class:`CheckpointMismatchError` if ``state_dict`` does not fit
    ``model``.

    Args:
        model (nn.Module): The module being loaded.
        state_dict (dict): The checkpoint's state dict (keys revised).
        source (str): The checkpoint's file name, for the message.
        what (str): What is being loaded (``'teacher_ckpt'``, ...).
        fix (str): How to opt out, for the message.
        lenient_prefixes (tuple[str]): Keys under these prefixes may differ;
            they are returned instead of raised.
        target (str, optional): What the model is, for the message
            (default: ``the <class> it is loaded into``).

    Returns:
        str: The description of the lenient differences ('' if none).
    """
    missing, unexpected, mismatched, wrong_type = compare(model, state_dict)

    def lenient(key):
        return key.startswith(tuple(lenient_prefixes)) \
            if lenient_prefixes else False

    strict = ([k for k in missing if not lenient(k)],
              [k for k in unexpected if not lenient(k)],
              [m for m in mismatched if not lenient(m[0])],
              [w for w in wrong_type if not lenient(w[0])])
    loose = ([k for k in missing if lenient(k)],
             [k for k in unexpected if lenient(k)],
             [m for m in mismatched if lenient(m[0])],
             [w for w in wrong_type if lenient(w[0])])
    if any(strict):
        raise CheckpointMismatchError(
            f'{what}: checkpoint {source!r} does not match '
            f'{target or f"the {type(model).__name__} it is loaded into"}: '
            f'{describe(*strict)}. Check that the config builds the '
            'architecture the checkpoint was trained with (and, for a '
            'distillation checkpoint, extract the student or teacher '
            f'first). {fix}{_student_only_hint(strict[0], model)}', *strict)
    return describe(*loose)


def load_strictly(model, state_dict, source, what, fix, target=None):
    """:func:`check` every key, shape and type of ``state_dict`` against
    ``model``, then load it (``strict=True``): the tools' strict loads, one
    error and one message format with the runner's."""
    check(model, state_dict, source, what, fix, target=target)
    model.load_state_dict(state_dict, strict=True)
    verify_copied(model, state_dict, source, what)


class NonFiniteTeacherError(ValueError):
    """A teacher's weights hold NaN or inf: its outputs can not be
    finite."""


def _non_finite_message(source, bad, total):
    return (f'the teacher loaded from {source} holds NaN or inf in '
            f'{len(bad)} of its {total} tensors (e.g. '
            f'{", ".join(bad[:3])}): its outputs are not finite, so neither '
            'is any distillation loss. The checkpoint is corrupt or comes '
            'from a run that diverged: use another teacher checkpoint.')


def check_state_finite(teacher, state, prefix, source):
    """Raise :class:`NonFiniteTeacherError` when the teacher's entries of
    the loaded ``state`` (keys ``prefix + key``) hold NaN or inf: named as
    the teacher's, before the strict check would list them as values."""
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
            _non_finite_message(source, bad, len(keys)))


def check_teacher_finite(teacher, source):
    """Raise :class:`NonFiniteTeacherError` when the teacher's loaded
    floating tensors hold NaN or inf, in one pass (a single host sync):
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
        _non_finite_message(source, bad, len(tensors)))

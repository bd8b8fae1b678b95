"""The arguments of a frozen teacher's check against its expected top-1
before training (patch 17 of :mod:`relkd_mm.compat`; the check is
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner`'s, with
:mod:`relkd_mm.runner.teacher_eval`'s hook)."""
from relkd_mm.runner.build_errors import ConfigValueError, _is_number
from ..stack import _mark


# ---------------------------------------------------------------------------
# 17. mmrazor: a bad teacher found only after training.
# ---------------------------------------------------------------------------
def patch_teacher_evaluation():
    """Check a frozen teacher before training.

    Why: a teacher that loads but is bad (a class-count or label-order
    change, a released checkpoint scoring 70.27 instead of the 74.31
    claimed: RepDistiller, MMRazor issue trackers) trains for the whole
    schedule; its accuracy appears only at the first validation, and
    nothing compares it with what was expected. Upstream: none found
    (mmrazor 1.0.0, mmengine 0.10.7).

    Fix: ``SingleTeacherDistill`` (hence ``VRMDistill`` and
    ``RefilledDistill``) accepts ``teacher_expected_top1`` (percent, None:
    no check; ``'metafile'``: the top-1 MMPretrain's metafile gives for the
    zoo ``teacher_ckpt``) and ``teacher_top1_margin`` (points, default 1.0).
    When the first is set,
    :class:`~relkd_mm.runner.relkd_runner.RelKDRunner` evaluates the
    teacher on the validation set after ``load_from``/resume, before
    the first iteration (random state and model mode left as they were),
    logs the value and raises
    :class:`~relkd_mm.runner.teacher_eval.TeacherAccuracyError` naming the
    expected and measured values, the margin and the keys when it is more
    than the margin below; relkd_mm's validation loop
    (:class:`~relkd_mm.engine.loops.TeacherCachedDistillValLoop`) reuses
    that evaluation.

    Why still a patch: the arguments belong to ``SingleTeacherDistill``,
    which the KD and RRD configs build directly, and whose ``__init__`` the
    strict-loading patch (:mod:`relkd_mm.runner.strict_loading_patches`)
    extends too; both move together to a registered subclass once that
    patch does.
    """
    import functools
    import inspect

    from mmrazor.models import SingleTeacherDistill

    init = SingleTeacherDistill.__init__
    signature = inspect.signature(init)
    if 'teacher_expected_top1' not in signature.parameters:

        @functools.wraps(init)
        def distill_init(self, *args, teacher_expected_top1=None,
                         teacher_top1_margin=1.0, **kwargs):
            init(self, *args, **kwargs)
            if teacher_expected_top1 == 'metafile':
                teacher_expected_top1 = _metafile_expectation(
                    self, signature.bind(self, *args, **kwargs).arguments.get(
                        'teacher_ckpt'))
            for key, value in (('teacher_expected_top1',
                                teacher_expected_top1),
                               ('teacher_top1_margin', teacher_top1_margin)):
                if value is None and key == 'teacher_expected_top1':
                    continue
                if not _is_number(value) or not 0 <= value <= 100:
                    raise ConfigValueError(
                        f'{type(self).__name__}: {key}={value!r} must be a '
                        'number of percent (points) between 0 and 100, '
                        "e.g. the teacher's top-1 of configs/teachers/"
                        'README.md or of its MMPretrain metafile.')
            self.teacher_expected_top1 = teacher_expected_top1
            self.teacher_top1_margin = float(teacher_top1_margin)

        params = list(signature.parameters.values())
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                   default=default)
                 for name, default in (('teacher_expected_top1', None),
                                       ('teacher_top1_margin', 1.0))]
        distill_init.__signature__ = signature.replace(
            parameters=params[:-1] + extra + params[-1:])
        SingleTeacherDistill.__init__ = distill_init
        _mark('teacher_expected_top1')


def _metafile_expectation(model, teacher_ckpt):
    """``teacher_expected_top1='metafile'``: the top-1 that MMPretrain's
    metafile gives for the zoo checkpoint ``teacher_ckpt``."""
    from mmengine.logging import print_log

    from relkd_mm.runner.teacher_eval import metafile_top1
    found = metafile_top1(teacher_ckpt) if teacher_ckpt else None
    if found is None:
        raise ConfigValueError(
            f"{type(model).__name__}: teacher_expected_top1='metafile' "
            f'looks the teacher_ckpt up in the metafiles of MMPretrain\'s '
            f'model zoo, but teacher_ckpt={teacher_ckpt!r} is in none of '
            'them (a zoo URL or a local copy with the same file name is). '
            'Give the number instead, e.g. model.teacher_expected_top1=74.31 '
            '(configs/teachers/README.md lists the CIFAR-100 teachers).')
    top1, where = found
    print_log(f'teacher_expected_top1={top1} from the metafile {where}',
              logger='current')
    return top1

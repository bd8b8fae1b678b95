"""A frozen teacher evaluated once, and checked against its expected top-1
before training (patch 17 of :mod:`relkd_mm.compat`; the loop and the hook
it installs are :mod:`relkd_mm.runner.teacher_eval`)."""
from ..stack import _mark
from .config_errors import ConfigValueError, _is_number


# ---------------------------------------------------------------------------
# 17. mmrazor: the frozen teacher evaluated at every validation, a bad
# teacher found only after training.
# ---------------------------------------------------------------------------
def patch_teacher_evaluation():
    """Evaluate a frozen teacher once, and check it before training.

    Why (a): mmrazor 1.0.0's ``SingleTeacherDistillValLoop`` (every
    distillation config of relkd_mm uses it) runs the teacher over the
    whole validation set at every validation, although a frozen teacher's
    metrics never change: each validation costs a teacher pass on top of
    the student's (the teacher is the larger network: resnet32x4 vs
    resnet8x4, ResNet-34 vs ResNet-18; see docs/benchmarks.md). Upstream:
    none found.

    Why (b): a teacher that loads but is bad (a class-count or label-order
    change, a released checkpoint scoring 70.27 instead of the 74.31
    claimed: RepDistiller, MMRazor issue trackers) trains for the whole
    schedule; its accuracy appears only at the first validation, and
    nothing compares it with what was expected. Upstream: none found.

    Fix (a): the loop keeps the teacher's metrics of its first evaluation
    and reuses them (``teacher.accuracy/top1`` is logged at every
    validation as before) while the teacher's tensors are unchanged (their
    identities and version counters: an optimizer step, a load or BatchNorm
    statistics in train mode invalidate it) and the validation dataloader
    and data set are the same (identity, length). Not when the teacher
    trains (``model.teacher_trainable``) or with ``val_cfg.teacher_cache=
    False``. A reused validation draws the random number iterating the
    dataloader would, so the training that follows is bit-identical to
    upstream's. Patched in MMRazor's class rather than registered as a
    relkd_mm loop of the same name: every config and every piece of code
    that builds ``SingleTeacherDistillValLoop`` gets it, with no
    registration order to depend on.

    Fix (b): ``SingleTeacherDistill`` (hence ``VRMDistill`` and
    ``RefilledDistill``) accepts ``teacher_expected_top1`` (percent, None:
    no check; ``'metafile'``: the top-1 MMPretrain's metafile gives for the
    zoo ``teacher_ckpt``) and ``teacher_top1_margin`` (points, default 1.0).
    When the first is set, ``Runner.train`` evaluates the teacher on the
    validation set after ``load_from``/resume, before the first iteration
    (random state and model mode left as they were), logs the value and
    raises
    :class:`~relkd_mm.runner.teacher_eval.TeacherAccuracyError` naming the
    expected and measured values, the margin and the keys when it is more
    than the margin below; the validation loop reuses that evaluation.
    """
    import functools
    import inspect

    from mmengine.runner import Runner
    from mmrazor.engine import SingleTeacherDistillValLoop
    from mmrazor.models import SingleTeacherDistill

    from relkd_mm.runner import teacher_eval
    loop_init = SingleTeacherDistillValLoop.__init__
    if 'teacher_cache' not in inspect.signature(loop_init).parameters:

        @functools.wraps(loop_init)
        def __init__(self, runner, dataloader, evaluator, fp16=False,
                     teacher_cache=True):
            loop_init(self, runner, dataloader, evaluator, fp16)
            self.teacher_cache = bool(teacher_cache)
            self.teacher_evaluations = 0

        __init__.__signature__ = inspect.signature(__init__,
                                                   follow_wrapped=False)
        SingleTeacherDistillValLoop.__init__ = __init__
        SingleTeacherDistillValLoop.run = teacher_eval.run
        _mark('teacher_val_cache')

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

    if not getattr(Runner.train, '_relkd_mm_teacher_check', False):
        original_train = Runner.train

        def train(self):
            from mmengine.model import is_model_wrapper
            model = self.model.module if is_model_wrapper(self.model) \
                else self.model
            hook = None
            if getattr(model, 'teacher_expected_top1', None) is not None:
                hook = teacher_eval.TeacherCheckHook()
                self.register_hook(hook)
            try:
                return original_train(self)
            finally:
                if hook is not None and hook in self._hooks:
                    self._hooks.remove(hook)

        train = functools.wraps(original_train)(train)
        # functools.wraps copies the flags of patch 14 (data_errors).
        train._relkd_mm_teacher_check = True
        Runner.train = train
        _mark('teacher_check')


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

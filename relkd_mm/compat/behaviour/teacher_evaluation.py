"""A frozen teacher checked against its expected top-1 before training
(patch 17 of :mod:`relkd_mm.compat`; the hook it installs is
:mod:`relkd_mm.runner.teacher_eval`'s)."""
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

    Fix: a model that sets ``teacher_expected_top1`` (percent; relkd_mm's
    :class:`~relkd_mm.models.algorithms.CheckedSingleTeacherDistill` and its
    subclasses ``VRMDistill`` and ``RefilledDistill`` take it, with
    ``teacher_top1_margin``, points, default 1.0) has ``Runner.train``
    evaluate the teacher on the validation set after ``load_from``/resume,
    before the first iteration (random state and model mode left as they
    were), log the value and raise
    :class:`~relkd_mm.runner.teacher_eval.TeacherAccuracyError` naming the
    expected and measured values, the margin and the keys when it is more
    than the margin below; relkd_mm's validation loop
    (:class:`~relkd_mm.engine.loops.TeacherCachedDistillValLoop`) reuses
    that evaluation.

    Why still a patch: the check runs between ``Runner.train``'s loading
    and its first iteration, whatever hooks the config lists. The
    arguments themselves are no patch any more (they belong to the
    registered algorithm above), nor is the evaluation of the teacher at
    every validation (the registered loop above, which relkd_mm's configs
    name in ``val_cfg``).
    """
    import functools

    from mmengine.runner import Runner

    from relkd_mm.runner import teacher_eval
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
        # functools.wraps copies the flags of an earlier wrapper (the
        # strict-loading patch's): this one's marks it as well.
        train._relkd_mm_teacher_check = True
        Runner.train = train
        _mark('teacher_check')

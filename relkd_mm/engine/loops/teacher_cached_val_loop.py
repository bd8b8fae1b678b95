"""MMRazor's distillation validation loop with the frozen teacher evaluated
once (``val_cfg = dict(type='mmrazor.TeacherCachedDistillValLoop')``)."""
from mmrazor.engine import SingleTeacherDistillValLoop
from mmrazor.registry import LOOPS

from relkd_mm.runner import teacher_eval


@LOOPS.register_module()
class TeacherCachedDistillValLoop(SingleTeacherDistillValLoop):
    """:class:`~mmrazor.engine.SingleTeacherDistillValLoop` that keeps the
    teacher's metrics of its first evaluation while the teacher and the
    validation set stay the same.

    Why: mmrazor 1.0.0's loop runs the teacher over the whole validation
    set at every validation, although a frozen teacher's metrics never
    change: each validation costs a teacher pass on top of the student's,
    and the teacher is the larger network (resnet32x4 vs resnet8x4,
    ResNet-34 vs ResNet-18; docs/benchmarks.md). No upstream issue found.

    The kept metrics (``teacher.accuracy/top1`` is logged at every
    validation as before) are reused while the teacher's tensors are
    unchanged (their identities and version counters: an optimizer step, a
    load or BatchNorm statistics in train mode invalidate them) and the
    validation dataloader and data set are the same (identity, length);
    never when the teacher trains (``model.teacher_trainable``). A reused
    validation draws the random number that iterating the dataloader
    would, so the training that follows is bit-identical to upstream's.
    The teacher check before training (``model.teacher_expected_top1``)
    stores its evaluation here too, so the first validation reuses it.

    A subclass that relkd_mm's distillation configs name in ``val_cfg``,
    not a patch of MMRazor's loop: a config that names
    ``SingleTeacherDistillValLoop`` gets MMRazor's.

    Args:
        teacher_cache (bool): Reuse the teacher's metrics as above; False
            evaluates the teacher at every validation (upstream's
            behaviour). Defaults to True.
        Others: :class:`~mmrazor.engine.SingleTeacherDistillValLoop`'s.
    """

    def __init__(self, runner, dataloader, evaluator, fp16=False,
                 teacher_cache=True):
        super().__init__(runner, dataloader, evaluator, fp16)
        self.teacher_cache = bool(teacher_cache)
        #: Full teacher passes so far (tests and
        #: tools/analysis/teacher_val_cost.py count them).
        self.teacher_evaluations = 0

    def run(self):
        """Validate the student, then the teacher unless its kept metrics
        belong to this teacher and validation set."""
        runner = self.runner
        runner.call_hook('before_val')
        runner.call_hook('before_val_epoch')
        runner.model.eval()
        for idx, data_batch in enumerate(self.dataloader):
            self.run_iter(idx, data_batch)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))

        teacher_metrics = teacher_eval.cached_teacher_metrics(self)
        if teacher_metrics is None:
            teacher_metrics = teacher_eval.evaluate_teacher(self, hooks=True)
        else:
            teacher_eval.draw_iterator_seed(self.dataloader)
            if not getattr(self, '_said_reused', False):
                self._said_reused = True
                runner.logger.info(
                    f'{type(self).__name__}: the teacher is frozen and the '
                    'validation set unchanged: its metrics of the first '
                    'evaluation are reused at every validation (set '
                    'val_cfg.teacher_cache=False to evaluate it each time).')
        for key, value in teacher_metrics.items():
            metrics['teacher.' + key] = value

        runner.call_hook('after_val_epoch', metrics=metrics)
        runner.call_hook('after_val')

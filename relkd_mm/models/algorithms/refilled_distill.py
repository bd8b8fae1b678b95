"""REFILLED: distillation from a teacher of another label space."""
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS

from .checked_single_teacher_distill import CheckedSingleTeacherDistill
from .teacher import teacher_forward


@MODELS.register_module()
class RefilledDistill(CheckedSingleTeacherDistill):
    """Single-teacher distillation where the teacher may have been trained on
    a different label space (REFILLED, Ye et al., TPAMI 2022).

    Unlike :class:`CheckedSingleTeacherDistill`:

    * the teacher runs in ``mode='tensor'``: it never computes a loss with
      the student's labels, which may be meaningless or out of range for its
      head. Its recorders still capture its features (and the logits of its
      head, for the weighted stage-2 loss);
    * the teacher is always in full eval mode, dropout included, not only
      its BatchNorm layers;
    * ``calculate_student_loss`` (MMRazor's name) adds the student's own
      cross-entropy: off in stage 1, on in stage 2. The student still runs
      in ``mode='loss'`` so that its label recorder (on
      ``head.loss_module``) sees the labels.

    Args:
        calculate_student_loss (bool): Add the student's task loss.
            Defaults to True.
        **kwargs: Arguments of :class:`CheckedSingleTeacherDistill`
            except ``teacher_trainable`` and ``teacher_norm_eval``, which
            REFILLED fixes.
    """

    def __init__(self,
                 *args,
                 calculate_student_loss=True,
                 **kwargs):
        for key in ('teacher_trainable', 'teacher_norm_eval'):
            if key in kwargs:
                raise ValueError(
                    f'RefilledDistill: do not set `{key}`: the teacher is '
                    'always frozen and in eval mode.')
        super().__init__(
            *args,
            calculate_student_loss=calculate_student_loss,
            teacher_trainable=False,
            teacher_norm_eval=True,
            **kwargs)

    def loss(self, batch_inputs, data_samples=None):
        """Teacher features (tensor mode, no gradient), then the student's
        loss pass, then the distillation losses."""
        teacher_forward(self, batch_inputs, data_samples)

        self.distiller.set_deliveries_override(True)
        with self.distiller.student_recorders, self.distiller.deliveries:
            student_losses = self.student(
                batch_inputs, data_samples, mode='loss')
        losses = dict()
        if self.calculate_student_loss:
            losses.update(add_prefix(student_losses, 'student'))
        if not self.distillation_stopped:
            losses.update(
                add_prefix(self.distiller.compute_distill_losses(),
                           'distill'))
        return losses

    def train(self, mode=True):
        super().train(mode)
        self.teacher.eval()
        return self

"""VRM: distillation on the real and virtual views of every sample."""
import torch
from mmpretrain.models import ClsDataPreprocessor, ClsHead
from mmrazor.models.utils import add_prefix
from mmrazor.registry import MODELS

from ..data_preprocessors import MultiViewClsDataPreprocessor
from .checked_single_teacher_distill import CheckedSingleTeacherDistill
from .teacher import teacher_forward

_PIPELINE_HINT = (
    'The train pipeline must give every sample a real and a virtual view: '
    "dict(type='MultiView', num_views=[1, 1], transforms=[real_pipeline, "
    "real_pipeline + [dict(type='RandAugment', ...)]]) before "
    "dict(type='PackInputs'), with model.data_preprocessor="
    "dict(type='mmpretrain.MultiViewClsDataPreprocessor', ...); see "
    'configs/_base_/distill/vrm_cifar100_1xb64.py.')


def _rows(logits, stop):
    """The first ``stop`` rows of a head's output (a tensor or, for heads
    such as ConformerHead, a tuple of tensors)."""
    if isinstance(logits, (tuple, list)):
        return type(logits)(_rows(x, stop) for x in logits)
    return logits[:stop]


def _record_both_views(recorders, model, inputs, logits, data_samples):
    """Make the recorders of per-sample data cover the ``2B`` rows, as
    ``student_ce='both'`` records them.

    With ``student_ce='real'`` the head's loss module runs on the ``B``
    real rows only, so a recorder of its inputs (the labels of MMRazor's
    ``DKDLoss``: ``ModuleInputs`` on ``head.loss_module``, ``data_idx=1``)
    would hold ``B`` labels beside ``2B`` logit rows: DKD's masks then
    leave the virtual rows without a target class and its loss is NaN at
    the first step. Such a record is replaced by the loss module's inputs
    on all rows, ``(logits, cat([labels, labels]))`` (the labels of a
    sample are those of both its views; the task loss itself stays on the
    real rows). A recorder of the network's own inputs (``source=''``, the
    data samples of MMRazor's ``CRDLoss``), which the real path never
    calls, records ``(inputs, data_samples * 2)``.
    """
    from mmrazor.models.task_modules.recorder import ModuleInputsRecorder
    loss_module = getattr(getattr(model, 'head', None), 'loss_module', None)
    for recorder in recorders.recorders.values():
        if not isinstance(recorder, ModuleInputsRecorder):
            continue
        buffer = recorder.data_buffer
        if recorder.source == '' and not buffer:
            buffer.append((inputs, list(data_samples) * 2))
            continue
        try:
            module = model.get_submodule(recorder.source)
        except AttributeError:
            continue
        if module is loss_module and loss_module is not None and buffer:
            record = buffer[-1]
            target = record[1]
            buffer[-1] = (logits, torch.cat([target, target]),
                          *record[2:])


@MODELS.register_module()
class VRMDistill(CheckedSingleTeacherDistill):
    """Single-teacher distillation on two views per sample (VRM, Zhang et
    al., ICCV 2025).

    Each training batch arrives as two views of the same ``B`` samples, the
    real view and the virtual one (``MultiView`` in the pipeline, kept apart
    by :class:`MultiViewClsDataPreprocessor`). Teacher and student each run
    once on their concatenation, real rows first, then virtual rows in the
    same sample order, so every recorder (e.g. ``ModuleOutputs`` on
    ``head.fc``) sees ``2B`` rows, the layout that
    :class:`~relkd_mm.models.losses.VRMLoss` expects; other MMRazor losses
    in the same distiller see the same ``2B`` rows.

    * The teacher runs in ``mode='tensor'`` without gradient: it computes no
      loss of its own (unless ``teacher_trainable``).
    * The student's task loss is its head's loss on the real rows
      (``student_ce='real'``) or on all ``2B`` rows with the labels repeated
      (``'both'``). ``'real'`` runs the student as ``head(extract_feat(x))``
      and the head's ``_get_loss`` on the first ``B`` rows, so it needs an
      :class:`~mmpretrain.models.ImageClassifier` whose head is a
      ``ClsHead`` that does not override ``loss`` (every linear, stacked
      and vision-transformer head); ``'both'`` runs the student's own
      ``mode='loss'`` and works with any MMPretrain classifier.
    * Per-sample data that MMRazor's losses take cover the ``2B`` rows in
      both modes: a recorder of the labels (``head.loss_module`` inputs,
      e.g. for ``DKDLoss``) sees the ``2B`` logits and the labels repeated
      for the virtual rows, a recorder of the network's inputs
      (``source=''``, e.g. ``CRDLoss``'s data samples) the ``2B`` inputs
      and the data samples repeated.

    Args:
        student_ce (str): ``'real'`` or ``'both'``. Defaults to ``'real'``.
        **kwargs: Arguments of :class:`CheckedSingleTeacherDistill`.
    """

    #: Rows each sample adds to the recorders per step (the real and the
    #: virtual view), relkd_mm.models.interfaces.MultiViewAlgorithm:
    #: TrainCheckHook sizes RRD memories with it.
    num_views = 2

    STUDENT_CE = ('real', 'both')

    def __init__(self, *args, student_ce='real', **kwargs):
        super().__init__(*args, **kwargs)
        if student_ce not in self.STUDENT_CE:
            raise ValueError(f'VRMDistill: student_ce={student_ce!r} is not '
                             f'one of {self.STUDENT_CE}.')
        self.student_ce = student_ce
        if (isinstance(self.data_preprocessor, ClsDataPreprocessor)
                and not isinstance(self.data_preprocessor,
                                   MultiViewClsDataPreprocessor)):
            raise TypeError(
                'VRMDistill: model.data_preprocessor is a '
                f'{type(self.data_preprocessor).__name__}, which stacks the '
                'views of a sample into one tensor. ' + _PIPELINE_HINT)
        if student_ce == 'real':
            self._check_real_ce('student', self.student)
            if self.teacher_trainable:
                self._check_real_ce('teacher', self.teacher)

    @staticmethod
    def _check_real_ce(name, model):
        head = getattr(model, 'head', None)
        if not (hasattr(model, 'extract_feat') and isinstance(head, ClsHead)
                and type(head).loss is ClsHead.loss):
            raise TypeError(
                f"VRMDistill: student_ce='real' needs the {name} to be an "
                'ImageClassifier whose head is a ClsHead that keeps '
                'ClsHead.loss (its loss is computed on the real rows only); '
                f'got {type(model).__name__} with head '
                f"{type(head).__name__}. Use student_ce='both'.")

    def _views(self, batch_inputs, data_samples):
        """Check the two views and concatenate them, real rows first."""
        if isinstance(batch_inputs, torch.Tensor):
            got = ('a (V, B, C, H, W) tensor: ClsDataPreprocessor stacked '
                   'the views' if batch_inputs.dim() == 5 else
                   f'one view, a tensor of shape {tuple(batch_inputs.shape)}')
            raise ValueError(
                'VRMDistill needs a real and a virtual view of every sample '
                f'but got {got}. ' + _PIPELINE_HINT)
        if len(batch_inputs) != 2:
            raise ValueError(
                'VRMDistill needs exactly 2 views per sample (real, virtual), '
                f'got {len(batch_inputs)}. ' + _PIPELINE_HINT)
        real, virtual = batch_inputs
        if real.shape != virtual.shape:
            raise ValueError(
                'VRMDistill: the real and virtual views differ in shape, '
                f'{tuple(real.shape)} and {tuple(virtual.shape)}: both '
                'pipelines must end at the same image size.')
        if data_samples is not None and len(data_samples) != len(real):
            raise ValueError(
                f'VRMDistill: {len(data_samples)} data samples for '
                f'{len(real)} images per view.')
        return torch.cat([real, virtual]), len(real)

    def _task_loss(self, model, inputs, data_samples, batch, recorders):
        if self.student_ce == 'both':
            return model(inputs, list(data_samples) * 2, mode='loss')
        logits = model.head(model.extract_feat(inputs))
        losses = model.head._get_loss(_rows(logits, batch), data_samples)
        _record_both_views(recorders, model, inputs, logits, data_samples)
        return losses

    def loss(self, batch_inputs, data_samples=None):
        """Run teacher and student once each on the ``2B`` views, then the
        distillation losses."""
        inputs, batch = self._views(batch_inputs, data_samples)
        losses = dict()

        if self.teacher_trainable:
            self.distiller.set_deliveries_override(False)
            with self.distiller.teacher_recorders, self.distiller.deliveries:
                losses.update(
                    add_prefix(
                        self._task_loss(self.teacher, inputs, data_samples,
                                        batch,
                                        self.distiller.teacher_recorders),
                        'teacher'))
        else:
            teacher_forward(self, inputs)

        self.distiller.set_deliveries_override(True)
        with self.distiller.student_recorders, self.distiller.deliveries:
            if self.calculate_student_loss:
                losses.update(
                    add_prefix(
                        self._task_loss(self.student, inputs, data_samples,
                                        batch,
                                        self.distiller.student_recorders),
                        'student'))
            elif self.student_trainable:
                self.student(inputs, mode='tensor')
            else:
                with torch.no_grad():
                    self.student(inputs, mode='tensor')

        if not self.distillation_stopped:
            losses.update(
                add_prefix(self.distiller.compute_distill_losses(),
                           'distill'))
        return losses

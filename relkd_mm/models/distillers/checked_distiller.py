"""``ConfigurableDistiller`` whose misconfigurations (recorders, loss
mappings, a loss failing on its inputs) are reported at build time, naming
the loss and the recorders."""
import difflib
import inspect

from mmrazor.models import ConfigurableDistiller
from mmrazor.models.task_modules.recorder import (ModuleInputsRecorder,
                                                  ModuleOutputsRecorder)
from mmrazor.registry import MODELS


@MODELS.register_module()
class CheckedConfigurableDistiller(ConfigurableDistiller):
    """MMRazor's ``ConfigurableDistiller`` with clear, early errors.

    MMRazor 1.0.0 reports a recorder whose ``source`` is not a module of
    the model with a bare ``assert`` (``"head.fcx" is not in the
    model.``), a recorder whose module never ran in the forward pass with
    ``record_idx is illegal. The length of data_buffer is 0``, a loss
    argument that no ``loss_forward_mappings`` entry provides only at the
    first step (``forward() missing 1 required positional argument``), a
    mapping key that the loss's ``forward`` does not take with ``preds_S
    is not in the signature of DISTLoss forward``, without the keys it
    takes, and a loss failing on its inputs (e.g. 10 teacher classes
    against 100 student classes) with a bare shape error that names
    neither the loss nor the recorders. Upstream: no issue found.

    This distiller checks at build time that every mapping names a
    recorder of its side, that every mapping key is an argument of the
    loss's ``forward`` (naming the ones it takes), that every argument of
    a loss's ``forward`` without a default is mapped and that every
    recorder's source exists (suggesting close module names); at loss time
    that every recorder holds data, and it re-raises a loss's error with
    the loss's name, its type and the shapes and origins of its inputs. An
    input that is a tuple (a recorder on a module returning one, e.g.
    ``source='neck'`` without ``data_idx``, which failed with ``'tuple'
    object has no attribute 'detach'``) names the recorder, its source and
    ``data_idx``.

    Its arguments are those of ``ConfigurableDistiller``; relkd_mm's
    configs name it as ``distiller=dict(type='CheckedConfigurableDistiller',
    ...)``.
    """

    def _check_loss_forward_mappings(self, losses, loss_forward_mappings,
                                     student_recorders, teacher_recorders):
        for name, mapping in (loss_forward_mappings or {}).items():
            for key, record in (mapping or {}).items():
                if not isinstance(record, dict) or 'recorder' not in record:
                    continue
                which = 'student' if record.get('from_student') \
                    else 'teacher'
                known = (student_recorders if which == 'student' else
                         teacher_recorders).recorders
                if record['recorder'] not in known:
                    raise ValueError(
                        f'distiller: loss_forward_mappings[{name!r}]'
                        f'[{key!r}] uses recorder={record["recorder"]!r}, '
                        f'which is not one of the {which}_recorders '
                        f'{sorted(known)}. Define it in {which}_recorders '
                        'or fix the name (from_student selects the side).')
        for name, mapping in (loss_forward_mappings or {}).items():
            if name not in losses:  # MMRazor's own check names it
                continue
            loss = losses[name]
            params = inspect.signature(loss.forward).parameters.values()
            if any(p.kind == p.VAR_KEYWORD for p in params):
                continue
            takes = [p.name for p in params if p.kind not in (
                p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            unknown = [k for k in (mapping or {}) if k not in takes]
            if unknown:
                raise ValueError(
                    f'distiller: loss_forward_mappings[{name!r}] maps '
                    f'{unknown}, which the forward of loss {name!r} '
                    f'({type(loss).__name__}) does not take: it takes '
                    f'{takes}. Rename the key(s) to those (e.g. DISTLoss '
                    'takes logits_S/logits_T where KLDivergence takes '
                    'preds_S/preds_T).')
        super()._check_loss_forward_mappings(losses, loss_forward_mappings,
                                             student_recorders,
                                             teacher_recorders)
        for name, loss in losses.items():
            mapped = loss_forward_mappings.get(name, {})
            params = inspect.signature(loss.forward).parameters.values()
            required = [p.name for p in params
                        if p.default is p.empty
                        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            unmapped = [r for r in required if r not in mapped]
            if unmapped:
                raise ValueError(
                    f'distiller: loss {name!r} ({type(loss).__name__}) needs '
                    f'the argument(s) {unmapped} of its forward, but '
                    f'loss_forward_mappings[{name!r}] maps only '
                    f'{sorted(mapped)}. Add e.g. {unmapped[0]}=dict('
                    "from_student=..., recorder='...') to "
                    f'loss_forward_mappings[{name!r}].')

    def prepare_from_student(self, model):
        self._check_sources('student', model)
        super().prepare_from_student(model)

    def prepare_from_teacher(self, model):
        self._check_sources('teacher', model)
        super().prepare_from_teacher(model)

    def _check_sources(self, which, model):
        """Every module recorder of ``which`` side records a module of
        ``model``."""
        recorders = getattr(self, f'{which}_recorders').recorders
        modules = [n for n, _ in model.named_modules() if n]
        for key, recorder in recorders.items():
            source = getattr(recorder, 'source', None)
            if isinstance(source, str) and source and isinstance(
                    recorder, (ModuleOutputsRecorder, ModuleInputsRecorder)
            ) and source not in modules:
                close = difflib.get_close_matches(source, modules, n=3)
                hint = (f' Close names: {close}.' if close else '')
                raise ValueError(
                    f'distiller: {which}_recorders[{key!r}] records '
                    f'source={source!r}, which is not a module of the '
                    f'{which} ({type(model).__name__}).{hint} Module '
                    'names are those of model.named_modules(), e.g. '
                    f'{modules[:6]}.')

    def get_record(self, recorder, from_student, record_idx=0,
                   data_idx=None, connector=None, connector_idx=None):
        which = 'student' if from_student else 'teacher'
        manager = self.student_recorders if from_student \
            else self.teacher_recorders
        buffer = manager.get_recorder(recorder).data_buffer
        if len(buffer) <= record_idx:
            source = getattr(manager.get_recorder(recorder), 'source', '?')
            raise RuntimeError(
                f'distiller: {which}_recorders[{recorder!r}] (source='
                f'{source!r}) recorded {len(buffer)} call(s) in this forward '
                f'pass, but record_idx={record_idx} is asked for: the '
                'module did not run. Record a module that runs in this '
                f'mode (e.g. the {which} in tensor mode never calls '
                'head.loss_module; the teacher of RefilledDistill and '
                'VRMDistill runs in tensor mode).')
        return super().get_record(recorder, from_student, record_idx,
                                  data_idx, connector, connector_idx)

    def compute_distill_losses(self):
        losses = dict()
        for loss_name, forward_mappings in self.loss_forward_mappings.items():
            kwargs = {key: self.get_record(**record)
                      for key, record in forward_mappings.items()}
            loss_module = self.distill_losses[loss_name]
            try:
                losses[loss_name] = loss_module(**kwargs)
            except (RuntimeError, ValueError, IndexError, AttributeError,
                    TypeError) as exc:
                raise self._with_loss_context(exc, loss_name, loss_module,
                                              forward_mappings,
                                              kwargs) from exc
        return losses

    def _with_loss_context(self, exc, loss_name, loss_module, mappings,
                           kwargs):
        """``exc`` (of its type where it can be rebuilt from a message)
        with the loss, its type and the shapes and origins of its
        inputs."""

        def shape(value):
            if hasattr(value, 'shape'):
                return tuple(value.shape)
            if isinstance(value, (list, tuple)):
                return f'{type(value).__name__} of {len(value)}'
            return type(value).__name__

        inputs = ', '.join(
            f"{key} {shape(kwargs[key])} from {'student' if m.get('from_student') else 'teacher'} "  # noqa: E501
            f"recorder {m.get('recorder')!r}"
            + (f" via connector {m['connector']!r}"
               if m.get('connector') else '')
            for key, m in mappings.items())
        hint = ''
        shapes = [tuple(kwargs[k].shape) for k in ('preds_S', 'preds_T')
                  if hasattr(kwargs.get(k), 'shape')]
        if len(shapes) == 2 and shapes[0] != shapes[1]:
            hint = (' The student and teacher inputs differ in shape: if '
                    'their heads have different numbers of classes, this '
                    'loss needs equal label spaces (use REFILLED for '
                    'different ones); for features, map them to one size '
                    'with connectors.')
        for key, m in mappings.items():
            value = kwargs[key]
            if isinstance(value, (tuple, list)) and m.get('data_idx') is None:
                which = 'student' if m.get('from_student') else 'teacher'
                manager = getattr(self, f'{which}_recorders')
                source = getattr(manager.get_recorder(m.get('recorder')),
                                 'source', '?')
                hint += (f' {key} is a {type(value).__name__} of '
                         f'{len(value)}: {which}_recorders'
                         f"[{m.get('recorder')!r}] (source={source!r}) "
                         'records a module that returns a '
                         f'{type(value).__name__}; pick one element with '
                         'data_idx=0 in loss_forward_mappings'
                         f'[{loss_name!r}][{key!r}] (or record a module '
                         'that returns a tensor).')
        message = (f'distiller: loss {loss_name!r} '
                   f'({type(loss_module).__name__}) failed on {inputs}: '
                   f'{exc}{hint}')
        try:
            return type(exc)(message)
        except Exception:
            return RuntimeError(message)

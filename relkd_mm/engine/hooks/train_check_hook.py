"""Check the training set-up once before the first step, so that a bad
config or data set fails in seconds with a message naming the cause, not
hours later (or never) with a shape error."""
import logging

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmrazor.registry import HOOKS

from relkd_mm.models.interfaces import RelationalLoss, views_per_sample


@HOOKS.register_module()
class TrainCheckHook(Hook):
    """Validate the data and the distiller before training starts.

    ``before_train`` (after ``load_from``/resume) checks:

    * the training set is not empty;
    * every label lies in ``[0, num_classes)`` of the student's head, and of
      the teacher's head when the algorithm runs the teacher with the
      student's labels (MMRazor's ``SingleTeacherDistill``; ``VRMDistill``
      and ``RefilledDistill`` run it in tensor mode); the first offending
      sample is named;
    * every memory (a :class:`~relkd_mm.models.interfaces.RelationalLoss`
      with a ``memory_size``, e.g. ``RRDLoss``) holds at least the rows one
      step writes (``memory_rows_per_step``: ``batch_size`` x world size,
      or x 1 with RRD's ``per_rank_memory``; x the algorithm's
      ``num_views``, 2 for ``VRMDistill``, whose recorders see the real and
      the virtual view of each sample);
    * losses that relate the samples of a batch (``relates_batch_samples =
      True``: ``VRMLoss``, ``RefilledTupleLoss``) never get a batch of one
      sample: neither ``batch_size=1`` nor a last batch of 1 without
      ``drop_last``.

    A distiller whose run never validates (``train_cfg.val_begin`` beyond
    its last epoch or iteration, as REFILLED's stage 1 sets it) is said so
    once, with the way to validate it.

    The components declare these needs through
    :mod:`relkd_mm.models.interfaces`, not the hook by class names: a
    subclass or a renamed loss is checked too.

    Labels come from ``dataset.get_gt_labels()`` (MMPretrain datasets read
    them from the annotations, without decoding images); a dataset without
    it is not label-checked.

    Also, for every run (training, validation or test):

    * ``before_run`` warns, in the log, about each top-level config key
      that nothing reads, naming the closest valid key
      (:func:`~relkd_mm.engine.hooks.config_keys.unknown_config_keys`):
      MMEngine ignores them silently (``optim_wraper`` trains with the base
      config's optimizer);
    * the first batch's images are checked against the first convolution
      of each backbone (the student's and the teacher's): an image with
      another number of channels than ``in_channels`` fails deep in torch's
      convolution with no hint of the config key; here it raises
      ``ValueError`` naming both numbers and the key. A one-shot forward
      pre-hook, removed after the first batch (no cost later).

    These are hooks, not patches of MMEngine: a config without this hook
    (one that does not use relkd_mm's ``default_runtime.py``) gets MMEngine's
    behaviour.
    """

    priority = 'VERY_HIGH'

    def __init__(self):
        self._channel_handles = []

    def before_run(self, runner):
        from .config_keys import unknown_config_keys
        cfg = getattr(runner, 'cfg', None)
        if cfg is None:
            return
        for message in unknown_config_keys(cfg):
            runner.logger.warning(message)
        # relkd_mm's tools check the documented keys before the runner is
        # built; a runner built otherwise (mim, a script) is checked here.
        from relkd_mm.runner.config_values import check_config_values
        check_config_values(cfg)

    def after_train(self, runner):
        self._remove_channel_check()

    def _remove_channel_check(self):
        for handle in self._channel_handles:
            handle.remove()
        self._channel_handles = []

    def before_train(self, runner):
        self._remove_channel_check()
        self._channel_handles = _watch_input_channels(runner.model)
        loader = runner.train_dataloader
        dataset = loader.dataset
        if len(dataset) == 0:
            raise ValueError(
                f'TrainCheckHook: the training set {_describe(dataset)} is '
                'empty. Check train_dataloader.dataset (data_root, '
                'ann_file, data_prefix, split, classes).')
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        student = getattr(model, 'student', model)
        self._check_labels(dataset, student, 'student')
        teacher = getattr(model, 'teacher', None)
        if teacher is not None and _teacher_gets_labels(model):
            self._check_labels(dataset, teacher, 'teacher')
        distiller = getattr(model, 'distiller', None)
        losses = getattr(distiller, 'distill_losses', {})
        self._check_batches(loader, losses, _rows_per_sample(model))
        if distiller is not None:
            _note_no_validation(runner, model)

    @staticmethod
    def _check_labels(dataset, network, name):
        head = getattr(network, 'head', None)
        num_classes = getattr(head, 'num_classes', None)
        if num_classes is None or not hasattr(dataset, 'get_gt_labels'):
            return
        import numpy as np
        labels = np.asarray(dataset.get_gt_labels())
        if labels.ndim != 1 or labels.size == 0:
            return
        bad = np.nonzero((labels < 0) | (labels >= num_classes))[0]
        if bad.size == 0:
            return
        idx = int(bad[0])
        raise ValueError(
            f'TrainCheckHook: sample {idx}{_sample_file(dataset, idx)} of '
            f'the training set {_describe(dataset)} has label '
            f'{int(labels[idx])}, outside the {name} head '
            f'(num_classes={num_classes}); {bad.size} sample(s) are out of '
            f'range, labels span [{labels.min()}, {labels.max()}]. Fix the '
            f'label file or set the {name} head\'s num_classes'
            + ('; for a teacher of another label space use RefilledDistill.'
               if name == 'teacher' else '.'))

    @staticmethod
    def _check_batches(loader, losses, rows_per_sample=1):
        batch = loader.batch_size
        if batch is None:
            return
        world = get_world_size()
        for name, loss in losses.items():
            if not isinstance(loss, RelationalLoss):
                continue  # declares nothing to check (MMRazor's losses)
            kind = type(loss).__name__
            rows = batch * rows_per_sample
            per_step = loss.memory_rows_per_step(rows, world)
            if per_step is not None and loss.memory_size is not None:
                procs = per_step // rows
                if loss.memory_size < per_step:
                    views = (f' x {rows_per_sample} views (the algorithm '
                             'records every view of a sample)'
                             if rows_per_sample > 1 else '')
                    raise ValueError(
                        f'TrainCheckHook: loss {name!r} ({kind}) has '
                        f'queue_size={loss.memory_size}, smaller than the '
                        f'{per_step} teacher embeddings written per step '
                        f'(batch_size={batch}{views} x {procs} '
                        'process(es)): each step would overwrite its own '
                        'writes. Raise queue_size (the paper uses 16384) '
                        'or lower the batch size.')
                _warn_stale_memory(name, loss, loader, rows_per_sample,
                                   world if procs == 1 else 1)
            if not loss.relates_batch_samples:
                continue
            if batch < 2:
                raise ValueError(
                    f'TrainCheckHook: loss {name!r} ({kind}) relates the '
                    'samples of a batch, but train_dataloader.batch_size='
                    f'{batch}. Use a batch size of at least 2.')
            sampler = getattr(loader, 'sampler', None)
            drop_last = getattr(loader, 'drop_last', False) or getattr(
                getattr(loader, 'batch_sampler', None), 'drop_last', False)
            if sampler is not None and hasattr(sampler, '__len__') and \
                    not drop_last and len(sampler) % batch == 1:
                raise ValueError(
                    f'TrainCheckHook: loss {name!r} ({kind}) relates the '
                    f'samples of a batch, but each epoch ends with a batch '
                    f'of 1 sample ({len(sampler)} samples per process, '
                    f'batch_size={batch}). Set train_dataloader.drop_last='
                    'True or change the batch size.')


def _rows_per_sample(model):
    """Rows each sample adds to a recorder per step: the algorithm's
    declared ``num_views`` (VRMDistill: the real and the virtual view)."""
    return views_per_sample(model)


def _teacher_gets_labels(model):
    """Whether the algorithm runs the teacher in loss mode with the
    student's labels (MMRazor's SingleTeacherDistill does)."""
    from mmrazor.models import SingleTeacherDistill
    return isinstance(model, SingleTeacherDistill) and \
        type(model).loss is SingleTeacherDistill.loss


def _describe(dataset):
    parts = [type(dataset).__name__]
    for key in ('data_root', 'ann_file', 'split'):
        value = getattr(dataset, key, None)
        if value:
            parts.append(f'{key}={value!r}')
    return f'{parts[0]}({", ".join(parts[1:])})'


def _sample_file(dataset, idx):
    try:
        info = dataset.get_data_info(idx)
    except Exception:  # the index is named anyway
        return ''
    for key in ('img_path', 'filename', 'file_name'):
        if isinstance(info, dict) and info.get(key):
            return f' ({info[key]})'
    return ''


def _watch_input_channels(model):
    from mmengine.model import is_model_wrapper
    from torch import nn
    model = model.module if is_model_wrapper(model) else model
    networks = [('model', model)]
    if hasattr(model, 'architecture') and hasattr(model, 'teacher'):
        networks = [('model.architecture', model.architecture),
                    ('model.teacher', model.teacher)]
    handles = []
    for key, network in networks:
        backbone = getattr(network, 'backbone', None)
        if not isinstance(backbone, nn.Module):
            continue
        conv = next((m for m in backbone.modules()
                     if isinstance(m, nn.Conv2d)), None)
        if conv is None:
            continue
        own = []  # this hook's handle: it removes itself after one batch
        own.append(backbone.register_forward_pre_hook(_channel_hook(
            f'{key}.backbone', type(backbone).__name__, conv.in_channels,
            own)))
        handles += own
    return handles


def _channel_hook(key, name, expected, handles):

    def hook(module, args):
        x = args[0] if args else None
        if isinstance(x, torch.Tensor) and x.dim() == 4:
            if x.shape[1] != expected:
                raise ValueError(
                    f'{key} ({name}) takes in_channels={expected}, but the '
                    f'first batch holds {x.shape[1]} channel(s) per image '
                    f'(inputs {tuple(x.shape)}). Set {key}.in_channels='
                    f'{x.shape[1]} to fit the data, or convert the images '
                    "(e.g. LoadImageFromFile(color_type='grayscale') for "
                    "1 channel, 'color' for 3), and check the data "
                    "preprocessor's mean/std (one value per channel).")
            for handle in handles:  # checked once: no cost afterwards
                handle.remove()

    return hook


def _warn_stale_memory(name, loss, loader, rows_per_sample, ranks_apart):
    """Say when a memory holds more rows than one epoch writes: its oldest
    rows are then earlier views of the very images the batch shows, and
    the memory's size no longer adds negatives (RRD's paper fills 16384
    rows from CIFAR-100's 50,000 images; docs/results.md)."""
    dataset = getattr(loader, 'dataset', None)
    if dataset is None or not hasattr(dataset, '__len__'):
        return
    per_epoch = len(dataset) * rows_per_sample // ranks_apart
    if per_epoch and loss.memory_size > per_epoch:
        print_log(
            f'TrainCheckHook: loss {name!r} ({type(loss).__name__}) has '
            f'queue_size={loss.memory_size}, more than the {per_epoch} '
            f'teacher embeddings one epoch writes ({len(dataset)} training '
            f'samples x {rows_per_sample} view(s)'
            + (f' / {ranks_apart} ranks' if ranks_apart > 1 else '') +
            f'): {loss.memory_size / per_epoch:.1f} epochs of the same '
            'images. Fine if intended; otherwise set queue_size <= '
            f'{per_epoch}.', logger='current', level=logging.WARNING)


def _note_no_validation(runner, model):
    """Log once that this distillation run never validates, and why."""
    from mmengine.logging import print_log
    loop = getattr(runner, 'train_loop', None)
    # --no-validate / val_cfg=None: asked for, nothing to say.
    if loop is None or getattr(runner, 'val_loop', None) is None:
        return
    by_epoch = hasattr(loop, 'max_epochs')
    last = loop.max_epochs if by_epoch else loop.max_iters
    begin = getattr(loop, 'val_begin', 1)
    if begin <= last:
        return
    unit = 'epoch(s)' if by_epoch else 'iterations'
    why = ''
    if getattr(model, 'calculate_student_loss', True) is False:
        why = (' This stage trains without the student\'s cross-entropy '
               '(calculate_student_loss=False, as REFILLED\'s stage 1): its '
               'classifier is trained by the next stage, whose validation '
               'measures the student.')
    print_log(
        f'TrainCheckHook: this run never validates: train_cfg.val_begin='
        f'{begin} is beyond its {last} {unit}, so no accuracy is logged for '
        f'it (the distillation losses are).{why} To validate it anyway, '
        'set train_cfg.val_begin=1.', 'current')

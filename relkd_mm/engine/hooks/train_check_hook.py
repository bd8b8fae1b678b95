"""Check the training set-up once before the first step, so that a bad
config or data set fails in seconds with a message naming the cause, not
hours later (or never) with a shape error."""
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmrazor.registry import HOOKS


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
    * every memory (a loss with ``memory_rows_per_step``, e.g. ``RRDLoss``)
      holds at least the rows one step writes (``queue_size`` >=
      ``batch_size`` x world size, or x 1 with ``per_rank_memory``; x the
      algorithm's ``num_views``, 2 for ``VRMDistill``, whose recorders see
      the real and the virtual view of each sample);
    * losses that relate the samples of a batch (``relates_batch_samples =
      True``: ``VRMLoss``, ``RefilledTupleLoss``) never get a batch of one
      sample: neither ``batch_size=1`` nor a last batch of 1 without
      ``drop_last``.

    A distiller whose run never validates (``train_cfg.val_begin`` beyond
    its last epoch or iteration, as REFILLED's stage 1 sets it) is said so
    once, with the way to validate it.

    The components declare these needs (class attributes and methods), not
    the hook by class names: a subclass or a renamed loss is checked too.

    Labels come from ``dataset.get_gt_labels()`` (MMPretrain datasets read
    them from the annotations, without decoding images); a dataset without
    it is not label-checked.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner):
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
            kind = type(loss).__name__
            rows_per_step = getattr(loss, 'memory_rows_per_step', None)
            if rows_per_step is not None:
                procs = 1 if getattr(loss, 'per_rank_memory', False) \
                    else world
                per_step = rows_per_step(batch * rows_per_sample, world)
                if loss.queue_size < per_step:
                    views = (f' x {rows_per_sample} views (the algorithm '
                             'records every view of a sample)'
                             if rows_per_sample > 1 else '')
                    raise ValueError(
                        f'TrainCheckHook: loss {name!r} ({kind}) has '
                        f'queue_size={loss.queue_size}, smaller than the '
                        f'{per_step} teacher embeddings written per step '
                        f'(batch_size={batch}{views} x {procs} '
                        'process(es)): each step would overwrite its own '
                        'writes. Raise queue_size (the paper uses 16384) '
                        'or lower the batch size.')
            if not getattr(loss, 'relates_batch_samples', False):
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
    return int(getattr(model, 'num_views', 1))


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

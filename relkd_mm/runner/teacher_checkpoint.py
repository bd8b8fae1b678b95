"""Distillation checkpoints without the frozen teacher.

MMRazor saves a distiller's whole state dict, so every ``epoch_N.pth``
carries a copy of the teacher's pretrained weights (open-mmlab/mmrazor#157,
#594): for ResNet-50 -> MobileNetV2 on ImageNet 97.7 MiB of each
checkpoint's 124.8 MiB (docs/benchmarks.md, "Checkpoint size"). Those
weights are already on disk, in ``model.teacher_ckpt``.

:class:`~relkd_mm.engine.hooks.TeacherCheckpointHook` (registered in every
distillation run of :class:`~relkd_mm.runner.relkd_runner.RelKDRunner`)
therefore
writes *student-only* checkpoints: the state dict without its ``teacher.*``
keys, and ``meta['teacher_ckpt']`` naming the teacher file and its sha256
(:func:`strip_teacher`). Everything else stays: the student, the
distiller's connectors and the losses' memories (RRD queues, REFILLED
centers), the optimizer, the schedulers, the random states.

The teacher is omitted only where rebuilding it from ``teacher_ckpt`` gives
back exactly the tensors the checkpoint would have held: ``teacher_ckpt``
is set, is a local file (or a URL already in torch's hub cache), and every
tensor of the teacher equals that file's (:func:`why_teacher_kept`). A
teacher that trains (``teacher_trainable=True``), whose BatchNorm
statistics move (``teacher_norm_eval=False``), that was loaded partially
(``teacher_ckpt_strict=False``) or that came from ``load_from``, a resume
or an ``init_cfg`` is saved as before, and the log says why.

On ``--resume``, ``load_from`` (REFILLED stage 2 from stage 1) and
``tools/test.py``, :func:`restore_teacher` puts the teacher back into the
loaded state dict before the strict check sees it: the teacher
``teacher_ckpt`` built (or, where the config sets none, the recorded file,
loaded strictly), after checking that the file's sha256 is the recorded
one. Another file is refused (:class:`TeacherCheckpointError`). Every other
key is checked as strictly as before; checkpoints that hold the teacher
(all earlier ones) load as they always did.
"""
import os
import os.path as osp

import torch

from .checkpoint import sha256, url_cache_path

#: The prefix of the teacher's keys in a distiller's state dict.
PREFIX = 'teacher.'
#: The checkpoint ``meta`` entry of a student-only checkpoint.
META_KEY = 'teacher_ckpt'

_DIGESTS = {}


class TeacherCheckpointError(RuntimeError, ValueError):
    """A student-only checkpoint's teacher can not be rebuilt: the teacher
    file differs from the recorded one, or is missing."""


def file_sha256(path):
    """:func:`~relkd_mm.runner.checkpoint.sha256`, computed once per file
    version (path, size and modification time) in a process: a run hashes
    its teacher once, not at every checkpoint."""
    stat = os.stat(path)
    key = (osp.realpath(path), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256(path)
    return _DIGESTS[key]


def teacher_file(teacher_ckpt):
    """The local file ``teacher_ckpt`` names (a path, or an ``http(s)`` URL
    already downloaded into torch's hub cache), or None."""
    if not teacher_ckpt:
        return None
    name = str(teacher_ckpt)
    if name.startswith(('http://', 'https://')):
        name = url_cache_path(name)
    elif '://' in name:  # open-mmlab://, s3://...: no local file to hash
        return None
    name = osp.abspath(osp.expanduser(name))
    return name if osp.isfile(name) else None


def _teacher_state(path):
    """The state dict of the local teacher file ``path``, loaded as the
    teacher's own load reads it (the allow-list, ``--trust-checkpoint``)."""
    from relkd_mm.models.utils.strict_loading import state_dict_of
    from .checkpoint import load_checkpoint_file
    return state_dict_of(load_checkpoint_file(path, map_location='cpu'))


def why_teacher_kept(model, state_dict, teacher_ckpt):
    """Why the checkpoint of ``model`` must keep its teacher (a sentence),
    or None when ``teacher_ckpt`` rebuilds it exactly.

    Decided at every checkpoint, by comparing the tensors being saved with
    the file's (one read of the teacher file per checkpoint written):
    flags alone would miss a teacher that changes later in the run, or
    one that something other than ``teacher_ckpt`` loaded.

    Args:
        model: The distiller (unwrapped).
        state_dict (dict): The state dict being saved (CPU tensors).
        teacher_ckpt (str | None): The config's ``model.teacher_ckpt``.
    """
    if not teacher_ckpt:
        return ('model.teacher_ckpt is not set (the teacher came from '
                'load_from, a resume or an init_cfg, or is random): no '
                'file rebuilds it')
    path = teacher_file(teacher_ckpt)
    if path is None:
        return (f'teacher_ckpt {teacher_ckpt!r} is not a local file (nor a '
                'downloaded URL): it could not be checked on resume')
    expected = _teacher_state(path)
    for key in model.teacher.state_dict():
        saved = state_dict.get(PREFIX + key)
        source = expected.get(key)
        if saved is None or source is None or \
                tuple(source.shape) != tuple(saved.shape) or \
                not torch.equal(source.to(saved.dtype), saved):
            hint = ('it trains: teacher_trainable=True'
                    if getattr(model, 'teacher_trainable', False) else
                    'its BatchNorm statistics move with '
                    'teacher_norm_eval=False'
                    if not getattr(model, 'teacher_norm_eval', True) else
                    'teacher_ckpt_strict=False, load_from, a resume or an '
                    'init_cfg put other weights there')
            return (f'the teacher\'s {key!r} differs from teacher_ckpt '
                    f'{teacher_ckpt!r} ({hint}): only the checkpoint holds '
                    'the teacher it trains with')
    return None


def strip_teacher(checkpoint, teacher_ckpt):
    """Drop the ``teacher.*`` keys of ``checkpoint['state_dict']`` and
    record the teacher file in ``checkpoint['meta']['teacher_ckpt']``:
    ``path`` (as configured), ``file`` (absolute), ``sha256`` and
    ``tensors`` (how many keys were dropped). Returns the bytes dropped."""
    state = checkpoint['state_dict']
    keys = [k for k in state if k.startswith(PREFIX)]
    dropped = sum(state[k].numel() * state[k].element_size() for k in keys)
    for key in keys:
        del state[key]
    metadata = getattr(state, '_metadata', None)
    if metadata is not None:  # per-module versions of the dropped modules
        for name in [n for n in metadata
                     if n == PREFIX[:-1] or n.startswith(PREFIX)]:
            del metadata[name]
    path = teacher_file(teacher_ckpt)
    checkpoint.setdefault('meta', {})[META_KEY] = dict(
        path=str(teacher_ckpt), file=path, sha256=file_sha256(path),
        tensors=len(keys))
    return dropped


def omitted_teacher(checkpoint):
    """The ``meta['teacher_ckpt']`` record of a student-only checkpoint, or
    None (a full checkpoint, or not a distiller's)."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    record = meta.get(META_KEY) if isinstance(meta, dict) else None
    state = checkpoint.get('state_dict')
    if not isinstance(record, dict) or not isinstance(state, dict) or any(
            k.startswith(PREFIX) for k in state):
        return None
    return record


def restore_teacher(model, checkpoint, source, teacher_ckpt,
                    lenient=False):
    """Put the teacher back into a student-only ``checkpoint``'s state dict.

    The teacher is the one ``teacher_ckpt`` loaded when ``model`` was built,
    as at the start of the run that wrote the checkpoint; where the config
    sets no ``teacher_ckpt`` (a test-only run of the quick-start configs),
    the recorded file is loaded into ``model.teacher``, strictly. Either
    file must have the recorded sha256. A checkpoint that holds the teacher
    is left as it is.

    Args:
        model: The distiller (unwrapped), its teacher built.
        checkpoint (dict): The loaded checkpoint (changed in place).
        source (str): The checkpoint's name, for messages.
        teacher_ckpt (str | None): The config's ``model.teacher_ckpt``.
        lenient (bool): A ``load_from`` with ``load_from_strict=False``:
            another teacher file is logged, not refused, and the model keeps
            the teacher ``teacher_ckpt`` loaded (a new run from the
            student's weights with another teacher).

    Returns:
        dict | None: The record of the teacher put back, or None (a
        checkpoint that holds the teacher, or a lenient load that kept the
        configured one).

    Raises:
        TeacherCheckpointError: the teacher file differs from the recorded
            one, or can not be found (unless ``lenient``).
    """
    record = omitted_teacher(checkpoint)
    if record is None:
        return None
    recorded = (f"{record.get('path')!r} (sha256 "
                f"{str(record.get('sha256'))[:16]}...)")
    fix = (f'Pass the teacher the run was trained with: `--cfg-options '
           f"model.teacher_ckpt={record.get('file') or record.get('path')}`"
           ' (restore that file if it was overwritten). To distil from '
           'another teacher, start a new run from the student\'s weights: '
           f'`--cfg-options load_from={source} load_from_strict=False` '
           'without --resume.')
    if teacher_ckpt:
        path = teacher_file(teacher_ckpt)
        given = f'model.teacher_ckpt={teacher_ckpt!r}'
    else:
        path = next((teacher_file(p) for p in (record.get('file'),
                                               record.get('path'))
                     if teacher_file(p)), None)
        given = 'model.teacher_ckpt is not set, and the recorded file'
    problem = None
    if path is None:
        problem = (f'{source} holds no teacher weights (a student-only '
                   f'checkpoint); its teacher was {recorded}, but {given} '
                   'is not a local file.')
    else:
        digest = file_sha256(path)
        if digest != record.get('sha256'):
            problem = (f'{source} holds no teacher weights (a student-only '
                       'checkpoint) and was trained with the teacher '
                       f'{recorded}, but {given} is another file: {path} '
                       f'has sha256 {digest[:16]}....')
    if problem is not None:
        if not lenient or not teacher_ckpt:
            raise TeacherCheckpointError(f'{problem} {fix}')
        from mmengine.logging import print_log
        print_log(f'{problem} load_from_strict=False: the teacher stays the '
                  f'one of model.teacher_ckpt={teacher_ckpt!r}.',
                  logger='current', level=30)
        return None
    if not teacher_ckpt:
        from relkd_mm.models.utils.strict_loading import load_strictly
        load_strictly(model.teacher, _teacher_state(path), path,
                      f'the teacher of the student-only checkpoint {source}',
                      'Pass the config the checkpoint was trained with.',
                      target='the teacher of the config')
    state = checkpoint['state_dict']
    for key, value in model.teacher.state_dict().items():
        state[PREFIX + key] = value
    return record

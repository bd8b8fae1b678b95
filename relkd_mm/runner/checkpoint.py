"""Checkpoint files loaded without running code from them.

``torch.load(weights_only=True)`` unpickles only tensors, containers and the
globals on an allow-list. MMEngine checkpoints also carry the message hub
(``HistoryBuffer`` objects holding numpy arrays), numpy scalars in their
``meta`` and the random generators' states; RepDistiller checkpoints carry
numpy scalars too. Those types, and nothing that can execute code, are what
:func:`safe_globals` allows: every checkpoint MMEngine writes, including
what ``--resume`` needs (optimizer, schedulers, message hub, random states),
loads without full unpickling.

The loader passes ``weights_only`` explicitly, so neither torch's default
(``False`` before torch 2.6) nor ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``
changes it. Where torch has no allow-list API (torch < 2.6), an unpickler
restricted to the same allow-list does the work.

Full unpickling happens only for a file the user named with
``tools/train.py --trust-checkpoint FILE`` (or :func:`trust_checkpoint`);
the log says so once per file.
"""
import contextlib
import errno
import hashlib
import os
import os.path as osp
import pickle
import re
import types
import zipfile

import numpy as np
import torch

_TRUSTED = set()
_ANNOUNCED = set()


def _numpy_globals():
    types_ = [np.ndarray, np.dtype, np.core.multiarray._reconstruct,
              np.core.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes as instances of these classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        types_ += [getattr(dtypes, name) for name in dir(dtypes)
                   if name.endswith('DType')]
    return types_


def _history_buffer_getattr(obj, name):
    """The only ``getattr`` a checkpoint may call.

    MMEngine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``. A general ``getattr`` would let a
    crafted file walk from any allowed object to ``__globals__`` and
    ``eval``, so only public attributes of ``HistoryBuffer`` itself resolve.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if obj is not HistoryBuffer or not isinstance(name, str) or \
            name.startswith('_'):
        raise pickle.UnpicklingError(
            f'checkpoint asks for getattr({obj!r}, {name!r}); only public '
            'attributes of mmengine HistoryBuffer are allowed.')
    return getattr(obj, name)


def safe_globals():
    """The allow-list: every non-builtin type that real OpenMMLab and
    RepDistiller checkpoints contain, and nothing that runs code.

    Beyond the weights: the message hub (``HistoryBuffer``), optimizer and
    scheduler states (tensors, numbers, ``collections.Counter`` of
    MultiStepLR's milestones), ``RandomStateHook``'s states (numpy's
    ``MT19937`` array, Python's tuple) and the meta's numpy scalars."""
    import collections

    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, collections.OrderedDict, collections.defaultdict,
            collections.Counter, collections.deque,
            (_history_buffer_getattr, '__builtin__.getattr'),
            (_history_buffer_getattr, 'builtins.getattr'),
            *_numpy_globals()]


def _torch_has_allow_list():
    """Whether ``torch.serialization.safe_globals`` takes ``(obj, name)``
    pairs (torch >= 2.6)."""
    release = torch.__version__.split('+')[0].split('.')
    version = tuple(int(p) for p in release[:2] if p.isdigit())
    return version >= (2, 6) and hasattr(torch.serialization,
                                         'safe_globals')


#: False where torch lacks the allow-list API: the restricted unpickler of
#: :func:`_restricted_pickle_module` is used instead (tests switch it off).
USE_TORCH_ALLOW_LIST = _torch_has_allow_list()


def _allowed_by_name():
    from torch import _weights_only_unpickler
    allowed = dict(_weights_only_unpickler._get_allowed_globals())
    for entry in safe_globals():
        obj, name = entry if isinstance(entry, tuple) else (
            entry, f'{entry.__module__}.{entry.__qualname__}')
        allowed[name] = obj
    # numpy 2 pickles under numpy._core, numpy 1 under numpy.core.
    for name in list(allowed):
        if name.startswith('numpy._core.'):
            allowed.setdefault('numpy.core.' + name[12:], allowed[name])
        elif name.startswith('numpy.core.'):
            allowed.setdefault('numpy._core.' + name[11:], allowed[name])
    return allowed


def _restricted_pickle_module():
    """A ``pickle_module`` for :func:`torch.load` whose unpickler resolves
    only the allow-list (torch's own weights-only globals and
    :func:`safe_globals`): the documented way to restrict globals
    (Python's ``pickle`` docs, "Restricting Globals")."""
    allowed = _allowed_by_name()

    class Unpickler(pickle.Unpickler):

        def find_class(self, module, name):
            obj = allowed.get(f'{module}.{name}')
            if obj is None:
                raise pickle.UnpicklingError(
                    f'Unsupported global: GLOBAL {module}.{name} is not an '
                    'allowed global')
            return obj

    module = types.ModuleType('relkd_mm_restricted_pickle')
    module.Unpickler = Unpickler
    module.load = lambda file, **kwargs: Unpickler(file, **kwargs).load()
    module.Pickler = pickle.Pickler
    return module


def _key(filename):
    return osp.realpath(osp.expanduser(str(filename)))


@contextlib.contextmanager
def trusted_checkpoints(*filenames):
    """Allow full unpickling of ``filenames`` inside the block."""
    keys = {_key(f) for f in filenames if f}
    added = keys - _TRUSTED
    _TRUSTED.update(added)
    try:
        yield
    finally:
        _TRUSTED.difference_update(added)


def trust_checkpoint(filename):
    """Allow full unpickling of ``filename`` for the rest of the process
    (``tools/train.py --trust-checkpoint FILE``)."""
    _TRUSTED.add(_key(filename))


def is_trusted(filename):
    return _key(filename) in _TRUSTED


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a type outside the allow-list."""


def _safe_load(filename, map_location):
    if USE_TORCH_ALLOW_LIST:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    forced = os.environ.get('TORCH_FORCE_WEIGHTS_ONLY_LOAD', '0').lower()
    if forced in ('1', 'y', 'yes', 'true'):
        # torch refuses a pickle_module then; its own weights-only
        # unpickler is stricter still (HistoryBuffer fails, nothing runs).
        return torch.load(filename, map_location=map_location,
                          weights_only=True)
    return torch.load(filename, map_location=map_location,
                      weights_only=False,
                      pickle_module=_restricted_pickle_module())


def load_checkpoint_file(filename, map_location=None):
    """Load a local checkpoint file safely (MMEngine scheme handler).

    Args:
        filename (str): Path of the file.
        map_location (str | torch.device | Callable, optional): As for
            :func:`torch.load`.

    Returns:
        dict: The unpickled checkpoint.

    Raises:
        FileNotFoundError: ``filename`` is not a file.
        CorruptCheckpointError: the file is empty or truncated; the message
            names the newest intact checkpoint of its folder.
        UnsafeCheckpointError: the file holds a type that could execute code
            and the file is not trusted.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} can not be found.')
    problem = checkpoint_problem(filename)
    if problem is not None:
        raise _corrupt_error(filename, problem)
    if is_trusted(filename):
        key = _key(filename)
        if key not in _ANNOUNCED:
            _ANNOUNCED.add(key)
            from mmengine.logging import print_log
            print_log(
                f'Loading {filename} with full unpickling: it is trusted '
                '(--trust-checkpoint). Never trust a file you did not '
                'write.', logger='current', level=30)
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    try:
        return _safe_load(filename, map_location)
    except EOFError:  # a legacy (pickle) file cut short
        raise _corrupt_error(filename, 'is truncated') from None
    except RuntimeError as exc:
        if 'PytorchStreamReader' not in str(exc):
            raise
        raise _corrupt_error(
            filename, f'is corrupt ({_first_line(exc)})') from None
    except pickle.UnpicklingError as exc:
        if 'Ran out of input' in str(exc) or 'truncated' in str(exc):
            raise _corrupt_error(filename, 'is truncated') from None
        raise UnsafeCheckpointError(
            f'Refusing to unpickle checkpoint {filename!r}: it contains a '
            'type outside the allow-list of relkd_mm.runner.checkpoint '
            f'({_first_line(exc)}). If it is a checkpoint you wrote '
            'yourself and it holds objects of your own, pass '
            f'`--trust-checkpoint {filename}` to tools/train.py. Otherwise '
            'convert it to a plain state dict first.') from None


def _first_line(exc):
    text = str(exc).strip().splitlines()
    for line in text:
        if 'global' in line.lower() or 'unsupported' in line.lower():
            return line.strip()
    return text[0] if text else type(exc).__name__


class CheckpointDownloadError(OSError):
    """A checkpoint URL could not be fetched."""


def load_url_checkpoint(url, map_location=None, model_dir=None,
                        progress=False):
    """Download ``url`` once into torch's hub cache and load it safely
    (MMEngine's ``http://``/``https://`` scheme handler).

    MMEngine's own handler calls ``torch.hub.load_state_dict_from_url``,
    whose ``weights_only`` defaults to ``False``: every model-zoo file would
    be unpickled fully. Under DDP the local rank 0 downloads first.

    Raises:
        CheckpointDownloadError: the URL could not be fetched (no network,
            proxy, HTTP error); the message names the URL and the way to
            pass a local copy.
    """
    from mmengine.dist import get_dist_info
    cached = url_cache_path(url, model_dir)
    rank, world_size = get_dist_info()
    if rank == 0:
        _download(url, cached, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            _download(url, cached, progress)
    return load_checkpoint_file(cached, map_location=map_location)


def url_cache_path(url, model_dir=None):
    """Where :func:`load_url_checkpoint` keeps its copy of ``url``."""
    if model_dir is None:
        model_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
    return osp.join(model_dir, osp.basename(url.split('?')[0]))


def _download(url, cached, progress):
    if osp.isfile(cached):
        return
    os.makedirs(osp.dirname(cached), exist_ok=True)
    from mmengine.logging import print_log
    print_log(f'Downloading {url} to {cached}', logger='current')
    try:
        # Writes to a temporary file and renames it: no partial file.
        torch.hub.download_url_to_file(url, cached, progress=progress)
    except (OSError, ValueError) as exc:  # URLError and HTTPError too
        reason = getattr(exc, 'reason', None) or exc
        raise CheckpointDownloadError(
            f'Could not download the checkpoint {url} ({reason}). On a '
            'machine without internet access, download it elsewhere and '
            'pass the local file, e.g. `--cfg-options '
            'model.teacher_ckpt=PATH` for a teacher (or `load_from=PATH`), '
            f'or copy it to {cached}, where it is looked up first.') from None


def sha256(path):
    """The sha256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Checkpoints that survive a kill or a full disk.
# ---------------------------------------------------------------------------
class CorruptCheckpointError(RuntimeError):
    """A checkpoint file is empty, truncated or not a checkpoint at all."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (e.g. the disk is full); nothing
    was replaced."""


#: The checkpoints CheckpointHook writes (``filename_tmpl`` defaults).
_CHECKPOINT_NAME = re.compile(r'^(epoch|iter)_(\d+)\.pth$')
_ZIP_MAGIC = b'PK\x03\x04'


def checkpoint_problem(filename):
    """Why ``filename`` is no complete checkpoint, or None if it looks like
    one. Cheap: reads the zip directory, not the tensors.

    torch writes a zip whose directory comes last, so a write cut short
    (a kill, a full disk) leaves a file without it; legacy (torch < 1.6)
    files are pickles and only checked for being non-empty.
    """
    if not osp.isfile(filename):
        return 'does not exist'
    size = osp.getsize(filename)
    if size == 0:
        return 'is empty (0 bytes)'
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head == _ZIP_MAGIC:
        try:
            with zipfile.ZipFile(filename) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError):
            return (f'is truncated ({size} bytes, no zip directory: its '
                    'write was cut short)')
        if not any(n.endswith('data.pkl') for n in names):
            return f'is a zip file without data.pkl ({size} bytes)'
        return None
    if head[:1] == b'\x80':  # a pickle: torch's legacy format
        return None
    return f'is not a torch checkpoint ({size} bytes, neither zip nor pickle)'


def intact_checkpoints(folder):
    """The ``epoch_N.pth``/``iter_N.pth`` files of ``folder`` that are
    complete, newest (highest N) first."""
    if not osp.isdir(folder):
        return []
    found = []
    for name in os.listdir(folder):
        match = _CHECKPOINT_NAME.match(name)
        if match:
            found.append((match.group(1), int(match.group(2)), name))
    found.sort(key=lambda item: (item[0] == 'epoch', item[1]), reverse=True)
    paths = [osp.join(folder, name) for _, _, name in found]
    return [p for p in paths if checkpoint_problem(p) is None]


def latest_intact_checkpoint(work_dir):
    """The checkpoint a plain ``--resume`` continues from: the one
    ``work_dir/last_checkpoint`` names if it is intact, else the newest
    intact ``epoch_N``/``iter_N`` checkpoint (logged), else None when
    ``last_checkpoint`` is missing.

    Why: MMEngine 0.10.7's ``find_latest_checkpoint`` returns whatever
    ``last_checkpoint`` names: a file truncated by a kill or a full disk
    then fails the resume with a bare miniz ``failed finding central
    directory`` or ``EOFError``, and an empty ``last_checkpoint`` with
    ``checkpoint '' can not be found``. Upstream: none found.

    Raises:
        CorruptCheckpointError: ``last_checkpoint`` names a damaged file
            (or nothing) and no intact checkpoint is left.
    """
    from mmengine.logging import print_log
    save_file = osp.join(work_dir, 'last_checkpoint')
    if not osp.exists(save_file):
        print_log('Did not find last_checkpoint to be resumed.',
                  logger='current')
        return None
    with open(save_file) as f:
        named = f.read().strip()
    problem = checkpoint_problem(named) if named else None
    if named and problem is None:
        return named
    what = (f'{save_file} names {named!r}, which {problem}' if named else
            f'{save_file} is empty')
    intact = intact_checkpoints(work_dir)
    if intact:
        print_log(f'--resume: {what}; resuming from the newest intact '
                  f'checkpoint {intact[0]} instead.', logger='current',
                  level=30)
        return intact[0]
    raise CorruptCheckpointError(
        f'--resume: {what}, and {work_dir} holds no intact checkpoint to '
        'fall back to (the run was probably killed while saving its first '
        'one). Start the run again without --resume, or pass --resume '
        'FILE.')


def _corrupt_error(filename, problem):
    folder = osp.dirname(osp.abspath(filename))
    intact = [p for p in intact_checkpoints(folder)
              if osp.realpath(p) != osp.realpath(filename)]
    hint = (f'The newest intact checkpoint in {folder} is {intact[0]}: '
            f'resume from it with `--resume {intact[0]}`.' if intact else
            f'{folder} holds no other intact checkpoint.')
    return CorruptCheckpointError(
        f'checkpoint {filename!r} {problem}; the run that wrote it was '
        f'probably killed while saving, or the disk was full. {hint}')


def _open_for_write(path):
    """Where atomic writes open their temporary file (tests replace it to
    simulate a full disk)."""
    return open(path, 'wb')


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: a directory can not be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _disk_full(exc):
    """torch reports a failed write as a RuntimeError whose context is the
    OSError: look through the chain."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and \
                exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def atomic_write(filename, write):
    """Write ``filename`` through ``write(file)`` so that it is either
    complete or untouched: a temporary file in the same folder, flushed and
    fsynced, then renamed over ``filename`` (``os.replace`` is atomic), and
    the folder fsynced so that the rename itself survives a crash.

    Raises:
        CheckpointWriteError: the disk is full (or a quota is reached); the
            temporary file is removed, ``filename`` keeps its old content.
    """
    filename = osp.abspath(filename)
    folder = osp.dirname(filename)
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(filename)}.tmp-{os.getpid()}')
    try:
        with _open_for_write(tmp) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException as exc:
        try:
            os.remove(tmp)
        except OSError:
            pass
        full = _disk_full(exc)
        if full is None:
            raise
        import shutil
        free = shutil.disk_usage(folder).free / 2**20
        raise CheckpointWriteError(
            full.errno,
            f'Could not write {osp.basename(filename)} in the work dir '
            f'{folder}: {full.strerror} ({free:.0f} MiB free). Nothing was '
            'replaced: the previous checkpoint and last_checkpoint are '
            'intact. Free some space (or pass --work-dir on another disk) '
            'and continue with --resume.') from None
    _fsync_dir(folder)


def save_checkpoint_file(checkpoint, filename):
    """``torch.save`` through :func:`atomic_write`."""
    atomic_write(filename, lambda f: torch.save(checkpoint, f))


def write_text_file(filename, text):
    """A small text file (``last_checkpoint``) through
    :func:`atomic_write`."""
    atomic_write(filename, lambda f: f.write(text.encode()))

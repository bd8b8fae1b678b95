"""Checkpoint files loaded without running code from them.

``torch.load(weights_only=True)`` unpickles only tensors, containers and the
globals on an allow-list. MMEngine checkpoints also carry the message hub
(``HistoryBuffer`` objects holding numpy arrays) and numpy scalars in their
``meta``; RepDistiller checkpoints carry numpy scalars too. Those types, and
nothing that can execute code, are what :data:`SAFE_GLOBALS` allows.

A file the user trusts (the ``--resume`` of their own run, or an explicit
``--trust-checkpoint``) is the only thing ever loaded with full unpickling;
:func:`trusted_checkpoints` marks such files and the log says so once per
file.
"""
import contextlib
import os.path as osp
import pickle

import numpy as np
import torch

_TRUSTED = set()
_ANNOUNCED = set()


def _numpy_globals():
    types = [np.ndarray, np.dtype, np.core.multiarray._reconstruct,
             np.core.multiarray.scalar]
    # numpy >= 1.25 pickles dtypes as instances of these classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        types += [getattr(dtypes, name) for name in dir(dtypes)
                  if name.endswith('DType')]
    return types


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
    RepDistiller checkpoints contain, and nothing that runs code."""
    import collections

    from mmengine.logging.history_buffer import HistoryBuffer
    return [HistoryBuffer, collections.OrderedDict, collections.defaultdict,
            (_history_buffer_getattr, '__builtin__.getattr'),
            (_history_buffer_getattr, 'builtins.getattr'),
            *_numpy_globals()]


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
    """Allow full unpickling of ``filename`` for the rest of the process."""
    _TRUSTED.add(_key(filename))


def is_trusted(filename):
    return _key(filename) in _TRUSTED


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds a type outside the allow-list."""


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
        UnsafeCheckpointError: the file holds a type that could execute code
            and the file is not trusted.
    """
    filename = osp.expanduser(str(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename!r} can not be found.')
    if is_trusted(filename):
        key = _key(filename)
        if key not in _ANNOUNCED:
            _ANNOUNCED.add(key)
            from mmengine.logging import print_log
            print_log(
                f'Loading {filename} with full unpickling: it is trusted '
                '(the resume of your own run). Never resume from a file you '
                'did not write.', logger='current')
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    try:
        with torch.serialization.safe_globals(safe_globals()):
            return torch.load(filename, map_location=map_location,
                              weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafeCheckpointError(
            f'Refusing to unpickle checkpoint {filename!r}: it contains a '
            'type outside the allow-list of relkd_mm.runner.checkpoint '
            f'({_first_line(exc)}). If it is a checkpoint you wrote '
            'yourself, resume it with `--resume`, or pass '
            '`--trust-checkpoint` to tools/train.py. Otherwise convert it '
            'to a plain state dict first.') from None


def _first_line(exc):
    text = str(exc).strip().splitlines()
    for line in text:
        if 'global' in line.lower() or 'unsupported' in line.lower():
            return line.strip()
    return text[0] if text else type(exc).__name__

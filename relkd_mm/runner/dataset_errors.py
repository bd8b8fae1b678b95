"""Data sets that are empty or whose folder is missing, named with the
data set and what to set, for the data loaders of
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner`.

Why: mmengine 0.10.7's ``BaseDataset._serialize_data`` calls
``np.concatenate`` on the samples, so a data set with no sample (no image
found, or ``indices=0``) fails with numpy's ``need at least one array to
concatenate`` (and without serialisation, later, with an assertion on
``epoch_length``). mmpretrain 1.2.0's ``CustomDataset`` (``ImageNet``)
scans ``data_root/<split>`` and reports a missing folder with a bare
``FileNotFoundError: 'data/imagenet/train'``, which names neither the
expected layout nor the key to set. Upstream: none found.

Not a patch: the runner builds its data loaders inside
:func:`explained_dataset_errors` and checks the data set it got
(:func:`check_not_empty`); a data set built elsewhere gets the upstream
errors.

Imports no mm* package at module level: :mod:`relkd_mm.compat` re-exports
:class:`EmptyDatasetError` before its patches run.
"""
import contextlib


class EmptyDatasetError(ValueError):
    """A data set holds no sample."""


@contextlib.contextmanager
def explained_dataset_errors():
    """Re-raise the errors of a data set being built as errors naming it:
    :class:`EmptyDatasetError` for one that serialises no sample, and a
    ``FileNotFoundError`` naming the layout MMPretrain expects and
    ``train_dataloader.dataset.data_root`` for a ``CustomDataset`` whose
    folder is missing. Other errors pass unchanged."""
    from mmengine.dataset import BaseDataset
    from mmpretrain.datasets import CustomDataset
    try:
        yield
    except FileNotFoundError as exc:
        dataset = _building(exc, CustomDataset.load_data_list)
        if dataset is None:
            raise
        raise _missing_folder_error(dataset, exc) from None
    except EmptyDatasetError:
        raise
    except ValueError as exc:
        dataset = _building(exc, BaseDataset._serialize_data)
        if dataset is None or getattr(dataset, 'data_list', None):
            raise
        raise _empty_dataset_error(dataset) from None


def _building(exc, method):
    """The data set whose ``method`` the traceback of ``exc`` passes
    through (the innermost), or None."""
    import traceback
    found = None
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        if frame.f_code is method.__code__:
            found = frame.f_locals.get('self')
    return found


def check_not_empty(dataset):
    """:class:`EmptyDatasetError` for an MMEngine data set without a sample
    (one that is not serialised fails only later, at the sampler)."""
    from mmengine.dataset import BaseDataset
    if isinstance(dataset, BaseDataset) and len(dataset) == 0:
        raise _empty_dataset_error(dataset)


def _describe(dataset):
    """``Type(data_root=..., ann_file=..., split=...)`` for the messages
    (as TrainCheckHook names a data set)."""
    parts = [f'{key}={getattr(dataset, key)!r}'
             for key in ('data_root', 'ann_file', 'split')
             if getattr(dataset, key, None)]
    return f'{type(dataset).__name__}({", ".join(parts)})'


def _empty_dataset_error(dataset):
    indices = getattr(dataset, '_indices', None)
    why = (f'indices={indices!r} keeps none of its samples'
           if indices is not None else 'no sample was found')
    return EmptyDatasetError(
        f'{_describe(dataset)} is empty: {why}. A training set that is '
        'empty can not train (nor an empty val/test set evaluate): check '
        'train_dataloader.dataset (or val_dataloader/test_dataloader) in '
        'the config: data_root, ann_file, data_prefix, split, classes, '
        'indices.')


def _missing_folder_error(dataset, exc):
    root = getattr(dataset, 'data_root', '') or '.'
    missing = exc.filename or str(exc)
    return FileNotFoundError(
        exc.errno, f'{type(dataset).__name__}: {missing!r} does not exist. '
        'MMPretrain expects either class folders, '
        f'{root}/train/<class>/*.JPEG and {root}/val/<class>/*.JPEG, or '
        f'annotation files {root}/meta/train.txt and meta/val.txt (lines '
        '"<relative path> <label>") next to the image folders. Set '
        '`train_dataloader.dataset.data_root` (and val_dataloader/'
        'test_dataloader) to the folder that holds them, e.g. '
        '--cfg-options train_dataloader.dataset.data_root=/data/imagenet.',
        missing)

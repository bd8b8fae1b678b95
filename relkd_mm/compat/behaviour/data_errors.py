"""Data that can not train, reported naming the data set: empty or missing
data sets (patch 13 of :mod:`relkd_mm.compat`). (Undecodable images are
:class:`~relkd_mm.datasets.CheckedLoadImageFromFile`'s to report, images
whose channels differ from the model's
:class:`~relkd_mm.engine.hooks.TrainCheckHook`'s.)"""
from ..stack import _mark


# ---------------------------------------------------------------------------
# 13. mmengine/mmpretrain: empty or missing data sets fail obscurely.
# ---------------------------------------------------------------------------
class EmptyDatasetError(ValueError):
    """A data set holds no sample."""


def patch_dataset_errors():
    """Name the data set and what to set when it is empty or its folder is
    missing.

    Why: mmengine 0.10.7's ``BaseDataset._serialize_data`` calls
    ``np.concatenate`` on the samples, so a data set with no sample (no
    image found, or ``indices=0``) fails with numpy's ``need at least one
    array to concatenate`` (and without serialisation, later, with an
    assertion on ``epoch_length``). mmpretrain 1.2.0's ``CustomDataset``
    (``ImageNet``) scans ``data_root/<split>`` and reports a missing folder
    with a bare ``FileNotFoundError: 'data/imagenet/train'``, which names
    neither the expected layout nor the key to set. Upstream: none found.

    Fix: an empty data set raises :class:`EmptyDatasetError` naming its
    type, ``data_root``, ``split`` and ``indices``; a missing folder raises
    ``FileNotFoundError`` naming it, the layout MMPretrain expects and
    ``train_dataloader.dataset.data_root``.
    """
    from mmengine.dataset import BaseDataset
    from mmpretrain.datasets import CustomDataset
    if getattr(BaseDataset.full_init, '_relkd_mm_patched', False):
        return
    original_full_init = BaseDataset.full_init
    original_serialize = BaseDataset._serialize_data
    original_load = CustomDataset.load_data_list

    def full_init(self):
        if self._fully_initialized:
            return
        original_full_init(self)
        if len(self) == 0:
            raise _empty_dataset_error(self)

    def _serialize_data(self):
        if not self.data_list:
            raise _empty_dataset_error(self)
        return original_serialize(self)

    def load_data_list(self):
        try:
            return original_load(self)
        except FileNotFoundError as exc:
            raise _missing_folder_error(self, exc) from None

    full_init._relkd_mm_patched = True
    BaseDataset.full_init = full_init
    BaseDataset._serialize_data = _serialize_data
    CustomDataset.load_data_list = load_data_list
    _mark('dataset_errors')


def _describe(dataset):
    """``Type(data_root=..., ann_file=..., split=...)`` for the messages
    (as TrainCheckHook names a data set; compat imports no hook)."""
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

"""Data that can not train, reported naming the file or the data set:
undecodable images (patch 10) and empty or missing data sets (13) of
:mod:`relkd_mm.compat`. (Images whose channels differ from the model's are
:class:`~relkd_mm.engine.hooks.TrainCheckHook`'s to report.)"""
from ..stack import _mark


# ---------------------------------------------------------------------------
# 10. mmcv: an undecodable image is an assert, and skipping it is silent.
# ---------------------------------------------------------------------------
class CorruptImageError(OSError):
    """An image file that can not be read or decoded."""


def patch_load_image_errors():
    """Name the file and the fix when an image can not be decoded, and log
    each image skipped under ``ignore_empty=True``.

    Why: mmcv 2.1.0's ``LoadImageFromFile`` reports a corrupt or truncated
    file with ``assert img is not None`` (gone under ``python -O``, and
    without a fix), and with ``ignore_empty=True`` returns ``None`` without
    a word, so the dataset silently draws another sample instead. Upstream:
    open-mmlab/mmpretrain#1427 (images not read successfully).

    Fix: such a file raises :class:`CorruptImageError` naming it and the
    two ways out; with ``ignore_empty=True`` (the opt-in skip) each skipped
    file is logged as a warning. MMEngine's dataset then draws another
    sample, at most ``max_refetch`` times, so a data set of only corrupt
    files still ends with an error, never a hang.
    """
    from mmcv.transforms import LoadImageFromFile
    original = LoadImageFromFile.transform
    if getattr(original, '_relkd_mm_patched', False):
        return

    def transform(self, results):
        filename = results.get('img_path')
        try:
            out = original(self, results)
            problem = 'it could not be read' if out is None else None
        except AssertionError as exc:  # mmcv's "failed to load image"
            out, problem = None, f'it could not be decoded ({exc})'
        except (OSError, ValueError) as exc:
            if self.ignore_empty:
                raise
            out, problem = None, f'{type(exc).__name__}: {exc}'
        if problem is None:
            return out
        if self.ignore_empty:
            from mmengine.logging import print_log
            print_log(f'LoadImageFromFile: skipped {filename}: {problem} '
                      '(ignore_empty=True).', logger='current', level=30)
            return None
        raise CorruptImageError(
            f'LoadImageFromFile: image {filename!r}: {problem}. Replace or '
            'delete the file, or set ignore_empty=True in the '
            "pipeline's LoadImageFromFile to skip unreadable images (each "
            'skip is logged).')

    transform._relkd_mm_patched = True
    LoadImageFromFile.transform = transform
    _mark('load_image_errors')


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

"""Data that can not train, reported naming the file, the data set or the
config key: undecodable images (patch 10), empty or missing data sets (13)
and images whose channels differ from the model's (14) of
:mod:`relkd_mm.compat`."""
import torch

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


def _empty_dataset_error(dataset):
    from relkd_mm.engine.hooks.train_check_hook import _describe
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


# ---------------------------------------------------------------------------
# 14. mmengine: images whose channels differ from the model's fail inside a
# convolution.
# ---------------------------------------------------------------------------
def patch_input_channel_check():
    """Check the first training batch's channels against each network's
    first convolution.

    Why: an image with another number of channels than the backbone's
    ``in_channels`` (grey Fashion-MNIST into an RGB model, RGBA PNGs) fails
    deep in torch's convolution (``expected input[16, 1, 28, 28] to have 3
    channels``) with no hint of the config key or of the data. Upstream:
    none found.

    Fix: ``Runner.train`` registers a one-shot forward pre-hook on the
    backbone of the model (the student and teacher of a distiller) that
    compares the batch's channels with the first convolution's
    ``in_channels`` and raises ``ValueError`` naming both numbers and the
    config key; it removes itself after the first batch (no cost later).
    """
    import functools

    from mmengine.runner import Runner
    if getattr(Runner.train, '_relkd_mm_channels', False):
        return
    original_train = Runner.train

    def train(self):
        handles = _watch_input_channels(self.model)
        try:
            return original_train(self)
        finally:
            for handle in handles:
                handle.remove()

    train = functools.wraps(original_train)(train)
    train._relkd_mm_channels = True
    Runner.train = train
    _mark('input_channel_check')


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

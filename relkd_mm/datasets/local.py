"""Datasets read from local files only: no download, no archive checksums.

mmpretrain's ``CIFAR100`` verifies the md5 of the official archive members
and ``FashionMNIST`` expects the idx files un-gzipped (and downloads them
otherwise). On machines without internet, with pre-extracted copies, the
files of Debian's ``dataset-fashion-mnist`` package (gzipped idx) or small
generated files in the same formats, these classes read the same formats
and fail with a message naming the missing file instead.
"""
import gzip
import os.path as osp
import pickle
import zlib

import numpy as np
from mmpretrain.datasets import CIFAR100, BaseDataset
from mmpretrain.datasets.categories import FASHIONMNIST_CATEGORITES
from mmpretrain.registry import DATASETS

#: Where Debian's ``dataset-fashion-mnist`` package installs the idx files.
DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist'


def _require_file(path, dataset, hint):
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{dataset}: missing file {path!r}. {hint}')


@DATASETS.register_module()
class LocalCIFAR100(CIFAR100):
    """CIFAR-100 from the python pickle files (``cifar-100-python/train``,
    ``test``, ``meta``) under ``data_root``, without md5 checks or download.

    Args:
        data_root (str): The folder that holds ``cifar-100-python/``.
        split (str): ``'train'`` or ``'test'``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CIFAR100`.
    """

    def __init__(self, data_root='', split='train', **kwargs):
        kwargs['download'] = False
        super().__init__(data_root=data_root, split=split, **kwargs)

    def _check_integrity(self):
        root = self.data_prefix['root']
        files = [f for f, _ in self.train_list + self.test_list]
        for name in files + [self.meta['filename']]:
            _require_file(
                osp.join(root, self.base_folder, name),
                type(self).__name__,
                'Extract the official cifar-100-python.tar.gz into '
                f'data_root={root!r} (it must contain cifar-100-python/).')
        return True

    def _load_meta(self):
        path = osp.join(self.data_prefix['root'], self.base_folder,
                        self.meta['filename'])
        with open(path, 'rb') as f:
            data = _ArrayUnpickler(f, path).load()
        self._metainfo.setdefault('classes', data[self.meta['key']])

    def load_data_list(self):
        # Each file is checked (and unpickled without running code) before
        # mmpretrain reads it: its reshape would silently turn rows of the
        # wrong length into other images and zip them with shifted labels.
        self._check_integrity()
        root = self.data_prefix['root']
        files = self.train_list if self.split == 'train' else self.test_list
        for name, _ in files:
            path = osp.join(root, self.base_folder, name)
            with open(path, 'rb') as f:
                entry = _ArrayUnpickler(f, path).load()
            _check_cifar_entry(entry, path)
        return super().load_data_list()


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles only containers and numpy arrays (CIFAR's pickle files):
    a file that asks for anything else (e.g. ``os.system``) is refused."""

    ALLOWED = {('numpy.core.multiarray', '_reconstruct'),
               ('numpy._core.multiarray', '_reconstruct'),
               ('numpy', 'ndarray'), ('numpy', 'dtype')}

    def __init__(self, file, path):
        super().__init__(file, encoding='latin1')
        self.path = path

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f'{self.path}: refusing to unpickle {module}.{name}; CIFAR '
            'files hold only arrays and lists. Re-extract the official '
            'cifar-100-python.tar.gz.')


def _check_cifar_entry(entry, path):
    data = np.asarray(entry.get('data', ())) if isinstance(entry, dict) \
        else None
    labels = None if data is None else entry.get(
        'fine_labels', entry.get('labels'))
    if data is None or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(
            f'{path}: `data` has shape '
            f'{None if data is None else data.shape}, expected (N, 3072) '
            'uint8 rows (3 x 32 x 32 images); the file is corrupt or not '
            'CIFAR-100. Re-extract the official archive.')
    if labels is None or len(labels) != len(data):
        raise ValueError(
            f'{path}: {len(data)} images but '
            f'{None if labels is None else len(labels)} labels '
            '(`fine_labels`); the file is corrupt. Re-extract the official '
            'archive.')


def _read_idx(path, expected_ndim=None):
    """Read an idx (SN3 pascalvincent) file, gzipped or not.

    ``expected_ndim``: 3 for an images file (N, 28, 28), 1 for a labels
    file; another header is an error naming the file, since numpy would
    otherwise reshape e.g. (N, 784) rows into garbage images silently.
    """
    opener = gzip.open if path.endswith('.gz') else open
    try:
        with opener(path, 'rb') as f:
            data = f.read()
    except (EOFError, OSError, zlib.error) as exc:  # gzip cut short
        raise ValueError(
            f'{path}: can not be read ({type(exc).__name__}: {exc}); the '
            'file is truncated or corrupt: download or copy it again.'
        ) from None
    if len(data) < 4:
        raise ValueError(f'{path}: {len(data)} bytes, not an idx file '
                         '(truncated or empty).')
    magic = int.from_bytes(data[0:4], 'big')
    ndim, code = magic % 256, magic // 256
    if code != 8:  # unsigned byte, the only type (Fashion-)MNIST uses
        raise ValueError(f'{path}: unsupported idx data type code {code}.')
    if len(data) < 4 * (ndim + 1):
        raise ValueError(f'{path}: the idx header is truncated.')
    shape = [int.from_bytes(data[4 * (i + 1):4 * (i + 2)], 'big')
             for i in range(ndim)]
    if expected_ndim is not None and ndim != expected_ndim:
        kinds = {3: 'images (N, 28, 28)', 1: 'labels (N,)'}
        swapped = {1: 'a labels file', 3: 'an images file'}.get(ndim)
        hint = (f' It holds the shape of {swapped}: are the images and '
                'labels files swapped?' if swapped else '')
        raise ValueError(
            f'{path}: the idx header gives shape {tuple(shape)} '
            f'({ndim} dimension(s)), expected {expected_ndim} for '
            f'{kinds.get(expected_ndim, "this file")}.{hint}')
    offset = 4 * (ndim + 1)
    array = np.frombuffer(data, dtype=np.uint8, offset=offset)
    if array.size != int(np.prod(shape)):
        raise ValueError(f'{path}: header says {shape}, but the file holds '
                         f'{array.size} values (truncated or corrupt).')
    return array.reshape(shape)


@DATASETS.register_module()
class LocalFashionMNIST(BaseDataset):
    """Fashion-MNIST from its four idx files, plain or gzipped.

    By default the files of Debian's ``dataset-fashion-mnist`` package
    (``apt-get install dataset-fashion-mnist``). Images are 28 x 28 grey
    ``uint8`` arrays, labels 0..9.

    Args:
        data_root (str): Folder with ``{train,t10k}-{images-idx3,labels-idx1}
            -ubyte[.gz]``. Defaults to :data:`DEBIAN_FASHION_MNIST`.
        split (str): ``'train'``, ``'val'`` or ``'test'``. ``'val'`` is the
            last ``val_size`` images of the training file, and ``'train'``
            then excludes them, so that a validation split held out of the
            training set is never trained on.
        val_size (int): Training-file images held out as ``'val'``; 0 (the
            default) keeps the whole file as ``'train'``.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (e.g. ``indices=N`` for the first N samples of the split).
    """

    METAINFO = {'classes': FASHIONMNIST_CATEGORITES}
    prefixes = {'train': 'train', 'val': 'train', 'test': 't10k'}

    def __init__(self, data_root=DEBIAN_FASHION_MNIST, split='train',
                 val_size=0, **kwargs):
        if split not in self.prefixes:
            raise ValueError(
                f"split={split!r}: use 'train', 'val' or 'test'.")
        if isinstance(val_size, bool) or not isinstance(val_size, int) or \
                val_size < 0:
            raise ValueError(f'val_size={val_size!r}: give the number of '
                             'training images to hold out (an int >= 0).')
        if split == 'val' and val_size == 0:
            raise ValueError("split='val' needs val_size > 0: the number "
                             'of training images held out for validation.')
        self.split, self.val_size = split, val_size
        super().__init__(ann_file='', data_root=data_root,
                         data_prefix=dict(root=''), **kwargs)

    def _file(self, kind):
        stem = osp.join(self.data_root,
                        f'{self.prefixes[self.split]}-{kind}-ubyte')
        for path in (stem, stem + '.gz'):
            if osp.isfile(path):
                return path
        raise FileNotFoundError(
            f'{type(self).__name__}: neither {stem!r} nor {stem + ".gz"!r} '
            'exists. Install the Debian package `dataset-fashion-mnist` '
            f'(files in {DEBIAN_FASHION_MNIST}) or set data_root to a '
            'folder with the idx files.')

    def load_data_list(self):
        imgs = _read_idx(self._file('images-idx3'), expected_ndim=3)
        labels = _read_idx(self._file('labels-idx1'), expected_ndim=1)
        if imgs.shape[1:] != (28, 28):
            raise ValueError(
                f'{self._file("images-idx3")}: images of shape '
                f'{imgs.shape[1:]}, expected 28 x 28 (Fashion-MNIST).')
        if len(imgs) != len(labels):
            raise ValueError(
                f'{type(self).__name__}: {len(imgs)} images but '
                f'{len(labels)} labels in {self.data_root!r}.')
        num_classes = len(self.METAINFO['classes'])
        if labels.size and labels.max() >= num_classes:
            raise ValueError(
                f'{type(self).__name__}: label {int(labels.max())} in '
                f'{self.data_root!r} is outside 0..{num_classes - 1}.')
        if self.split != 'test' and self.val_size:
            if self.val_size >= len(imgs):
                raise ValueError(
                    f'{type(self).__name__}: val_size={self.val_size} '
                    f'leaves no training image of the {len(imgs)} in '
                    f'{self.data_root!r}.')
            rows = slice(len(imgs) - self.val_size, None) \
                if self.split == 'val' else slice(0, len(imgs) -
                                                  self.val_size)
            imgs, labels = imgs[rows], labels[rows]
        return [dict(img=img, gt_label=int(label))
                for img, label in zip(imgs, labels)]

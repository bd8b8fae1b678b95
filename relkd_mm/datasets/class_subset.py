"""A label-space split of any classification dataset (generalized KD)."""
import copy

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from mmpretrain.registry import DATASETS

#: Named fixed class orders for ``class_order``. The GKD code's CIFAR-100
#: order (``label_q.npy``, from the CIFAR-FS split) is not published;
#: ``'cifar100-seed1993'`` is ``numpy.random.RandomState(1993)
#: .permutation(100)``, written out so that it never depends on numpy.
CLASS_ORDERS = {
    'cifar100-seed1993': (
        68, 56, 78, 8, 23, 84, 90, 65, 74, 76, 40, 89, 3, 92, 55, 9, 26, 80,
        43, 38, 58, 70, 77, 1, 85, 19, 17, 50, 28, 53, 13, 81, 45, 82, 6, 59,
        83, 16, 15, 44, 91, 41, 72, 60, 79, 52, 20, 10, 31, 54, 37, 95, 14,
        71, 96, 98, 97, 2, 64, 66, 42, 22, 35, 86, 24, 34, 87, 21, 99, 0, 88,
        27, 18, 94, 11, 12, 47, 25, 30, 46, 62, 69, 36, 61, 7, 63, 75, 5, 32,
        4, 51, 48, 73, 93, 39, 67, 29, 49, 57, 33),
}


@DATASETS.register_module()
class ClassSubsetDataset:
    """Keep some classes of a dataset and re-index their labels ``0..K-1``.

    A teacher trained on one task and a student trained on another (the
    same, partly overlapping or disjoint classes) each wrap the same dataset
    with their own classes. The new label of a sample is the position of its
    original class in ``classes``; ``metainfo['classes']`` follows.

    The TPAMI protocol (Ye et al., GKD code) is built in: a fixed
    ``class_order`` of all classes, and a task of ``num_classes`` classes
    starting at position ``shift`` of it. As in that code, a task's labels
    are its original class indices in ascending order.

    Args:
        dataset (dict | BaseDataset): The dataset (config) to split.
        classes (list[int], optional): Original class indices to keep; their
            order defines the new labels.
        class_order (list[int] | str, optional): A permutation of the
            original classes, or the name of one in :data:`CLASS_ORDERS`,
            used with ``shift`` and ``num_classes`` instead of ``classes``:
            the task is ``sorted(class_order[shift:shift + num_classes])``.
        shift (int): Start of the task in ``class_order``. Defaults to 0.
        num_classes (int, optional): Classes of the task (``class_order``
            only).
        lazy_init (bool): Load the annotations only when first needed.
            Defaults to False.
    """

    def __init__(self,
                 dataset,
                 classes=None,
                 class_order=None,
                 shift=0,
                 num_classes=None,
                 lazy_init=False):
        if isinstance(dataset, dict):
            dataset = DATASETS.build(dataset)
        if not isinstance(dataset, BaseDataset):
            raise TypeError('ClassSubsetDataset: dataset must be a config '
                            f'dict or a BaseDataset, got {type(dataset)}.')
        self.dataset = dataset
        self.classes = self._task_classes(classes, class_order, shift,
                                          num_classes)
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    @staticmethod
    def _task_classes(classes, class_order, shift, num_classes):
        if (classes is None) == (class_order is None):
            raise ValueError(
                'ClassSubsetDataset: give exactly one of `classes` (the kept '
                'original class indices) and `class_order` (with `shift` and '
                '`num_classes`).')
        if isinstance(class_order, str):
            if class_order not in CLASS_ORDERS:
                raise ValueError(
                    f'ClassSubsetDataset: class_order={class_order!r} is not '
                    f'one of {sorted(CLASS_ORDERS)}; or pass a list.')
            class_order = CLASS_ORDERS[class_order]
        if class_order is not None:
            class_order = [int(c) for c in class_order]
            if len(set(class_order)) != len(class_order):
                raise ValueError('ClassSubsetDataset: class_order repeats a '
                                 'class; it must be a permutation.')
            if num_classes is None or shift < 0 or \
                    shift + num_classes > len(class_order):
                raise ValueError(
                    f'ClassSubsetDataset: shift={shift}, num_classes='
                    f'{num_classes} do not fit class_order of length '
                    f'{len(class_order)}: need 0 <= shift and shift + '
                    'num_classes <= len(class_order).')
            return sorted(class_order[shift:shift + num_classes])
        classes = [int(c) for c in classes]
        if not classes or len(set(classes)) != len(classes):
            raise ValueError(f'ClassSubsetDataset: classes={classes} must be '
                             'a non-empty list without repeats.')
        return classes

    def full_init(self):
        if self._fully_initialized:
            return
        self.dataset.full_init()
        labels = np.asarray(self.dataset.get_gt_labels(), dtype=np.int64)
        names = self.dataset.metainfo.get('classes')
        total = len(names) if names is not None else int(labels.max()) + 1
        bad = [c for c in self.classes if not 0 <= c < total]
        if bad:
            raise ValueError(
                f'ClassSubsetDataset: classes {bad} are outside 0..'
                f'{total - 1} of {type(self.dataset).__name__}.')
        mapping = np.full(max(total, int(labels.max()) + 1), -1, np.int64)
        mapping[self.classes] = np.arange(len(self.classes))
        new_labels = mapping[labels]
        self.indices = np.flatnonzero(new_labels >= 0)
        self.gt_labels = new_labels[self.indices]
        self._metainfo = copy.deepcopy(self.dataset.metainfo)
        if names is not None:
            self._metainfo['classes'] = tuple(names[c] for c in self.classes)
        self._fully_initialized = True

    @property
    @force_full_init
    def metainfo(self):
        return copy.deepcopy(self._metainfo)

    @property
    def CLASSES(self):
        return self.metainfo.get('classes')

    @force_full_init
    def __len__(self):
        return len(self.indices)

    @force_full_init
    def get_gt_labels(self):
        """New labels of all kept samples, ``(N,)``."""
        return self.gt_labels.copy()

    @force_full_init
    def get_cat_ids(self, idx):
        return [int(self.gt_labels[idx])]

    @force_full_init
    def get_data_info(self, idx):
        info = self.dataset.get_data_info(int(self.indices[idx]))
        info['gt_label'] = int(self.gt_labels[idx])
        return info

    def __getitem__(self, idx):
        # The inner pipeline runs on the re-labelled annotation, so that
        # PackInputs packs the new label.
        return self.dataset.pipeline(self.get_data_info(idx))

    def __repr__(self):
        return (f'{type(self).__name__}({len(self.classes)} classes of '
                f'{type(self.dataset).__name__}: {self.classes})')

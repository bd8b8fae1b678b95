import numpy as np
import pytest
from mmpretrain.registry import DATASETS

from relkd_mm.datasets import ClassSubsetDataset


def cifar(root, **kwargs):
    return dict(type='LocalCIFAR100', data_root=root, split='train',
                pipeline=[dict(type='PackInputs')], **kwargs)


def test_keeps_and_reindexes_classes(cifar100_root):
    full = DATASETS.build(cifar(cifar100_root))
    full_labels = full.get_gt_labels()
    subset = DATASETS.build(
        dict(type='ClassSubsetDataset', dataset=cifar(cifar100_root),
             classes=[7, 3, 20]))
    keep = np.flatnonzero(np.isin(full_labels, [7, 3, 20]))
    assert len(subset) == len(keep)
    mapping = {7: 0, 3: 1, 20: 2}
    assert subset.get_gt_labels().tolist() == [
        mapping[c] for c in full_labels[keep]]
    names = full.metainfo['classes']
    assert subset.metainfo['classes'] == tuple(names[c] for c in (7, 3, 20))
    for i in range(len(subset)):
        item = subset[i]
        assert item['data_samples'].gt_label.tolist() == [
            subset.get_gt_labels()[i]]
        np.testing.assert_array_equal(
            item['inputs'].numpy(), full[keep[i]]['inputs'].numpy())
        assert subset.get_cat_ids(i) == [subset.get_gt_labels()[i]]


def test_tpami_protocol(cifar100_root):
    order = np.random.RandomState(0).permutation(100).tolist()
    teacher = ClassSubsetDataset(cifar(cifar100_root), class_order=order,
                                 num_classes=50)
    students = [ClassSubsetDataset(cifar(cifar100_root), class_order=order,
                                   shift=k, num_classes=50)
                for k in range(0, 60, 10)]
    assert teacher.classes == sorted(order[:50])
    for k, student in zip(range(0, 60, 10), students):
        assert student.classes == sorted(order[k:k + 50])
        assert len(set(student.classes) & set(teacher.classes)) == 50 - k
        assert set(student.get_gt_labels()) <= set(range(50))


def test_lazy_init(cifar100_root):
    subset = ClassSubsetDataset(cifar(cifar100_root, lazy_init=True),
                                classes=[1, 2], lazy_init=True)
    assert not subset._fully_initialized
    assert len(subset) == 4  # 128 samples, labels i % 100: two per class
    names = DATASETS.build(cifar(cifar100_root)).metainfo['classes']
    assert subset.metainfo['classes'] == (names[1], names[2])


def test_bad_arguments(cifar100_root):
    with pytest.raises(ValueError, match='exactly one'):
        ClassSubsetDataset(cifar(cifar100_root))
    with pytest.raises(ValueError, match='repeats'):
        ClassSubsetDataset(cifar(cifar100_root), classes=[1, 1])
    with pytest.raises(ValueError, match=r'outside 0\.\.99'):
        ClassSubsetDataset(cifar(cifar100_root), classes=[1, 100])
    with pytest.raises(ValueError, match='shift=60'):
        ClassSubsetDataset(cifar(cifar100_root), class_order=list(range(100)),
                           shift=60, num_classes=50)


def test_named_class_order(cifar100_root):
    from relkd_mm.datasets.class_subset import CLASS_ORDERS
    order = CLASS_ORDERS['cifar100-seed1993']
    assert sorted(order) == list(range(100))
    assert list(order) == np.random.RandomState(1993).permutation(100).tolist()
    task = ClassSubsetDataset(cifar(cifar100_root),
                              class_order='cifar100-seed1993', shift=10,
                              num_classes=50)
    assert task.classes == sorted(order[10:60])
    with pytest.raises(ValueError, match='cifar100-seed1993'):
        ClassSubsetDataset(cifar(cifar100_root), class_order='other',
                           num_classes=50)

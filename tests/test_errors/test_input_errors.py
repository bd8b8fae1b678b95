"""Bad inputs fail early and name the file or the numbers: idx files with a
wrong header, truncated or swapped; an empty data set; images whose number
of channels differs from the model's ``in_channels``."""
import gzip
import os.path as osp
import shutil

import pytest
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS

from tests.test_tools.fmnist_utils import _write_idx, make_fashion_mnist
from tests.train_utils import STUDENT, fmnist_options, log_text, train

IMAGES = 'train-images-idx3-ubyte.gz'
LABELS = 'train-labels-idx1-ubyte.gz'


@pytest.fixture
def fmnist(tmp_path):
    return make_fashion_mnist(str(tmp_path / 'fmnist'), num_train=32,
                              num_test=16)


def build(root, **kwargs):
    return DATASETS.build(dict(type='LocalFashionMNIST', data_root=root,
                               pipeline=[], **kwargs))


def read(path):
    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big')
             for i in range(ndim)]
    import numpy as np
    return np.frombuffer(data[4 + 4 * ndim:], np.uint8).reshape(shape)


def test_flat_image_rows_are_an_error(fmnist):
    """(N, 784) used to reshape silently into (1, 5, 28)-like garbage."""
    path = osp.join(fmnist, IMAGES)
    _write_idx(path, read(path).reshape(32, 784))
    with pytest.raises(ValueError) as info:
        build(fmnist)
    msg = str(info.value)
    assert path in msg and '(32, 784)' in msg
    assert 'expected 3 for images (N, 28, 28)' in msg


def test_truncated_gz_names_the_file(fmnist):
    path = osp.join(fmnist, IMAGES)
    with open(path, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(ValueError, match=f'{path}: can not be read .*'
                       'truncated or corrupt'):
        build(fmnist)


def test_labels_with_a_wrong_number_of_dimensions(fmnist):
    path = osp.join(fmnist, LABELS)
    _write_idx(path, read(path).reshape(32, 1))
    with pytest.raises(ValueError, match=rf'{path}: .*shape \(32, 1\) \(2 '
                       r'dimension\(s\)\), expected 1 for labels'):
        build(fmnist)


def test_swapped_images_and_labels(fmnist):
    images, labels = osp.join(fmnist, IMAGES), osp.join(fmnist, LABELS)
    shutil.move(images, images + '.x')
    shutil.move(labels, images)
    shutil.move(images + '.x', labels)
    with pytest.raises(ValueError, match=f'{images}: .*labels file: are '
                       'the images and labels files swapped'):
        build(fmnist)


@pytest.mark.parametrize('how', ['no images', 'indices=0'])
def test_empty_dataset(tmp_path, how):
    if how == 'no images':
        root = make_fashion_mnist(str(tmp_path / 'empty'), num_train=0,
                                  num_test=4)
        kwargs = {}
    else:
        root = make_fashion_mnist(str(tmp_path / 'f'), num_train=8,
                                  num_test=4)
        kwargs = dict(indices=0)
    from relkd_mm.runner.relkd_runner import RelKDRunner
    loader = dict(dataset=dict(type='LocalFashionMNIST', data_root=root,
                               pipeline=[], **kwargs),
                  sampler=dict(type='DefaultSampler'), batch_size=1)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(ValueError) as info:
            RelKDRunner.build_dataloader(loader)
    msg = str(info.value)
    assert 'LocalFashionMNIST' in msg and root in msg
    assert 'is empty' in msg and 'train_dataloader.dataset' in msg
    if how == 'indices=0':
        assert 'indices=0' in msg


def test_image_channels_differ_from_in_channels(fmnist, tmp_path):
    """Fashion-MNIST is grey; a model built for RGB (in_channels=3) fails at
    the first batch naming both numbers, not inside a convolution."""
    work = tmp_path / 'work'
    with pytest.raises(ValueError) as info:
        train(STUDENT, work, options=fmnist_options(fmnist)
              + ['model.backbone.in_channels=3'])
    msg = str(info.value)
    assert 'in_channels=3' in msg and '1 channel(s)' in msg
    assert 'model.backbone.in_channels' in msg
    assert 'Epoch(train)' not in log_text(work)

"""One test per data row of docs/errors.md: images that fail to decode,
wrong-shaped arrays, empty or missing data sets, labels out of range. Each
is an error naming the sample or file, or, where the user opted in, a
logged skip; never a hang."""
import logging
import os
import os.path as osp
import pickle

import pytest
import torch
from mmengine.logging import MMLogger
from mmpretrain.registry import DATASETS

from relkd_mm.datasets import CorruptImageError
from tests.data_utils import make_cifar100, make_imagenet_tree
from tests.train_utils import run_inprocess

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]


@pytest.fixture
def tree(tmp_path):
    """An image folder with one corrupt and one truncated JPEG."""
    root = make_imagenet_tree(str(tmp_path / 'in'))
    corrupt = osp.join(root, 'train', 'n00000000', 'train_0_0.JPEG')
    with open(corrupt, 'wb') as f:
        f.write(b'this is not a JPEG')
    truncated = osp.join(root, 'train', 'n00000001', 'train_1_0.JPEG')
    with open(truncated, 'rb') as f:
        head = f.read(200)
    with open(truncated, 'wb') as f:
        f.write(head)
    return root, corrupt, truncated


def folder(root, **kwargs):
    loader = dict(type='CheckedLoadImageFromFile', **kwargs)
    return DATASETS.build(dict(type='CustomDataset', data_root=root,
                               data_prefix='train',
                               pipeline=[loader, dict(type='PackInputs')]))


def index_of(dataset, path):
    return [dataset.get_data_info(i)['img_path']
            for i in range(len(dataset))].index(path)


def test_corrupt_and_truncated_images_name_the_file(tree):
    root, corrupt, truncated = tree
    dataset = folder(root)
    for path in (corrupt, truncated):
        with pytest.raises(CorruptImageError) as info:
            dataset[index_of(dataset, path)]
        assert repr(path) in str(info.value)
        assert 'ignore_empty=True' in str(info.value)


class Recorder(logging.Handler):

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def test_opt_in_skip_is_logged(tree):
    root, corrupt, _ = tree
    dataset = folder(root, ignore_empty=True)
    recorder = Recorder()
    logger = MMLogger.get_current_instance()
    logger.addHandler(recorder)
    try:
        sample = dataset[index_of(dataset, corrupt)]
    finally:
        logger.removeHandler(recorder)
    assert sample['inputs'].shape == (3, 40, 40)  # another sample instead
    assert any(f'skipped {corrupt}' in m for m in recorder.messages)


def test_all_images_corrupt_with_skip_ends_in_an_error(tmp_path):
    root = make_imagenet_tree(str(tmp_path / 'bad'), num_classes=1,
                              per_class=2)
    for name in os.listdir(osp.join(root, 'train', 'n00000000')):
        with open(osp.join(root, 'train', 'n00000000', name), 'wb') as f:
            f.write(b'x')
    dataset = DATASETS.build(dict(
        type='CustomDataset', data_root=root, data_prefix='train',
        max_refetch=3, pipeline=[dict(type='CheckedLoadImageFromFile',
                                      ignore_empty=True),
                                 dict(type='PackInputs')]))
    with pytest.raises(Exception, match='Cannot find valid image after 3'):
        dataset[0]


def test_error_in_dataloader_workers_surfaces(tree):
    """num_workers=2: the worker's error reaches the main process with the
    file name (no hang: the loader has a timeout as a guard)."""
    from mmengine.dataset import pseudo_collate
    root, corrupt, _ = tree
    dataset = folder(root)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=4, num_workers=2, collate_fn=pseudo_collate,
        timeout=120)
    batches = iter(loader)
    try:
        with pytest.raises(CorruptImageError, match=repr(corrupt)[1:-1]):
            for _ in batches:
                pass
    finally:
        # Stop the workers now: left to the garbage collector (the
        # exception's traceback holds the iterator until teardown), their
        # shutdown waited out 10 s of join timeouts.
        batches._shutdown_workers()


def test_missing_data_root_names_the_path(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(FileNotFoundError,
                       match="LocalCIFAR100: missing file .*nowhere/"
                       'cifar-100-python/train.*Extract the official'):
        DATASETS.build(dict(type='LocalCIFAR100', data_root=missing,
                            pipeline=PIPELINE))
    with pytest.raises(FileNotFoundError, match='nowhere/train'):
        DATASETS.build(dict(type='ImageNet', data_root=missing,
                            data_prefix='train', pipeline=PIPELINE))


def test_empty_image_folder(tmp_path):
    os.makedirs(tmp_path / 'empty' / 'train')
    with pytest.raises(RuntimeError, match='Found 0 files in subfolders of'):
        DATASETS.build(dict(type='CustomDataset',
                            data_root=str(tmp_path / 'empty'),
                            data_prefix='train', pipeline=PIPELINE))


def rewrite(root, **changes):
    path = osp.join(root, 'cifar-100-python', 'train')
    with open(path, 'rb') as f:
        entry = pickle.load(f)
    entry.update(changes)
    with open(path, 'wb') as f:
        pickle.dump(entry, f)
    return path


def test_cifar_wrong_shaped_arrays(tmp_path):
    root = make_cifar100(str(tmp_path / 'c'))
    with open(osp.join(root, 'cifar-100-python', 'train'), 'rb') as f:
        entry = pickle.load(f)
    # 128 rows of 3000 values would reshape silently into 125 images.
    path = rewrite(root, data=entry['data'][:, :3000])
    with pytest.raises(ValueError,
                       match=r'cifar-100-python/train: `data` has shape '
                       r'\(128, 3000\), expected \(N, 3072\)'):
        DATASETS.build(dict(type='LocalCIFAR100', data_root=root,
                            pipeline=PIPELINE))
    rewrite(root, data=entry['data'], fine_labels=entry['fine_labels'][:-1])
    with pytest.raises(ValueError, match=f'{path}: 128 images but 127 labels'):
        DATASETS.build(dict(type='LocalCIFAR100', data_root=root,
                            pipeline=PIPELINE))


class _RunsCode:

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (os.system, (f'touch {self.sentinel}', ))


def test_cifar_pickle_that_runs_code_is_refused(tmp_path):
    root = make_cifar100(str(tmp_path / 'c'))
    sentinel = str(tmp_path / 'code_ran')
    rewrite(root, extra=_RunsCode(sentinel))
    with pytest.raises(pickle.UnpicklingError,
                       match='refusing to unpickle posix.system'):
        DATASETS.build(dict(type='LocalCIFAR100', data_root=root,
                            pipeline=PIPELINE))
    assert not osp.exists(sentinel)


def test_label_out_of_range_fails_before_training(tmp_path):
    """A CIFAR file with label 150 for a 100-class head: tools/train.py
    (in this process) stops before the first iteration and names the
    sample."""
    root = make_cifar100(str(tmp_path / 'c'))
    with open(osp.join(root, 'cifar-100-python', 'train'), 'rb') as f:
        labels = pickle.load(f)['fine_labels']
    labels[17] = 150
    rewrite(root, fine_labels=labels)
    proc = run_inprocess(
        'train.py', 'configs/teachers/resnet8_1xb64_cifar100.py',
        '--work-dir', str(tmp_path / 'work'), '--no-validate',
        '--cfg-options', f'train_dataloader.dataset.data_root={root}',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'experiment_name=label_out_of_range', check=False)
    assert proc.returncode != 0
    err = proc.stderr
    assert 'TrainCheckHook: sample 17 of the training set LocalCIFAR100' \
        in err
    assert 'has label 150, outside the student head (num_classes=100)' \
        in err
    assert 'Epoch(train)' not in proc.stdout + err

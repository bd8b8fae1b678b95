"""Tiny datasets in the real file formats, generated for the tests."""
import os
import os.path as osp
import pickle

import numpy as np

CIFAR100_CLASSES = [f'class_{i:02d}' for i in range(100)]


def make_cifar100(root, num_train=128, num_test=64, num_classes=100, seed=0):
    """Write ``root/cifar-100-python/{train,test,meta}`` in the official
    pickle format (uint8 rows of 3072 values, ``fine_labels``), with a
    class-dependent mean colour so that a model can learn something."""
    rng = np.random.default_rng(seed)
    folder = osp.join(root, 'cifar-100-python')
    os.makedirs(folder, exist_ok=True)
    for split, n in (('train', num_train), ('test', num_test)):
        labels = np.arange(n) % num_classes
        rng.shuffle(labels)
        base = (labels[:, None] * 37 % 256).astype(np.float64)
        data = np.clip(base + rng.normal(0, 40, (n, 3072)), 0, 255)
        entry = {
            'data': data.astype(np.uint8),
            'fine_labels': labels.tolist(),
            'coarse_labels': (labels // 5).tolist(),
            'filenames': [f'{split}_{i}.png' for i in range(n)],
        }
        with open(osp.join(folder, split), 'wb') as f:
            pickle.dump(entry, f)
    with open(osp.join(folder, 'meta'), 'wb') as f:
        pickle.dump({'fine_label_names': CIFAR100_CLASSES,
                     'coarse_label_names': [f'c{i}' for i in range(20)]}, f)
    return root


def make_imagenet_tree(root, num_classes=4, per_class=4, size=40, seed=0):
    """Write an ImageNet-style tree: ``root/train/<wnid>/*.JPEG`` and
    ``root/val/<wnid>/*.JPEG`` (the layout MMPretrain's ``ImageNet`` scans
    when ``ann_file=''``)."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    for split in ('train', 'val'):
        for c in range(num_classes):
            folder = osp.join(root, split, f'n{c:08d}')
            os.makedirs(folder, exist_ok=True)
            for i in range(per_class):
                img = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(img).save(
                    osp.join(folder, f'{split}_{c}_{i}.JPEG'))
    return root

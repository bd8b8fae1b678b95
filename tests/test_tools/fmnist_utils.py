"""A generated Fashion-MNIST in the real idx format (tiny, learnable: each
class is a bright square at its own place)."""
import gzip
import os
import os.path as osp

import numpy as np


def _write_idx(path, array):
    header = (0x0800 + array.ndim).to_bytes(4, 'big') + b''.join(
        int(n).to_bytes(4, 'big') for n in array.shape)
    with gzip.open(path, 'wb') as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_fashion_mnist(root, num_train=96, num_test=48, seed=0):
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(seed)
    for prefix, n in (('train', num_train), ('t10k', num_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        imgs = rng.integers(0, 60, size=(n, 28, 28))
        for i, label in enumerate(labels):
            r, c = divmod(int(label), 5)
            imgs[i, 4 + 10 * r:12 + 10 * r, 2 + 5 * c:6 + 5 * c] = 250
        _write_idx(osp.join(root, f'{prefix}-images-idx3-ubyte.gz'), imgs)
        _write_idx(osp.join(root, f'{prefix}-labels-idx1-ubyte.gz'), labels)
    return root

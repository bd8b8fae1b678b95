import gc
import os
import os.path as osp
import subprocess
import sys

import pytest

import relkd_mm  # noqa: F401  (compat patches before any mm* import)
from tests.data_utils import make_cifar100, make_imagenet_tree

# MMEngine's BaseDataset calls gc.collect() after building each data set,
# which walks every object of this process: the stack just imported is
# moved out of the collector's sight, taking each collection from ~0.2 s
# to a few ms. Memory only: what is frozen here (modules, classes,
# functions) is never garbage.
gc.freeze()

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED = osp.normpath(osp.join(REPO, '..', 'shared'))


@pytest.fixture(scope='session')
def repo_root():
    return REPO


@pytest.fixture(scope='session')
def cifar100_root(tmp_path_factory):
    """A generated CIFAR-100 (128 train, 64 test images) in the official
    pickle layout: pass it as ``data_root``."""
    return make_cifar100(str(tmp_path_factory.mktemp('cifar100')))


@pytest.fixture(scope='session')
def imagenet_root(tmp_path_factory):
    """A generated ImageNet-style folder tree (4 classes x 4 images)."""
    return make_imagenet_tree(str(tmp_path_factory.mktemp('imagenet')))


def run_tool(script, *args, timeout=600, check=True):
    """Run ``tools/<script>`` in a subprocess, as a user would."""
    env = dict(os.environ, PYTHONWARNINGS='ignore', OMP_NUM_THREADS='1')
    try:
        proc = subprocess.run(
            [sys.executable, osp.join(REPO, 'tools', script),
             *map(str, args)],
            cwd=REPO, env=env, capture_output=True, text=True,
            timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        # What it printed says where it waited; pytest-timeout would not.
        out = [(s or b'')[-6000:] for s in (exc.stdout, exc.stderr)]
        raise AssertionError(
            f'tools/{script} still running after {timeout} s:\n' + '\n'.join(
                o.decode(errors='replace') if isinstance(o, bytes) else o
                for o in out)) from None
    if check and proc.returncode != 0:
        raise AssertionError(
            f'tools/{script} failed ({proc.returncode}):\n'
            f'{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}')
    return proc


@pytest.fixture(scope='session')
def tool():
    """``tool('train.py', cfg, '--work-dir', d)`` runs a tool script."""
    return run_tool


@pytest.fixture(autouse=True)
def restore_default_scope():
    """A Runner leaves its ``default_scope`` as the current DefaultScope for
    the rest of the process, which would make later tests' registry lookups
    search the wrong scope: drop the scopes each test creates."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    yield
    for name in list(DefaultScope._instance_dict):
        if name not in before:
            del DefaultScope._instance_dict[name]

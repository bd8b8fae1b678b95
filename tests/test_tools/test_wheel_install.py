"""relkd_mm installed as OpenMMLab users install it: from a built wheel
(not editable), used from outside the checkout.

What runs where:

* always (CI): the wheel is built (``pip wheel --no-deps
  --no-build-isolation``) and installed with ``--no-deps`` into a new
  virtual environment whose only link to this one is a ``.pth`` line naming
  this environment's site-packages, for the pinned dependencies (torch,
  the OpenMMLab stack). Path entries added by a ``.pth`` file do not run
  the ``.pth`` files they hold, so the editable install of the checkout is
  not active there, and the commands run from a temporary folder: the
  ``relkd_mm`` imported is the wheel's, its ``relkd_mm::`` configs and
  ``.mim/tools`` are the wheel's copies. It trains a quick-start config
  for one epoch and tests the checkpoint through the wheel's tools, as
  ``mim train``/``mim test`` run them (the plain-pip equivalent).
* wherever a package index answers (CI's machines reach theirs): the same
  environment gets openmim and runs ``mim train relkd_mm CONFIG`` and
  ``mim test relkd_mm CONFIG --checkpoint ...``. Without an index the test
  is skipped and says so; ``RELKD_MM_TEST_MIM=0`` skips it on purpose.
* ``RELKD_MM_TEST_FRESH_VENV=1`` (needs PyPI, minutes): a fresh
  environment with its own pip installs the pinned CPU torch, then the
  wheel with its dependencies, and trains one epoch.
"""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest

from tests.test_tools.fmnist_utils import make_fashion_mnist

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TEACHER = osp.join(REPO, 'checkpoints', 'fmnist',
                   'wrn-16-2_fmnist-lowdata.pth')
CONFIG = 'quickstart/kd_wrn-16-2_resnet8_fmnist.py'


def sh(*args, cwd, timeout=600, env=None):
    full = {k: v for k, v in os.environ.items()
            if k not in ('PYTHONPATH', 'PYTHONWARNINGS')}
    full.update(OMP_NUM_THREADS='1', **(env or {}))
    proc = subprocess.run([str(a) for a in args], cwd=str(cwd), env=full,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
        f'{proc.stderr[-3000:]}')
    return proc


def options(root):
    return ['--cfg-options', *(f'{d}.dataset.data_root={root}' for d in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')),
            'train_dataloader.batch_size=16', 'train_cfg.max_epochs=1',
            f'model.teacher_ckpt={TEACHER}']


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    # Built from a copy: setuptools writes build/ and relkd_mm.egg-info/
    # into the tree it builds, and an egg-info in the checkout changes
    # where MMEngine finds the installed package for every later test.
    source = out / 'source'
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(
        '.git', '.venv', 'work_dirs', 'build', 'dist', '*.egg-info',
        '__pycache__', '.hypothesis', '.pytest_cache'))
    sh(sys.executable, '-m', 'pip', 'wheel', '--no-deps',
       '--no-build-isolation', '-q', '-w', out, source, cwd=out)
    (path, ) = glob.glob(str(out / 'relkd_mm-*.whl'))
    return path


def new_venv(where, with_pip=False):
    """A virtual environment of the interpreter this one was made from."""
    base = getattr(sys, '_base_executable', sys.executable)
    sh(base, '-m', 'venv', *([] if with_pip else ['--without-pip']), where,
       cwd=osp.dirname(str(where)))
    return osp.join(str(where), 'bin', 'python')


def site_packages(python):
    return sh(python, '-c', 'import sysconfig; '
              'print(sysconfig.get_paths()["purelib"])',
              cwd='/').stdout.strip()


@pytest.fixture(scope='module')
def installed(tmp_path_factory, wheel):
    tmp = tmp_path_factory.mktemp('venv')
    python = new_venv(tmp / 'venv')
    with open(osp.join(site_packages(python), 'pinned_deps.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    sh(sys.executable, '-m', 'pip', '--python', python, 'install', '-q',
       '--no-deps', wheel, cwd=tmp)
    outside = tmp / 'elsewhere'
    outside.mkdir()
    return dict(python=python, cwd=outside,
                root=make_fashion_mnist(str(tmp / 'fmnist'), num_train=32,
                                        num_test=16))


def test_wheel_imports_and_resolves_configs_outside_the_checkout(installed):
    proc = sh(installed['python'], '-c', '''
import os.path as osp
import relkd_mm
from mmengine.hub import get_config
cfg = get_config('relkd_mm::%s')
print(relkd_mm.__file__)
print(cfg.model.type, cfg.filename)
''' % CONFIG, cwd=installed['cwd'])
    package, config = proc.stdout.strip().splitlines()
    pkg_dir = osp.dirname(package)
    assert package.startswith(site_packages(installed['python']))
    assert not package.startswith(REPO)
    assert config.split()[0] == 'CheckedSingleTeacherDistill'
    # The wheel's copy, not a link into the checkout.
    assert config.split()[1] == osp.join(pkg_dir, '.mim', 'configs', CONFIG)
    assert not osp.islink(osp.join(pkg_dir, '.mim', 'configs'))


def test_wheel_tools_train_and_test_as_mim_runs_them(installed, tmp_path):
    pkg = osp.join(site_packages(installed['python']), 'relkd_mm', '.mim')
    config = osp.join(pkg, 'configs', CONFIG)
    work = tmp_path / 'kd'
    train = sh(installed['python'], osp.join(pkg, 'tools', 'train.py'),
               config, '--work-dir', work, *options(installed['root']),
               cwd=installed['cwd'])
    assert 'Epoch(val) [1][' in train.stdout
    test = sh(installed['python'], osp.join(pkg, 'tools', 'test.py'),
              config, work / 'epoch_1.pth', '--work-dir', tmp_path / 't',
              *options(installed['root']), cwd=installed['cwd'])
    assert re.search(r'Epoch\(test\) \[1/1\] +accuracy/top1', test.stdout)


@pytest.fixture(scope='module')
def openmim(tmp_path_factory):
    """openmim's wheel, or a skip naming why there is none."""
    if os.environ.get('RELKD_MM_TEST_MIM') == '0':
        pytest.skip('RELKD_MM_TEST_MIM=0')
    out = tmp_path_factory.mktemp('openmim')
    try:
        proc = subprocess.run(
            [sys.executable, '-m', 'pip', 'download', '-q', '--no-deps',
             '-d', str(out), 'openmim'], capture_output=True, text=True,
            timeout=120)
    except subprocess.TimeoutExpired:
        pytest.skip('no package index answered in 120 s: openmim can not '
                    'be installed')
    if proc.returncode != 0:
        pytest.skip('no package index reachable to install openmim: '
                    + proc.stderr.strip()[-300:])
    (path, ) = glob.glob(str(out / 'openmim-*.whl'))
    return path


def test_mim_train_and_test(installed, openmim, tmp_path):
    sh(sys.executable, '-m', 'pip', '--python', installed['python'],
       'install', '-q', openmim, cwd=tmp_path)
    mim = osp.join(osp.dirname(installed['python']), 'mim')
    work = tmp_path / 'kd'
    train = sh(mim, 'train', 'relkd_mm', CONFIG, '--work-dir', work,
               *options(installed['root']), cwd=installed['cwd'])
    assert 'Training finished successfully' in train.stdout
    test = sh(mim, 'test', 'relkd_mm', CONFIG, '--checkpoint',
              work / 'epoch_1.pth', '--work-dir', tmp_path / 't',
              *options(installed['root']), cwd=installed['cwd'])
    assert 'Testing finished successfully' in test.stdout


@pytest.mark.skipif(os.environ.get('RELKD_MM_TEST_FRESH_VENV') != '1',
                    reason='opt-in (RELKD_MM_TEST_FRESH_VENV=1): installs '
                    'torch and the OpenMMLab stack from PyPI (minutes)')
def test_fresh_venv_from_the_wheel(wheel, tmp_path):
    python = new_venv(tmp_path / 'venv', with_pip=True)
    pip = [python, '-m', 'pip', 'install', '-q']
    # The README's order: the pinned torch first, then the wheel.
    sh(*pip, 'torch==2.13.0', 'setuptools>=77.0.3,<82', 'wheel',
       cwd=tmp_path, timeout=1800)
    sh(*pip, 'torchvision==0.28.0', cwd=tmp_path, timeout=1800)
    sh(*pip, '--no-build-isolation', wheel, cwd=tmp_path, timeout=1800)
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    root = make_fashion_mnist(str(tmp_path / 'fmnist'), num_train=32,
                              num_test=16)
    pkg = osp.join(site_packages(python), 'relkd_mm', '.mim')
    sh(python, osp.join(pkg, 'tools', 'train.py'),
       osp.join(pkg, 'configs', CONFIG), '--work-dir', tmp_path / 'kd',
       *options(root), cwd=outside)

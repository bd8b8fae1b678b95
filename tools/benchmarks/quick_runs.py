"""The quick start's budget (``tools/quickstart.py``) and the accuracy
benchmark's (``tools/benchmark.py``): their rows, data and options.

A row is one or more ordinary MMEngine runs of ordinary configs of
``configs/quickstart/``, trained by
:class:`~relkd_mm.utils.staged_run.StagedRun` (a method trained in stages,
REFILLED, trains each in ``<work_dir>/stage<k>``). Nothing here is specific
to a method: a method joins by its ``quick`` row in the method table
(:mod:`tools.benchmarks.methods`).
"""
import os.path as osp
import sys
import time

from mmengine.config import Config
from mmengine.registry import RUNNERS

from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST
from relkd_mm.runner.checkpoint import sha256
from relkd_mm.utils.console import quiet_console
from relkd_mm.utils.staged_run import CONFIGS
from tools.benchmarks.methods import METHODS, Row

#: The folder holding configs/: results name their configs relative to it
#: (``configs/quickstart/...``). Nothing here assumes that the package sits
#: in a checkout (:data:`~relkd_mm.utils.staged_run.CONFIGS`).
REPO = osp.dirname(CONFIGS)
CFG_DIR = osp.join(CONFIGS, 'quickstart')

#: The recorded sha256 of the quick start's committed teacher, the
#: fmnist-lowdata protocol's wrn_16_2, weights only
#: (checkpoints/fmnist/README.md). Its path is tools/quickstart.py's: the
#: file is the repository's, not the package's.
QUICKSTART_TEACHER_SHA256 = \
    'd5dd7883ebb7e11a7780ac7005a336168fbd0a3481b3435f69a9279230dbe2a7'


def committed_teacher(path, expected=QUICKSTART_TEACHER_SHA256):
    """``path`` when its sha256 is the recorded one; otherwise a
    SystemExit naming the file and the fix (a changed, truncated or
    Git-LFS-pointer file would distil from something else)."""
    if not osp.isfile(path):
        sys.exit(f'The quick start\'s teacher {path} is missing: restore it '
                 '(`git checkout -- checkpoints/`) or pass --train-teacher.')
    digest = sha256(path)
    if digest != expected:
        sys.exit(f'{path} does not match its recorded sha256 '
                 f'({expected[:16]}..., the file has {digest[:16]}...): '
                 'restore it (`git checkout -- checkpoints/`) or pass '
                 '--train-teacher.')
    return path


TEACHER = Row('teacher (wrn_16_2)', ('teacher_wrn-16-2_fmnist.py', ),
              'the teacher', False)
#: The distilled rows, in the method table's order; a missing config is
#: reported, not silently skipped.
RUNS = [m.quick for m in METHODS if m.quick is not None]


def config_paths(row, cfg_dir=CFG_DIR):
    return [c if osp.isabs(c) else osp.join(cfg_dir, c) for c in row.configs]


def missing_configs(row, cfg_dir=CFG_DIR):
    return [p for p in config_paths(row, cfg_dir) if not osp.isfile(p)]


#: The four idx files of Fashion-MNIST (each also read ungzipped).
FASHION_MNIST_FILES = [f'{p}-{k}-ubyte.gz' for p in ('train', 't10k')
                       for k in ('images-idx3', 'labels-idx1')]


def check_fashion_mnist(data_root):
    """Exit with the command that installs Fashion-MNIST when its four idx
    files are not in ``data_root``. Only a check: installing is
    ``tools/fetch_fashion_mnist.sh``'s (as root), which the quick start's
    ``tools/quickstart.sh`` runs."""
    missing = [f for f in FASHION_MNIST_FILES
               if not osp.isfile(osp.join(data_root, f)) and
               not osp.isfile(osp.join(data_root, f[:-3]))]
    if not missing:
        return
    sys.exit(f'Fashion-MNIST not found in {data_root}: '
             f'{", ".join(missing)} missing (gzipped or not). Install '
             f'Debian\'s `dataset-fashion-mnist` into {DEBIAN_FASHION_MNIST} '
             '(the default --data-root) with `sudo bash '
             'tools/fetch_fashion_mnist.sh`, or put the four files in a '
             'folder and pass --data-root.')


def budget_options(train_size=None, test_size=None, epochs=None, seed=None,
                   data_root=None, cosine_t_max=True):
    """The subset and schedule as ``--cfg-options`` a user could also pass.

    ``None`` leaves the config's value. ``cosine_t_max``: also set
    ``param_scheduler.T_max`` to ``epochs`` (the quick-start configs' single
    cosine scheduler).
    """
    options = {}
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    if train_size is not None:
        options['train_dataloader.dataset.indices'] = train_size
    if test_size is not None:
        options['val_dataloader.dataset.indices'] = test_size
        options['test_dataloader.dataset.indices'] = test_size
    if data_root is not None:
        for loader in loaders:
            options[f'{loader}.dataset.data_root'] = data_root
    if epochs is not None:
        options['train_cfg.max_epochs'] = epochs
        if cosine_t_max:
            options['param_scheduler.T_max'] = epochs
    if seed is not None:
        options['randomness.seed'] = seed
    return options


def test_checkpoint(name, cfg_path, checkpoint, work_dir, options,
                    log_level='WARNING', progress=None):
    """Test a finished model (e.g. a committed teacher) under the same
    options as the trained rows; returns a result like
    :meth:`~relkd_mm.utils.staged_run.StagedRun.train`'s."""
    start = time.time()
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    cfg.work_dir, cfg.load_from = work_dir, checkpoint
    cfg.experiment_name = f'{osp.basename(work_dir)}_{time.time_ns()}'
    cfg.log_level = log_level
    runner = RUNNERS.build(cfg)
    if progress is not None:
        quiet_console(runner.logger)
    top1 = float(runner.test()['accuracy/top1'])
    return dict(name=name, configs=[osp.relpath(cfg_path, REPO)], top1=top1,
                test_top1=top1, checkpoint=checkpoint,
                seconds=time.time() - start)

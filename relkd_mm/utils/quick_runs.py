"""Train-and-test runs of small configs, shared by the quick start
(``tools/quickstart.py``) and the accuracy benchmark (``tools/benchmark.py``).

A *run* is one or more ordinary MMEngine runs of ordinary configs: a method
with several stages (REFILLED) trains each stage in ``<work_dir>/stage<k>``
from the previous stage's last checkpoint (``load_from``), and the last
stage is tested. Nothing here is specific to a method: a method joins the
quick start and the benchmark by adding its config(s) to :data:`RUNS`.
"""
import contextlib
import functools
import json
import os.path as osp
import sys
import time
from collections import namedtuple

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.utils import get_installed_path

from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST
from relkd_mm.runner.checkpoint import (  # sha256: also protocol's
    latest_intact_checkpoint, sha256)
from relkd_mm.runner.config_values import check_config_values
from relkd_mm.runner.work_dir_lock import work_dir_lock
from relkd_mm.utils.console import quiet_console

#: relkd_mm's configs where MMEngine finds them for ``relkd_mm::`` names
#: (``<package>/.mim/configs``, see ``mmengine.config.utils``): a link to
#: the repository's configs/ in a checkout, their copy in an installed
#: package. Nothing here assumes that the package sits in a checkout.
CONFIGS = osp.realpath(
    osp.join(get_installed_path('relkd_mm'), '.mim', 'configs'))
#: The folder holding configs/: results name their configs relative to it
#: (``configs/quickstart/...``).
REPO = osp.dirname(CONFIGS)
CFG_DIR = osp.join(CONFIGS, 'quickstart')

#: One row of the quick start / benchmark. ``configs``: a config file of
#: configs/quickstart/, or a tuple of them for a method trained in stages.
#: ``baseline``: a reference row (the student alone, KD).
Method = namedtuple('Method', ['name', 'configs', 'note', 'baseline'])

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


TEACHER = Method('teacher (wrn_16_2)', ('teacher_wrn-16-2_fmnist.py', ),
                 'the teacher', False)
#: The distilled rows, in table order. Methods join by adding a config here;
#: a missing config is reported, not silently skipped.
RUNS = [
    Method('student alone (resnet8)', ('student_resnet8_fmnist.py', ),
           'baseline', True),
    Method('KD', ('kd_wrn-16-2_resnet8_fmnist.py', ),
           'MMRazor KLDivergence, T=4', True),
    Method('RRD', ('rrd_wrn-16-2_resnet8_fmnist.py', ),
           'relkd_mm RRDLoss', False),
    Method('VRM', ('vrm_wrn-16-2_resnet8_fmnist.py', ),
           'relkd_mm VRMLoss', False),
    Method('REFILLED', ('refilled-s1_wrn-16-2_resnet8_fmnist.py',
                        'refilled-s2_wrn-16-2_resnet8_fmnist.py'),
           'relkd_mm stage 1 + stage 2', False),
]


def config_paths(method, cfg_dir=CFG_DIR):
    return [c if osp.isabs(c) else osp.join(cfg_dir, c)
            for c in method.configs]


def missing_configs(method, cfg_dir=CFG_DIR):
    return [p for p in config_paths(method, cfg_dir) if not osp.isfile(p)]


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


def _stage_dirs(work_dir, n):
    return [work_dir] if n == 1 else [
        osp.join(work_dir, f'stage{k + 1}') for k in range(n)]


def last_checkpoint(work_dir):
    """The newest intact checkpoint MMEngine recorded in ``work_dir`` (a
    damaged latest one skipped, logged), or None."""
    if not osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        return None
    path = latest_intact_checkpoint(work_dir)
    return path if path and osp.isfile(path) else None


def test_checkpoint(name, cfg_path, checkpoint, work_dir, options,
                    log_level='WARNING', progress=None):
    """Test a finished model (e.g. a committed teacher) under the same
    options as the trained rows; returns a result like
    :func:`train_and_test`'s."""
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


#: The work-dir locks of the train_and_test calls running (innermost last).
_HELD = []


def _one_run_per_work_dir(func):
    """Hold the work dir of each stage (:func:`work_dir_lock`) from the
    stage's start until ``func`` returns or raises: two runs in one work
    dir would interleave their logs and checkpoints."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with contextlib.ExitStack() as held:
            _HELD.append(held)
            try:
                return func(*args, **kwargs)
            finally:
                _HELD.remove(held)

    return wrapper


@_one_run_per_work_dir
def train_and_test(name, cfg_paths, work_dir, options, teacher_ckpt=None,
                   resume=False, log_level='WARNING', prepare=None,
                   stage_options=None, validate=False, test=True,
                   test_only=False, progress=None):
    """Train each stage of a method, then evaluate the last one.

    Args:
        name (str): Row name, copied into the result.
        cfg_paths (list[str]): The config of each stage.
        work_dir (str): The run's work dir (stages in ``stage<k>/``).
        options (dict): ``--cfg-options`` merged into every stage.
        teacher_ckpt (str, optional): Set as ``model.teacher_ckpt`` of every
            stage that is a distiller.
        resume (bool): Continue a stage from the last checkpoint found in
            its work dir (loaded through the allow-list, as every
            checkpoint: the work dir may be a copied one) and skip
            stages already finished.
        log_level (str): The runners' log level.
        prepare (callable, optional): ``prepare(cfg)`` edits each loaded
            config (e.g. a protocol's data splits) before ``options``.
        stage_options (list[dict], optional): Options of each stage, merged
            after ``options`` (e.g. the stage's share of the epochs).
        validate (bool): Run the validation loop once after training (the
            last epoch's accuracy is the result: ``val_top1``).
        test (bool): Run the test loop after training (``test_top1``, also
            returned as ``top1``).
        test_only (bool): Train nothing: test the last stage's last
            checkpoint (a run finished before with ``test=False``).
        progress (RunProgress, optional): Show a progress bar per stage and
            keep known-harmless upstream messages off the console (they
            stay in the log file; :mod:`relkd_mm.utils.console`).

    Returns:
        dict: ``name``, ``configs``, ``top1`` and ``test_top1`` (test
        accuracy of the last stage, %, or None), ``val_top1`` (or None),
        ``checkpoint`` (the last stage's) and ``seconds`` (this call's
        wall time).
    """
    start = time.time()
    stage_dirs = _stage_dirs(work_dir, len(cfg_paths))
    val_top1 = test_top1 = None
    for k, (cfg_path, stage_dir) in enumerate(zip(cfg_paths, stage_dirs)):
        is_last = k == len(cfg_paths) - 1
        done = osp.join(stage_dir, 'stage_done.json')
        if not is_last and (test_only or (resume and osp.isfile(done))):
            continue
        cfg = Config.fromfile(cfg_path)
        if prepare is not None:
            prepare(cfg)
        cfg.merge_from_dict(options)
        if stage_options:
            cfg.merge_from_dict(stage_options[k])
        if teacher_ckpt is not None and 'teacher_ckpt' in cfg.model:
            cfg.model.teacher_ckpt = teacher_ckpt
        cfg.work_dir = stage_dir
        cfg.experiment_name = f'{osp.basename(stage_dir)}_{time.time_ns()}'
        cfg.log_level = log_level
        previous = last_checkpoint(stage_dir) if resume or test_only \
            else None
        # Never trusted: the work dir may be copied or shared, and whatever
        # its last_checkpoint names loads through the allow-list like any
        # other file (every MMEngine checkpoint does).
        if test_only:
            cfg.load_from = previous
        elif previous is not None:
            cfg.resume, cfg.load_from = True, previous
        elif k > 0:
            cfg.load_from = last_checkpoint(stage_dirs[k - 1])
        _HELD[-1].enter_context(work_dir_lock(stage_dir))
        check_config_values(cfg)
        runner = RUNNERS.build(cfg)
        if progress is not None:
            quiet_console(runner.logger)
            if not test_only:
                runner.register_hook(progress.hook(
                    name if len(cfg_paths) == 1 else f'{name} ({k + 1}/'
                    f'{len(cfg_paths)})'))
        if not test_only:
            runner.train()
        if not is_last:
            with open(done, 'w') as f:
                json.dump(dict(checkpoint=last_checkpoint(stage_dir)), f)
            continue
        if validate:
            # MMRazor's distillation val loop returns nothing: read the
            # metric where RuntimeInfoHook puts every loop's metrics.
            runner.val()
            val_top1 = float(runner.message_hub.get_scalar(
                'val/accuracy/top1').current())
        if test:
            test_top1 = float(runner.test()['accuracy/top1'])
    result = dict(name=name,
                  configs=[osp.relpath(p, REPO) for p in cfg_paths],
                  top1=test_top1, test_top1=test_top1,
                  checkpoint=last_checkpoint(stage_dirs[-1]),
                  seconds=time.time() - start)
    if validate:
        result['val_top1'] = val_top1
    return result

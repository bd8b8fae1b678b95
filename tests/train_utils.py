"""``tools/train.py`` run in the test's own process (seconds instead of a
fresh interpreter's import time), on the tiny generated Fashion-MNIST of
``tests/test_tools/fmnist_utils.py`` and the quick-start configs."""
import glob
import itertools
import os.path as osp
import runpy
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
STUDENT = 'configs/quickstart/student_resnet8_fmnist.py'
KD = 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py'
_RUNS = itertools.count()


def fmnist_options(root, epochs=1, batch=16, t_max=None):
    """``--cfg-options`` for a tiny, fast run on the generated data.

    ``t_max``: the quick start's cosine ``T_max`` (epochs); None keeps the
    config's (3), so that a resume with more epochs keeps the schedule (a
    changed one is refused on resume)."""
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    return [*(f'{d}.dataset.data_root={root}' for d in loaders),
            f'train_dataloader.batch_size={batch}',
            f'train_cfg.max_epochs={epochs}',
            *([f'param_scheduler.T_max={t_max}'] if t_max else []),
            'default_hooks.logger.interval=1', 'randomness.seed=0',
            # One logger and visualizer per run (they are named instances).
            f'experiment_name=inprocess_{next(_RUNS)}']


def train(config, work_dir, *args, options=()):
    """``python tools/train.py config --work-dir work_dir --no-validate
    *args --cfg-options *options``, in this process."""
    argv = [osp.join(REPO, 'tools', 'train.py'), osp.join(REPO, config),
            '--work-dir', str(work_dir), '--no-validate', *map(str, args)]
    if options:
        argv += ['--cfg-options', *map(str, options)]
    from mmengine.registry import DefaultScope
    scopes = set(DefaultScope._instance_dict)
    saved = sys.argv
    sys.argv = argv
    try:
        runpy.run_path(argv[0], run_name='__main__')
    finally:
        sys.argv = saved
        # The runner leaves its default scope current (see conftest.py);
        # module-scoped fixtures train before conftest's guard starts.
        for name in set(DefaultScope._instance_dict) - scopes:
            del DefaultScope._instance_dict[name]


def log_text(work_dir):
    """Every log file written in ``work_dir``, concatenated in order."""
    text = ''
    for path in sorted(glob.glob(osp.join(str(work_dir), '*', '*.log'))):
        with open(path) as f:
            text += f.read()
    return text

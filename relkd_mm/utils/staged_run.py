"""A method trained in stages, each an ordinary MMEngine run of its config.

REFILLED trains stage 1, then stage 2 from stage 1's last checkpoint:
``tools/train_refilled.py`` runs its two stages with :class:`StagedRun`,
and so do the quick start and the benchmarks of ``tools/benchmarks/`` for
every method (one stage or several), so that a staged method needs nothing
of its own there::

    configs = StageConfigs([stage1_cfg, stage2_cfg], {'randomness.seed': 0})
    result = StagedRun('REFILLED', configs, 'work_dirs/refilled').train(
        resume=True)
"""
import contextlib
import json
import logging
import os.path as osp
import time

from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import RUNNERS
from mmengine.utils import get_installed_path

from relkd_mm.runner.checkpoint import (CorruptCheckpointError,
                                        latest_intact_checkpoint)
from relkd_mm.runner.config_values import check_config_values
from relkd_mm.runner.work_dir_lock import work_dir_lock
from relkd_mm.utils.console import quiet_console

#: relkd_mm's configs where MMEngine finds them for ``relkd_mm::`` names
#: (``<package>/.mim/configs``, see ``mmengine.config.utils``): a link to
#: the repository's configs/ in a checkout, their copy in an installed
#: package. Results name their configs relative to the folder holding it
#: (``configs/quickstart/...``), wherever the package sits.
CONFIGS = osp.realpath(
    osp.join(get_installed_path('relkd_mm'), '.mim', 'configs'))


def last_checkpoint(work_dir):
    """The newest intact checkpoint MMEngine recorded in ``work_dir`` (a
    damaged latest one skipped, logged), or None."""
    if not osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        return None
    path = latest_intact_checkpoint(work_dir)
    return path if path and osp.isfile(path) else None


class StageConfigs:
    """The config of each stage, as the stage's run loads it: the file,
    then ``prepare(cfg)``, then ``options``, then the stage's own
    ``stage_options``, then ``teacher_ckpt``.

    Args:
        paths (list[str]): The config file of each stage.
        options (dict, optional): ``--cfg-options`` merged into every
            stage.
        stage_options (list[dict], optional): Options of each stage, merged
            after ``options`` (e.g. the stage's share of the epochs).
        prepare (callable, optional): ``prepare(cfg)`` edits each loaded
            config before the options (e.g. a protocol's data splits).
        teacher_ckpt (str, optional): Set as ``model.teacher_ckpt`` of every
            stage that is a distiller.
    """

    def __init__(self, paths, options=None, stage_options=None, prepare=None,
                 teacher_ckpt=None):
        self.paths = list(paths)
        self.options = dict(options or {})
        self.stage_options = stage_options
        self.prepare = prepare
        self.teacher_ckpt = teacher_ckpt

    def load(self, k):
        """Stage ``k``'s config (0-based)."""
        cfg = Config.fromfile(self.paths[k])
        if self.prepare is not None:
            self.prepare(cfg)
        cfg.merge_from_dict(self.options)
        if self.stage_options:
            cfg.merge_from_dict(self.stage_options[k])
        if self.teacher_ckpt is not None and 'teacher_ckpt' in cfg.model:
            cfg.model.teacher_ckpt = self.teacher_ckpt
        return cfg


class StagedRun:
    """Train the stages of a method one after the other, then evaluate the
    last one.

    A single stage trains in ``work_dir``; stage ``k`` of several trains in
    ``<work_dir>/stage<k>`` and starts from the previous stage's last
    checkpoint (``load_from``). Each stage's work dir is held
    (:func:`~relkd_mm.runner.work_dir_lock.work_dir_lock`) from the stage's
    start until :meth:`train` or :meth:`test` returns or raises: two runs in
    one work dir would interleave their logs and checkpoints.

    Args:
        name (str): Row name, copied into the result.
        configs (StageConfigs): The stages' configs.
        work_dir (str): The run's work dir.
        log_level (str): The runners' log level.
        progress (RunProgress, optional): Show a progress bar per stage and
            keep known-harmless upstream messages off the console (they stay
            in the log file; :mod:`relkd_mm.utils.console`).
    """

    def __init__(self, name, configs, work_dir, log_level='WARNING',
                 progress=None):
        self.name, self.configs = name, configs
        self.log_level, self.progress = log_level, progress
        n = len(configs.paths)
        self.stage_dirs = [work_dir] if n == 1 else [
            osp.join(work_dir, f'stage{k + 1}') for k in range(n)]

    def train(self, resume=False, validate=False, test=True):
        """Train every stage, then evaluate the last one.

        Args:
            resume (bool): Continue each stage from the last checkpoint
                found in its work dir (loaded through the allow-list, as
                every checkpoint: the work dir may be a copied one) and skip
                the stages before the last that finished.
            validate (bool): Run the validation loop once after training
                (the last epoch's accuracy is the result: ``val_top1``).
            test (bool): Run the test loop after training (``test_top1``,
                also returned as ``top1``).

        Returns:
            dict: ``name``, ``configs``, ``top1`` and ``test_top1`` (test
            accuracy of the last stage, %, or None), ``val_top1`` (with
            ``validate``), ``checkpoint`` (the last stage's) and ``seconds``
            (this call's wall time).
        """
        start = time.time()
        with contextlib.ExitStack() as held:
            for k, stage_dir in enumerate(self.stage_dirs):
                is_last = k == len(self.stage_dirs) - 1
                done = osp.join(stage_dir, 'stage_done.json')
                if resume and not is_last and osp.isfile(done):
                    continue
                runner = self._runner(k, held, **self._start(k, resume))
                if self.progress is not None:
                    runner.register_hook(self.progress.hook(
                        self.name if len(self.stage_dirs) == 1 else
                        f'{self.name} ({k + 1}/{len(self.stage_dirs)})'))
                runner.train()
                if not is_last:
                    with open(done, 'w') as f:
                        json.dump(dict(checkpoint=last_checkpoint(stage_dir)),
                                  f)
            return self._result(runner, start, validate, test)

    def test(self):
        """Train nothing: test the last stage's last checkpoint (a run
        trained before with ``test=False``). Returns a result as
        :meth:`train`'s, without ``val_top1``."""
        start = time.time()
        last = self.stage_dirs[-1]
        with contextlib.ExitStack() as held:
            runner = self._runner(len(self.stage_dirs) - 1, held,
                                  load_from=last_checkpoint(last))
            return self._result(runner, start, validate=False, test=True)

    def _start(self, k, resume):
        """Where stage ``k`` starts (the config keys to set): its own last
        checkpoint when resuming, else the previous stage's last
        checkpoint, else what its config says. Whatever a work dir's
        last_checkpoint names is never trusted (the work dir may be copied
        or shared): it loads through the allow-list like any other file, as
        every MMEngine checkpoint does."""
        previous = None
        if resume:
            try:
                previous = last_checkpoint(self.stage_dirs[k])
            except CorruptCheckpointError:
                # Nothing intact to continue (killed during the stage's first
                # save): starting over loses nothing, while raising stopped
                # a whole cached, resumable benchmark at this run.
                print_log(
                    f'{self.name}: {self.stage_dirs[k]} holds no intact '
                    'checkpoint to resume from (its last_checkpoint names a '
                    'missing or damaged file); the stage trains from its '
                    'start.', logger='current', level=logging.WARNING)
        if previous is not None:
            return dict(resume=True, load_from=previous)
        if k > 0:
            return dict(load_from=last_checkpoint(self.stage_dirs[k - 1]))
        return {}

    def _runner(self, k, held, **settings):
        """Stage ``k``'s runner, its work dir held in ``held``."""
        stage_dir = self.stage_dirs[k]
        cfg = self.configs.load(k)
        cfg.work_dir = stage_dir
        cfg.experiment_name = f'{osp.basename(stage_dir)}_{time.time_ns()}'
        cfg.log_level = self.log_level
        for key, value in settings.items():
            cfg[key] = value
        held.enter_context(work_dir_lock(stage_dir))
        check_config_values(cfg)
        runner = RUNNERS.build(cfg)
        if self.progress is not None:
            quiet_console(runner.logger)
        return runner

    def _result(self, runner, start, validate, test):
        val_top1 = test_top1 = None
        if validate:
            # MMRazor's distillation val loop returns nothing: read the
            # metric where RuntimeInfoHook puts every loop's metrics.
            runner.val()
            val_top1 = float(runner.message_hub.get_scalar(
                'val/accuracy/top1').current())
        if test:
            test_top1 = float(runner.test()['accuracy/top1'])
        result = dict(
            name=self.name,
            configs=[osp.relpath(p, osp.dirname(CONFIGS))
                     for p in self.configs.paths],
            top1=test_top1, test_top1=test_top1,
            checkpoint=last_checkpoint(self.stage_dirs[-1]),
            seconds=time.time() - start)
        if validate:
            result['val_top1'] = val_top1
        return result

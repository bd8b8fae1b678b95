"""The Runner of ``tools/train.py`` and ``tools/test.py``: MMEngine's
Runner with a console a person reads.

On the console: the run's name, work dir and log file, the data and the
schedule, the teacher and its check, the loss terms, a progress bar with
its ETA for training and for testing, MMEngine's loss lines at the logger
interval and the validation results. MMEngine's environment block, config
dump and hook table go to the log file only (``--verbose`` brings them
back); known-harmless upstream messages
(:data:`relkd_mm.utils.console.HARMLESS_MESSAGES`) leave the console, and
stay in the log file.

It is a subclass, not a patch: only runs built through it (the tools) change;
a config's own ``runner_type`` is built as before.
"""
import logging
import os.path as osp

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from relkd_mm.utils.console import (console_handlers, filter_harmless_warnings,
                                    quiet_console)


class ToolRunner(Runner):
    """MMEngine's :class:`~mmengine.runner.Runner` with a quiet, informative
    console (module docstring).

    :meth:`for_config` builds the runner a config asks for with this
    console; :meth:`with_console` gives the class with other console options
    (``verbose``, ``progress``) on top of another Runner class.
    """

    #: Keep MMEngine's environment, config dump and hook table on the
    #: console too (the log file always has them).
    verbose = False
    #: Show rich progress bars (rank 0 only).
    progress = True

    @classmethod
    def with_console(cls, verbose=False, progress=True, base=None):
        """This class with the given console options (a subclass, so that
        ``from_cfg`` builds it), on top of ``base`` (a Runner subclass whose
        methods this console wraps) where given."""
        bases = (cls, ) if base is None or issubclass(cls, base) else \
            (cls, base)
        return type(cls.__name__, bases,
                    dict(verbose=verbose, progress=progress,
                         __module__=cls.__module__,
                         __qualname__=cls.__qualname__))

    @classmethod
    def for_config(cls, cfg, verbose=False):
        """The runner ``cfg`` asks for, with this console: the class its
        ``runner_type`` names (MMEngine's Runner without one), built from
        the config as ``RUNNERS.build`` would. A runner type that is no
        :class:`~mmengine.runner.Runner` (e.g. ``FlexibleRunner``) is built
        by ``RUNNERS.build``, with its own console."""
        from mmengine.registry import RUNNERS
        runner_type = cfg.get('runner_type', 'Runner')
        if isinstance(runner_type, str):
            with RUNNERS.switch_scope_and_registry(None) as registry:
                base = registry.get(runner_type)
        else:
            base = runner_type
        if not (isinstance(base, type) and issubclass(base, Runner)):
            return RUNNERS.build(cfg)
        return cls.with_console(verbose=verbose, base=base).from_cfg(cfg)

    def __init__(self, *args, **kwargs):
        self._bar = None
        super().__init__(*args, **kwargs)
        if self.progress and self.rank == 0:
            self.register_hook(ConsoleProgressHook())

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        logger = super().build_logger(log_level, log_file, **kwargs)
        quiet_console(logger, verbose=self.verbose)
        filter_harmless_warnings()
        log_file = log_file or osp.join(self._log_dir, f'{self.timestamp}.log')
        config = getattr(self.cfg, 'filename', None) or '(no file)'
        logger.info(
            f'Run {self._experiment_name}: config {config}\n'
            f'Work dir: {osp.abspath(self._work_dir)}\n'
            f'Log file: {osp.abspath(log_file)} (with the environment, the '
            'config and the hook order' +
            ('' if self.verbose else '; --verbose shows them here too') + ')')
        return logger

    # -- progress bars: started and stopped around the loops, so that an
    # exception never leaves a live display behind.
    def train(self):
        with self._live():
            return super().train()

    def val(self):
        with self._live():
            return super().val()

    def test(self):
        with self._live():
            metrics = super().test()
        level = logging.getLevelName(
            str(self.cfg.get('log_level', 'INFO')).upper())
        if self.rank == 0 and isinstance(level, int) and level > logging.INFO:
            # A config saved by tools/benchmark.py carries its quiet
            # log_level='WARNING', which hides MMEngine's result line; the
            # result is what a test is run for.
            print('Test: ' + '  '.join(
                f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}'
                for k, v in metrics.items()))
        return metrics

    def _live(self):
        return _Live(self)


class _Live:
    """Starts the runner's rich progress display (once, however the loops
    nest) and routes its console log handler through the display, so that
    log lines print above the bars."""

    def __init__(self, runner):
        self.runner, self.owner = runner, False

    def __enter__(self):
        runner = self.runner
        if not runner.progress or runner.rank != 0 or runner._bar is not None:
            return self
        import sys

        from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                                   TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        runner._bar = Progress(
            TextColumn('{task.description:<6}'), BarColumn(),
            MofNCompleteColumn(), TextColumn('iters'), TimeElapsedColumn(),
            TextColumn('ETA'), TimeRemainingColumn())
        runner._bar.start()
        self.owner = True
        # On a terminal rich replaces sys.stdout by a proxy that prints
        # above the live bars; MMEngine's handler holds the stream it was
        # created with.
        self.streams = [(h, h.setStream(sys.stdout))
                        for h in console_handlers(runner.logger)
                        if getattr(h, 'stream', None) is not None]
        return self

    def __exit__(self, *exc):
        if not self.owner:
            return
        runner = self.runner
        runner._bar.stop()
        runner._bar = None
        for handler, stream in self.streams:
            if stream is not None:
                handler.setStream(stream)


def _model(runner):
    model = runner.model
    return model.module if is_model_wrapper(model) else model


def _loader_line(name, loader):
    dataset = loader.dataset
    return (f'{name}: {type(dataset).__name__} ({len(dataset)} images'
            f'{_root(dataset)}), batch {loader.batch_size}, '
            f'{len(loader)} iterations')


def _root(dataset):
    root = getattr(dataset, 'data_root', None) or ''
    return f' from {root}' if root else ''


def data_and_schedule(runner):
    """The lines a person checks before a run trains: data, schedule,
    teacher and loss terms."""
    lines = [_loader_line('Train data', runner.train_dataloader) +
             ' per epoch']
    if runner.val_loop is not None:
        lines.append(_loader_line('Val data', runner.val_dataloader))
    loop = runner.train_loop
    lr = ', '.join(f'{k} {v[0]:g}' for k, v in
                   runner.optim_wrapper.get_lr().items())
    optimizer = type(getattr(runner.optim_wrapper, 'optimizer', None) or
                     runner.optim_wrapper).__name__
    every = f'every {loop.val_interval} ' + (
        'epoch(s)' if hasattr(loop, 'max_epochs') else 'iterations')
    # MMEngine's train loops also validate at the last epoch/iteration,
    # whatever the interval: a 1-epoch run with interval 100 validates once.
    every += ' and after the last'
    epochs = (f'{loop.max_epochs} epoch(s) = ' if hasattr(loop, 'max_epochs')
              else '')
    lines.append(
        f'Schedule: {epochs}{runner.max_iters} iterations, {optimizer} '
        f'({lr}), ' +
        (f'validation {every}' if runner.val_loop is not None else
         'no validation') + f', from iteration {runner.iter}')
    model = _model(runner)
    cfg_model = runner.cfg.get('model', {}) or {}
    if hasattr(model, 'teacher'):
        ckpt = cfg_model.get('teacher_ckpt')
        expected = cfg_model.get('teacher_expected_top1')
        check = (f'checked against top-1 {expected} (margin '
                 f'{cfg_model.get("teacher_top1_margin", 1.0)}) before the '
                 'first iteration' if expected is not None else
                 'not checked before training (model.teacher_expected_top1'
                 '=TOP1 checks it)')
        lines.append(f'Teacher: {type(model.teacher).__name__} from '
                     f'{ckpt or "(no teacher_ckpt)"}; {check}')
    distiller = getattr(model, 'distiller', None)
    terms = ['student.loss' if distiller is not None else 'loss']
    for name, loss in getattr(distiller, 'distill_losses', {}).items():
        weight = getattr(loss, 'loss_weight', None)
        terms.append(f'distill.{name} ({type(loss).__name__}' + (
            f', loss_weight {weight:g})' if isinstance(weight, (int, float))
            else ')'))
    interval = next((getattr(h, 'interval', None) for h in runner.hooks
                     if type(h).__name__ == 'LoggerHook'), None)
    lines.append(f'Loss terms: {", ".join(terms)}' + (
        f'; logged every {interval} iterations' if interval else ''))
    return lines


class ConsoleProgressHook(Hook):
    """Describes the run before it trains and advances the
    :class:`ToolRunner`'s bars: training (all iterations, with ETA),
    validation (removed when done) and testing."""

    priority = 'VERY_LOW'

    def __init__(self):
        self.tasks = {}

    def _add(self, runner, name, total, completed=0):
        bar = runner._bar
        if bar is None:
            return
        if name in self.tasks:  # a loop run again (the teacher's pass)
            bar.reset(self.tasks[name], total=total, completed=completed)
        else:
            self.tasks[name] = bar.add_task(name, total=total,
                                            completed=completed)

    def _update(self, runner, name, completed, remove=False):
        bar, task = runner._bar, self.tasks.get(name)
        if bar is None or task is None:
            return
        if remove:
            bar.remove_task(self.tasks.pop(name))
        else:
            bar.update(task, completed=completed)

    def before_train(self, runner):
        for line in data_and_schedule(runner):
            runner.logger.info(line)
        self._add(runner, 'train', runner.max_iters, runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self._update(runner, 'train', runner.iter + 1)

    def before_val_epoch(self, runner):
        self._add(runner, 'val', len(runner.val_dataloader))

    def after_val_iter(self, runner, batch_idx, data_batch=None,
                       outputs=None):
        self._update(runner, 'val', batch_idx + 1)

    def after_val_epoch(self, runner, metrics=None):
        self._update(runner, 'val', None, remove=True)

    def before_test_epoch(self, runner):
        loader = runner.test_dataloader
        runner.logger.info(_loader_line('Test data', loader) + (
            f'; checkpoint {runner._load_from}' if runner._load_from
            else ''))
        self._add(runner, 'test', len(loader))

    def after_test_iter(self, runner, batch_idx, data_batch=None,
                        outputs=None):
        self._update(runner, 'test', batch_idx + 1)


#: The devices MMEngine's AmpOptimWrapper trains on (its own assertion).
AMP_DEVICES = ('cuda', 'npu', 'mlu', 'musa')


def amp_error(cfg, flag=None):
    """The one-line error for AMP training where MMEngine cannot do it, or
    None.

    MMEngine's ``AmpOptimWrapper`` asserts a CUDA, NPU, MLU or MUSA device
    when it is built, after the model and the data are (about 400 console
    lines later on this stack); this says so before anything is built.
    ``flag``: the command-line flag that asked for AMP (``'--amp'``), or
    None when the config's ``optim_wrapper.type`` did.
    """
    from mmengine.device import get_device
    wrapper = (cfg.get('optim_wrapper') or {}).get('type', 'OptimWrapper')
    if wrapper != 'AmpOptimWrapper' or get_device() in AMP_DEVICES:
        return None
    asked = (f'{flag} asks for' if flag else
             "the config's optim_wrapper.type='AmpOptimWrapper' asks for")
    fix = ('drop --amp' if flag else
           "set optim_wrapper.type='OptimWrapper' (e.g. --cfg-options "
           'optim_wrapper.type=OptimWrapper)')
    return (f'{asked} mixed-precision training, which MMEngine\'s '
            f'AmpOptimWrapper runs only on {"/".join(AMP_DEVICES)}, and this '
            f'machine has none (device: {get_device()}): {fix} to train in '
            'fp32 here.')


def _is_url(path):
    return '://' in str(path)


def missing_file(key, path):
    """The one-line error for a file named in ``key`` that is not there,
    naming the working directory relative paths are read from; None when
    it is there (or is a URL)."""
    import os
    if not path or _is_url(path) or osp.isfile(osp.expanduser(str(path))):
        return None
    where = (f'relative paths are read from the working directory '
             f'{os.getcwd()}' if not osp.isabs(str(path)) else
             'an absolute path')
    return (f'{key}={str(path)!r}: no such file ({where}). Run from the '
            'folder the path is relative to, or pass an absolute path.')


def teacher_for_test(cfg, checkpoint):
    """How ``tools/test.py`` gets a distiller's teacher.

    Returns ``(plan, note)``: ``'configured'`` (``model.teacher_ckpt`` is
    there, or the model has no teacher), ``'recorded'`` (the configured file
    is missing, the student-only checkpoint's record names a file that is
    there: ``cfg.model.teacher_ckpt`` is set to it, and its sha256 is
    checked when the checkpoint loads) or ``'student'`` (no teacher file:
    test the student alone); ``note`` says why, or is None.
    """
    from relkd_mm.runner.checkpoint import load_checkpoint_file
    from relkd_mm.runner.teacher_checkpoint import (omitted_teacher,
                                                    teacher_file)
    model = cfg.get('model') or {}
    if 'teacher' not in model or 'architecture' not in model:
        return 'configured', None
    configured = model.get('teacher_ckpt')
    if configured and (teacher_file(configured) or _is_url(configured)):
        return 'configured', None
    record = omitted_teacher(load_checkpoint_file(checkpoint,
                                                  map_location='cpu')) or {}
    found = next((p for p in (record.get('file'), record.get('path'))
                  if p and teacher_file(p)), None)
    missing = (missing_file('model.teacher_ckpt', configured)
               if configured else 'model.teacher_ckpt is not set.')
    if found:
        model['teacher_ckpt'] = found
        return 'recorded', (
            f'{missing} Using the teacher the checkpoint\'s record names: '
            f'{found} (its sha256 is checked).')
    named = record.get('file') or record.get('path')
    recorded = (f' The checkpoint records the teacher {named!r}, not there '
                'either.' if record else '')
    return 'student', (
        f'{missing}{recorded} Testing the student alone: its accuracy is '
        'the distillation\'s result; the teacher\'s accuracy is skipped '
        '(pass model.teacher_ckpt=FILE to evaluate it too).')

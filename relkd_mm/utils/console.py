"""A quiet console for runs started by the quick start, the benchmark and
``tools/train.py``/``tools/test.py``: known-harmless upstream messages kept
out of the terminal (they stay in each run's log file), expected ones
explained in one line, the environment, config dump and hook table sent to
the log file only, and a progress bar per run with its ETA (rich, which
mmengine already requires)."""
import logging
import re
import warnings

from mmengine.hooks import Hook

#: Every known-harmless upstream message, in one place, each with why it is
#: harmless: ``(pattern, why)``. Logged ones leave the console (the log file
#: keeps them); Python warnings are filtered by
#: :func:`filter_harmless_warnings` at the module that raises them.
HARMLESS_MESSAGES = (
    (r'"FileClient" will be deprecated',
     'MMEngine\'s own hooks (CheckpointHook, LoggerHook) still build the '
     'FileClient it deprecates; nothing in a config uses it.'),
    (r'"HardDiskBackend" is the alias of "LocalBackend"',
     'the same: MMEngine\'s hooks name its old local backend.'),
    (r'pkg_resources is deprecated',
     'setuptools\' notice about mmengine\'s import of pkg_resources; '
     'setup.cfg pins setuptools < 82, which still has it.'),
    (r'Fail to import ``MultiScaleDeformableAttention``',
     'mmcv-lite has no compiled ops; no classifier uses that detection op.'),
)
#: Python warnings of the pinned stack raised while a run trains:
#: ``(message, category, module, why)``; ``module`` is the module the
#: warning is attributed to (the filter applies there only).
HARMLESS_WARNINGS = (
    (r'size_average and reduce args will be deprecated', UserWarning,
     r'torch\.nn\.(_reduction|functional)',  # by torch version
     'MMRazor 1.0.0\'s DKDLoss calls F.kl_div(size_average=False), which '
     'torch maps to reduction=\'sum\', the value DKD means.'),
)
#: Kept for the patterns' users (one regex per logged message).
HARMLESS = tuple(pattern for pattern, _ in HARMLESS_MESSAGES)
#: What ``tools/train.py``/``test.py`` keep off the console unless
#: ``--verbose`` (the log file keeps them): MMEngine's environment block,
#: config dump, hook table and its note on SyncBN without DDP.
VERBOSE_ONLY = (
    r'^\s*-{20,}\s*System environment:',
    r'^Config:\n',
    r'^Hooks will be executed in the following order',
    r'^Distributed training is not used, all SyncBatchNorm',
)
#: Messages that are expected in a run, with the line that explains them.
_CENTRES = r'distiller\.distill_losses\.\w+\.centers(_ready)?'
EXPECTED = (
    # relkd_mm's strict loading and MMEngine's own report of the same keys.
    (rf'^load_from .*starts fresh where missing: missing from the '
     rf'checkpoint \(\d+\): {_CENTRES}(, {_CENTRES})*$',
     'REFILLED stage 2 adds the class centers, which stage 1\'s checkpoint '
     'cannot have (RefilledCentersHook computes them): expected.'),
    (rf'^The model and loaded state dict do not match exactly\s+missing '
     rf'keys in source state_dict: {_CENTRES}(, {_CENTRES})*\s*$', None),
)
_HARMLESS = re.compile('|'.join(HARMLESS))
_VERBOSE_ONLY = re.compile('|'.join(VERBOSE_ONLY))


def filter_harmless_warnings():
    """Ignore the :data:`HARMLESS_WARNINGS`, each only for its message,
    category and raising module (other warnings, and the same text from
    other modules, still show)."""
    for message, category, module, _ in HARMLESS_WARNINGS:
        warnings.filterwarnings('ignore', message=message,
                                category=category, module=module)


class ConsoleFilter(logging.Filter):
    """Drops :data:`HARMLESS` records and replaces :data:`EXPECTED` ones by
    their explanation, on console handlers only.

    Args:
        verbose (bool): Keep the :data:`VERBOSE_ONLY` records (environment,
            config, hook table); otherwise they go to the log file only.
            Defaults to True (the quick start sets its own log level).
    """

    def __init__(self, verbose=True):
        super().__init__()
        self.verbose = verbose

    def filter(self, record):
        message = record.getMessage()
        if _HARMLESS.search(message):
            return False
        if not self.verbose and _VERBOSE_ONLY.search(message):
            return False
        for pattern, explanation in EXPECTED:
            if re.search(pattern, message, re.S):
                if explanation is None:  # explained by another line
                    return False
                record.msg, record.args = f'(note) {explanation}', ()
                record.levelno, record.levelname = logging.INFO, 'INFO'
                return True
        return True


def console_handlers(logger):
    """``logger``'s handlers that write to the terminal (not to a file)."""
    return [h for h in logger.handlers
            if isinstance(h, logging.StreamHandler) and
            not isinstance(h, logging.FileHandler)]


def quiet_console(logger, verbose=True):
    """Add :class:`ConsoleFilter` to ``logger``'s console handlers (its
    file handler keeps every message)."""
    for handler in console_handlers(logger):
        if not any(isinstance(f, ConsoleFilter) for f in handler.filters):
            handler.addFilter(ConsoleFilter(verbose))


class RunProgress:
    """One rich progress line per run: iterations, elapsed time and ETA.

    ``RunProgress()`` is a context manager; :meth:`hook` gives the hook that
    advances one run's bar (register it on the run's Runner).
    """

    def __init__(self):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress,
                                   TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        self.progress = Progress(
            TextColumn('  {task.description:<28}'), BarColumn(),
            MofNCompleteColumn(), TextColumn('iters'), TimeElapsedColumn(),
            TextColumn('ETA'), TimeRemainingColumn())

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def hook(self, name):
        return ProgressHook(self.progress, name)


class ProgressHook(Hook):
    """Advances a rich progress task by one per training iteration."""

    priority = 'VERY_LOW'

    def __init__(self, progress, name):
        self.progress, self.name, self.task = progress, name, None

    def before_train(self, runner):
        self.task = self.progress.add_task(
            self.name, total=runner.max_iters, completed=runner.iter)

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.progress.update(self.task, completed=runner.iter + 1)

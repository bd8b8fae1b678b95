"""A quiet console for runs started by the quick start and the benchmark:
known-harmless upstream messages kept out of the terminal (they stay in
each run's log file), expected ones explained in one line, and a progress
bar per run with its ETA (rich, which mmengine already requires)."""
import logging
import re

from mmengine.hooks import Hook

#: Messages of the pinned stack that say nothing about the run: deprecation
#: notices of MMEngine's own file backends (emitted by MMEngine's hooks),
#: setuptools' pkg_resources notice (imported by mmengine), and mmcv-lite's
#: missing CUDA op (not used by any classifier). The last two are Python
#: warnings raised while relkd_mm imports the stack, which its
#: ``__init__`` filters there.
HARMLESS = (
    r'"FileClient" will be deprecated',
    r'"HardDiskBackend" is the alias of "LocalBackend"',
    r'pkg_resources is deprecated',
    r'Fail to import ``MultiScaleDeformableAttention``',
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


class ConsoleFilter(logging.Filter):
    """Drops :data:`HARMLESS` records and replaces :data:`EXPECTED` ones by
    their explanation, on console handlers only."""

    def filter(self, record):
        message = record.getMessage()
        if _HARMLESS.search(message):
            return False
        for pattern, explanation in EXPECTED:
            if re.search(pattern, message, re.S):
                if explanation is None:  # explained by another line
                    return False
                record.msg, record.args = f'(note) {explanation}', ()
                record.levelno, record.levelname = logging.INFO, 'INFO'
                return True
        return True


def quiet_console(logger):
    """Add :class:`ConsoleFilter` to ``logger``'s console handlers (its
    file handler keeps every message)."""
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler) and not any(
                    isinstance(f, ConsoleFilter) for f in handler.filters):
            handler.addFilter(ConsoleFilter())


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

"""The quiet console of the quick start and the benchmark: known-harmless
upstream messages leave the console but stay in the log file, an expected
mismatch (REFILLED stage 2's centers) is explained in one line, anything
else passes unchanged; MMEngine's state-dict report reaches the logger
(RelKDRunner's loads) so that the filter and the log file see it."""
import logging

import torch.nn as nn
from mmengine.logging import MMLogger

from relkd_mm.utils.console import ConsoleFilter, quiet_console

CENTRES = ('distiller.distill_losses.loss_refilled.centers, '
           'distiller.distill_losses.loss_refilled.centers_ready')


def _logger(tmp_path, name):
    logger = MMLogger.get_instance(name, log_file=str(tmp_path / 'run.log'),
                                   log_level='INFO')
    quiet_console(logger)
    quiet_console(logger)  # idempotent
    return logger


def test_console_filter_drops_explains_and_passes(tmp_path, capsys):
    logger = _logger(tmp_path, 'console_filter_test')
    stream = [h for h in logger.handlers
              if not isinstance(h, logging.FileHandler)]
    assert stream and all(
        sum(isinstance(f, ConsoleFilter) for f in h.filters) == 1
        for h in stream)
    logger.warning('"FileClient" will be deprecated in future. Please use')
    logger.warning('load_from \'x/stage1/epoch_4.pth\': the distiller\'s '
                   'state differs from the checkpoint\'s and starts fresh '
                   f'where missing: missing from the checkpoint (2): '
                   f'{CENTRES}')
    logger.warning('The model and loaded state dict do not match exactly\n'
                   f'\nmissing keys in source state_dict: {CENTRES}\n')
    logger.warning('The model and loaded state dict do not match exactly\n'
                   '\nmissing keys in source state_dict: head.fc.weight\n')
    for handler in logger.handlers:
        handler.flush()
    console = capsys.readouterr()
    shown = console.out + console.err
    assert 'FileClient' not in shown
    assert 'REFILLED stage 2 adds the class centers' in shown
    assert shown.count('do not match exactly') == 1  # the unexpected one
    assert 'head.fc.weight' in shown
    log = (tmp_path / 'run.log').read_text()
    assert 'FileClient' in log and log.count('do not match exactly') == 2


def test_load_state_dict_report_goes_through_the_logger(tmp_path):
    """MMEngine's Runner passes no logger to ``load_state_dict``, which
    then print()s its report; relkd_mm's runner sends it to the run's
    log."""
    import torch

    from relkd_mm.runner.relkd_runner import RelKDRunner
    from tests.train_utils import log_text
    model = nn.Linear(2, 2)
    path = str(tmp_path / 'weight_only.pth')
    torch.save({'state_dict': {'weight': model.weight.detach().clone()}},
               path)
    runner = RelKDRunner(model=model, work_dir=str(tmp_path / 'work'),
                         experiment_name='console_load_test',
                         cfg=dict(load_from_strict=False))
    runner.load_checkpoint(path)
    for handler in runner.logger.handlers:
        handler.flush()
    assert 'missing keys in source state_dict: bias' in log_text(
        tmp_path / 'work')

"""The documented config keys and what each takes, checked before a
runner is built (relkd_mm's tools) or before it trains (TrainCheckHook),
so that ``train_dataloader.batch_size='16'`` fails naming the key, the
value and a valid example instead of with MMEngine's or torch's message.

Not a patch: the tools call :func:`check_config_values`, and
``TrainCheckHook.before_run`` for runners built elsewhere."""
from relkd_mm.runner.build_errors import _NUMBER, ConfigValueError


# The documented keys (README, docs/tuning.md, docs/errors.md) and what
# each takes: ``(path, kinds, condition, the condition in words, an
# example)``; bool is never taken for a number.
def _positive(v):
    return v > 0


def _non_negative(v):
    return v >= 0


def _seed(v):
    return 0 <= v < 2**32


_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
DOCUMENTED_KEYS = [
    *((f'{d}.batch_size', (int, ), _positive, 'a positive integer', '16')
      for d in _LOADERS),
    *((f'{d}.num_workers', (int, ), _non_negative,
       'an integer >= 0', '2') for d in _LOADERS),
    ('train_cfg.max_epochs', (int, ), _positive, 'a positive integer', '3'),
    ('train_cfg.max_iters', (int, ), _positive, 'a positive integer',
     '1000'),
    ('train_cfg.val_interval', (int, ), _positive, 'a positive integer',
     '1'),
    ('optim_wrapper.optimizer.lr', (int, float), _positive,
     'a positive number', '0.05'),
    ('optim_wrapper.optimizer.momentum', (int, float), _non_negative,
     'a number >= 0', '0.9'),
    ('optim_wrapper.optimizer.weight_decay', (int, float), _non_negative,
     'a number >= 0', '0.0005'),
    ('randomness.seed', (int, type(None)), _seed,
     'an integer in [0, 2**32) or None', '0'),
    ('randomness.deterministic', (bool, ), None, 'True or False', 'True'),
    ('default_hooks.logger.interval', (int, ), _positive,
     'a positive integer', '50'),
    ('default_hooks.checkpoint.interval', (int, ), None, 'an integer',
     '1'),
    ('default_hooks.checkpoint.max_keep_ckpts', (int, ), None,
     'an integer (-1 keeps all)', '3'),
    ('model.teacher_ckpt', (str, type(None)), None, 'a file name or None',
     'checkpoints/teacher.pth'),
    ('model.teacher_ckpt_strict', (bool, ), None, 'True or False', 'True'),
    ('model.allow_random_teacher', (bool, ), None, 'True or False',
     'False'),
    ('model.teacher_top1_margin', (int, float), _non_negative,
     'a number >= 0', '1.0'),
    ('load_from', (str, type(None)), None, 'a file name or None',
     'work_dirs/run/epoch_1.pth'),
    ('load_from_strict', (bool, ), None, 'True or False', 'True'),
    ('resume', (bool, ), None, 'True or False', 'True'),
    ('work_dir', (str, ), None, 'a folder name', 'work_dirs/run'),
]

_MISSING = object()


def _lookup(cfg, path):
    node = getattr(cfg, '_cfg_dict', cfg)  # a Config holds a ConfigDict
    for part in path.split('.'):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def check_config_values(cfg):
    """Raise :class:`ConfigValueError` for the first key of
    :data:`DOCUMENTED_KEYS` whose value has the wrong type or range,
    naming the key, the value and a valid example."""
    for path, kinds, condition, words, example in DOCUMENTED_KEYS:
        value = _lookup(cfg, path)
        if value is _MISSING:
            continue
        typed = isinstance(value, kinds) and not (
            isinstance(value, bool) and bool not in kinds)
        if typed and (condition is None or value is None or
                      isinstance(value, (str, bool)) or condition(value)):
            continue
        quoted = (' (a string: remove the quotes)' if isinstance(value, str)
                  and _NUMBER.match(value) and str not in kinds else '')
        raise ConfigValueError(
            f'config: {path}={value!r} must be {words}{quoted}. Set it in '
            f'the config or with `--cfg-options {path}={example}`.')

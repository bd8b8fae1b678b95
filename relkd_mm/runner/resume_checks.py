"""Resumes that would change the run, refused or made to work, by
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner`'s ``load_checkpoint``
and ``resume``.

Why: a resume whose config changes the optimizer type or the schedule
(``T_max``, milestones, the number of schedulers) is accepted by MMEngine
0.10.7, which loads the checkpoint's scheduler state over the config's
(resuming with a longer cosine keeps the learning rate frozen), and another
optimizer's state fails inside torch (``KeyError: 'step'``); a resumed
checkpoint's ``meta['config']`` is executed as a Python config, so a safely
loaded file could still run code. Upstream: none found.

Imports no mm* package at module level: :mod:`relkd_mm.compat` re-exports
:class:`ResumeConfigError` before its patches run.
"""


class ResumeConfigError(ValueError):
    """The config of a resumed run differs from the checkpoint in a way
    MMEngine would silently ignore or fail on deep inside torch."""


#: Optimizer hyperparameters every torch optimizer has (or gained between
#: versions): not telling of the optimizer's type.
_GENERIC_GROUP_KEYS = {'params', 'lr', 'initial_lr', 'weight_decay',
                       'foreach', 'maximize', 'capturable', 'differentiable',
                       'fused', 'decoupled_weight_decay'}
#: Scheduler state that moves while training (not the schedule itself).
_SCHEDULER_PROGRESS = {'last_step', '_last_value', '_global_step', 'verbose',
                       'base_values', '_get_value_called_within_step',
                       'last_epoch', '_step_count'}
_FIX = ('Resume with the config of the run that wrote the checkpoint, or '
        'start a new run from its weights with `--cfg-options load_from={}` '
        'and no --resume (optimizer state and schedule then start fresh).')


def check_resume_matches_config(runner, checkpoint, filename):
    """Refuse a resume whose optimizer type or schedule differs from the
    checkpoint's: MMEngine loads the checkpoint's scheduler state over the
    config's (a longer schedule keeps the old one, the learning rate
    frozen), and another optimizer's state fails inside torch
    (``KeyError: 'step'``)."""
    from mmengine.optim import OptimWrapper
    problems, ends = [], {}
    wrapper = getattr(runner, 'optim_wrapper', None)
    saved = checkpoint.get('optimizer')
    if isinstance(wrapper, OptimWrapper) and isinstance(saved, dict) and \
            saved.get('param_groups'):
        current = wrapper.optimizer.param_groups[0]
        ours = set(current) - _GENERIC_GROUP_KEYS
        theirs = set(saved['param_groups'][0]) - _GENERIC_GROUP_KEYS
        if ours != theirs:
            problems.append(
                f'the optimizer is {type(wrapper.optimizer).__name__} '
                f'(hyperparameters {sorted(ours)}), but the checkpoint\'s '
                f'optimizer state has {sorted(theirs)}: it was written by '
                'another optimizer type, whose state this one can not use')
    data_changed = _iterations_per_epoch_changed(runner, checkpoint)
    schedulers = getattr(runner, 'param_schedulers', None)
    saved = checkpoint.get('param_schedulers')
    if isinstance(schedulers, list) and isinstance(saved, list) and \
            all(hasattr(s, 'state_dict') for s in schedulers):
        if len(schedulers) != len(saved):
            problems.append(
                f'the config has {len(schedulers)} param_scheduler(s), '
                f'the checkpoint {len(saved)}')
        for i, (scheduler, state) in enumerate(zip(schedulers, saved)):
            ours = {k: v for k, v in scheduler.state_dict().items()
                    if k not in _SCHEDULER_PROGRESS}
            theirs = {k: v for k, v in state.items()
                      if k not in _SCHEDULER_PROGRESS}
            # `end` alone may differ: a scheduler without one ends at
            # max_epochs, so training longer on the same schedule moves it;
            # the config's end is adopted after the state is loaded.
            differ = [f'{k}: {theirs.get(k, "-")!r} in the checkpoint, '
                      f'{ours.get(k, "-")!r} in the config'
                      for k in sorted(set(ours) | set(theirs))
                      if k != 'end' and ours.get(k) != theirs.get(k)]
            if differ:
                unit = ' (steps are iterations: convert_to_iter_based)' \
                    if not ours.get('by_epoch', True) else ''
                if unit and data_changed:
                    # The schedule's steps are iterations, so a training
                    # set of another size changes them: name the data,
                    # not T_max.
                    problems.insert(0, data_changed)
                    data_changed = None
                problems.append(
                    f'param_scheduler[{i}] '
                    f'({type(scheduler).__name__}){unit} differs: '
                    + '; '.join(differ)
                    + '. MMEngine would keep the checkpoint\'s schedule')
            elif ours.get('end') != theirs.get('end'):
                ends[i] = (theirs.get('end'), ours.get('end'))
    if problems:
        raise ResumeConfigError(
            f'resume from {filename!r}: ' + '; '.join(problems) + '. '
            + _FIX.format(filename))
    runner._relkd_mm_resume_ends = ends


def _iterations_per_epoch_changed(runner, checkpoint):
    """A sentence when the training set now gives another number of
    iterations per epoch than the checkpoint's run had (its ``meta``:
    ``iter`` iterations in ``epoch`` epochs), else None."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    # Runner.train builds the loop (and its dataloader) before it resumes.
    loader = getattr(getattr(runner, '_train_loop', None), 'dataloader',
                     None)
    if not isinstance(meta, dict) or not hasattr(loader, '__len__'):
        return None
    epoch, iters = meta.get('epoch'), meta.get('iter')
    if not isinstance(epoch, int) or not isinstance(iters, int) or \
            epoch < 1 or iters % epoch:
        return None
    try:
        now = len(loader)
    except TypeError:
        return None
    then = iters // epoch
    if now == then:
        return None
    return (f'the training data changed: it now gives {now} iterations per '
            f'epoch, the checkpoint\'s run had {then} ({iters} iterations '
            f'in {epoch} epoch(s)); train_dataloader.dataset (its files, '
            'indices or subset) or train_dataloader.batch_size differs. The '
            'schedule counts iterations, so it would differ too')


def extend_resumed_schedules(runner):
    """After ``Runner.resume`` loaded the schedulers' states: give those
    whose only change is ``end`` (a longer ``max_epochs``) the config's, so
    that the schedule goes on instead of freezing the learning rate where
    the checkpoint's run stopped."""
    ends = getattr(runner, '_relkd_mm_resume_ends', None) or {}
    runner._relkd_mm_resume_ends = None
    for i, (old, new) in ends.items():
        scheduler = runner.param_schedulers[i]
        # MMEngine counts every step in _global_step but updates the value
        # only while it is below `end`: the steps the shorter run took at
        # or past its end are replayed, as the longer run updated there.
        done = scheduler._global_step
        replay = max(0, min(done, new - 1) - old + 1) if new > old else 0
        scheduler.end = new
        scheduler._global_step = done - replay
        for _ in range(replay):
            scheduler.step()
        runner.logger.info(
            f'resume: param_scheduler[{i}] ({type(scheduler).__name__}) '
            f'now ends at step {new} as the config says (the checkpoint\'s '
            f'run ended it at {old}); the same schedule goes on.')


def drop_executable_config(checkpoint, filename):
    """``Runner.resume`` executes ``checkpoint['meta']['config']`` as a
    Python config (``Config.fromstring``) to compare GPU counts: text in a
    checkpoint would run as code although the file loaded safely. MMEngine
    writes the config under ``meta['cfg']``, never there."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict) and 'config' in meta:
        from mmengine.logging import print_log
        meta.pop('config')
        print_log(f'resume: ignored meta["config"] of {filename}: MMEngine '
                  'would execute it as Python code.', logger='current',
                  level=30)

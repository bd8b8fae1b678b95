"""Top-level config keys that nothing reads (a misspelt ``optim_wraper``),
found for :class:`~relkd_mm.engine.hooks.TrainCheckHook`."""
import os

#: Top-level keys read outside ``Runner.__init__``'s arguments: by
#: ``Runner.from_cfg``/``train``/``wrap_model`` (MMEngine), MMEngine's
#: ``Config``, ``tools/train.py`` and relkd_mm (``load_from_strict``), and
#: the OpenMMLab config conventions that tools read (``test_pipeline`` by
#: mmdeploy and ``tools/export_student.py``).
READ_TOP_LEVEL_KEYS = {
    'model_wrapper_cfg', 'compile', 'find_unused_parameters',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'runner_type',
    'gpu_ids', 'custom_imports', 'work_dir', 'launcher', 'sync_bn',
    'resource_limit', 'load_from_strict', 'strategy', 'train_pipeline',
    'val_pipeline', 'test_pipeline', 'dataset_type', 'data_root',
    'vis_backends'}


def unknown_config_keys(cfg):
    """Warnings for the top-level keys of ``cfg`` that nothing reads.

    Why: MMEngine 0.10.7 passes only the keys it knows to the runner and
    ignores the others: ``optim_wraper = dict(...)`` (a typo) trains with
    the base config's optimizer without a word. Upstream: none found.

    A key is named, with the closest valid key (``difflib``), when it is
    neither an argument of ``Runner`` nor in :data:`READ_TOP_LEVEL_KEYS`,
    its value is not used inside a key that is read (a helper variable
    such as ``teacher_ckpt = '...'``), and it is close to a valid key or
    set by the config file itself (bases define helpers that a child may
    leave unused).
    """
    import difflib
    import inspect

    from mmengine.runner import Runner
    valid = set(inspect.signature(Runner.__init__).parameters) - {
        'self', 'cfg'} | READ_TOP_LEVEL_KEYS
    read = [cfg[k] for k in cfg if k in valid]
    own = _assigned_names(getattr(cfg, 'filename', None))
    messages = []
    for key in cfg:
        if key in valid or key.startswith('_') or _used_in(cfg[key], read):
            continue
        close = difflib.get_close_matches(key, sorted(valid), n=1,
                                          cutoff=0.75)
        # Bases define helpers (student_model, rrd_distiller) that their
        # children may leave unused: only a likely typo, or a key the
        # config file itself sets, is worth a warning.
        if not close and key not in own:
            continue
        hint = f' Did you mean {close[0]!r}?' if close else ''
        messages.append(
            f'config: the top-level key {key!r} is read by no part of '
            f'MMEngine or relkd_mm, so it has no effect.{hint}')
    return messages


def _assigned_names(filename):
    """Top-level names a Python config file assigns itself."""
    import ast
    if not filename or not str(filename).endswith('.py') or \
            not os.path.isfile(filename):
        return set()
    try:
        with open(filename) as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _used_in(value, containers, depth=0):
    """Whether ``value`` occurs in one of ``containers`` (nested dicts and
    lists), compared by equality."""
    for item in containers:
        if item is value or (type(item) is type(value) and item == value):
            return True
        if depth < 12:
            children = list(item.values()) if isinstance(item, dict) else (
                list(item) if isinstance(item, (list, tuple)) else [])
            if children and _used_in(value, children, depth + 1):
                return True
    return False

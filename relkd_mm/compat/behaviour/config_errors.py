"""Configs that name a missing file, an unknown argument, a wrong value or
an unknown top-level key: errors and warnings that name the key, the value
and the fix (patches 5 (``cfg_path_errors``), 8 and 15 of
:mod:`relkd_mm.compat`)."""
import os
import re

from ..stack import _mark


# ---------------------------------------------------------------------------
# 5. mmengine: ``relkd_mm::`` config paths: a missing one reported by its
# internal ``.mim`` path.
# ---------------------------------------------------------------------------
def patch_cfg_path_errors():
    """Name the ``cfg_path`` as the user wrote it when it does not exist.

    Why: ``mmengine.hub.get_config`` resolves ``relkd_mm::x.py`` to the
    package's internal ``.mim/configs`` folder and reports a missing file
    there (``file ".../relkd_mm/.mim/configs/x.py" does not exist``), after
    a ``ValueError`` listing every config of the model index: neither the
    path in the config nor the repository's ``configs/`` folder appears.
    Upstream: none found.

    Fix: ``get_config`` re-raises ``FileNotFoundError`` naming the
    ``cfg_path`` as written, the file it stands for (symlinks resolved:
    ``configs/...`` of the checkout) and close file names in that folder.
    """
    import functools

    import mmengine.hub as hub_pkg
    import mmengine.hub.hub as hub_module
    original = hub_module.get_config
    if getattr(original, '_relkd_mm_patched', False):
        return

    @functools.wraps(original)
    def get_config(cfg_path, pretrained=False):
        try:
            return original(cfg_path, pretrained)
        except FileNotFoundError as exc:
            raise _missing_cfg_path(cfg_path, exc) from None

    get_config._relkd_mm_patched = True
    hub_module.get_config = hub_pkg.get_config = get_config
    _mark('cfg_path_errors')


def _missing_cfg_path(cfg_path, exc):
    import difflib

    from mmengine.config.utils import _get_package_and_cfg_path
    from mmengine.utils import get_installed_path
    try:
        package, relative = _get_package_and_cfg_path(cfg_path)
        configs = os.path.join(get_installed_path(package), '.mim',
                               'configs')
    except Exception:  # not a package path: MMEngine's message is enough
        return exc
    target = os.path.realpath(os.path.join(configs, relative))
    folder = os.path.dirname(target)
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    close = difflib.get_close_matches(os.path.basename(target), names, n=3)
    hint = f' Close names there: {close}.' if close else (
        '' if names else f' The folder {folder} does not exist either.')
    return FileNotFoundError(
        f'cfg_path={cfg_path!r}: no such config; {package}:: paths are '
        f'relative to its configs/ folder, and {target} does not '
        f'exist.{hint}')


# ---------------------------------------------------------------------------
# 8. mmengine: unknown config keys and wrong values, reported bare.
# ---------------------------------------------------------------------------
class ConfigArgumentError(TypeError):
    """A config gives a component an argument it does not have."""


_UNEXPECTED_KWARG = re.compile(
    r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")


def patch_registry_argument_errors():
    """Name the component, the key, its value and the closest valid keys
    when a config gives an unknown argument.

    Why: MMEngine 0.10.7 builds ``type(**args)`` and lets the TypeError
    through: a misspelt ``tau_S=4`` in a loss nested in a distiller ends as
    ``RRDLoss.__init__() got an unexpected keyword argument 'tau_S'``, with
    no hint that the valid key is ``tau_s``. Upstream: no issue found.

    Fix: ``Registry.build`` re-raises such a TypeError as
    :class:`ConfigArgumentError` (a TypeError) that also gives the value,
    the closest valid argument names (``difflib``, case-insensitive) and
    the full list. Other errors pass unchanged.

    The same wrapper checks the values before building, for every
    registry (MMRazor's losses, MMPretrain's heads, optimizers): a number
    written as a string (``loss_weight='1.0'``, ``tau='4'``) for an argument
    whose default is a number used to fail later with a TypeError naming no
    key (``can't multiply sequence by non-int``) and now raises
    :class:`ConfigArgumentError` naming the component, key, value and fix;
    a negative ``loss_weight`` (which maximises the loss) raises
    :class:`ConfigValueError`. Upstream: none found.
    """
    from mmengine.registry import Registry
    original = Registry.build
    if getattr(original, '_relkd_mm_patched', False):
        return

    def build(self, cfg, *args, **kwargs):
        _check_argument_values(self, cfg)
        try:
            return original(self, cfg, *args, **kwargs)
        except (ConfigArgumentError, ConfigValueError):
            raise
        except TypeError as exc:
            better = _explain_unknown_argument(self, cfg, exc)
            if better is None:
                raise
            raise better from None

    build._relkd_mm_patched = True
    Registry.build = build
    _mark('registry_argument_errors')


class ConfigValueError(ValueError):
    """A config gives an argument a value that makes no sense."""


_NUMBER = re.compile(r'^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$')


def _init_parameters(cls):
    """``{name: inspect.Parameter}`` of ``cls.__init__`` and of its bases'
    (the first definition of a name wins)."""
    import inspect
    found = {}
    for klass in getattr(cls, '__mro__', [cls]):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        for p in params:
            if p.name != 'self' and p.kind not in (
                    p.VAR_POSITIONAL, p.VAR_KEYWORD):
                found.setdefault(p.name, p)
    return found


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_argument_values(registry, cfg):
    if not isinstance(cfg, dict) or not cfg:
        return
    obj_type = cfg.get('type')
    weight = cfg.get('loss_weight')
    strings = {k: v for k, v in cfg.items()
               if isinstance(v, str) and _NUMBER.match(v)}
    if not strings and not (_is_number(weight) and weight < 0):
        return  # the common case: nothing to look up
    try:
        cls = registry.get(obj_type) if isinstance(obj_type, str) \
            else obj_type
    except Exception:  # an unknown type: the build reports it
        cls = None
    name = getattr(cls, '__name__', obj_type)
    params = _init_parameters(cls) if isinstance(cls, type) else {}
    for key, value in strings.items():
        param = params.get(key)
        if param is None or key in ('type', '_scope_'):
            continue
        if _is_number(param.default) or param.annotation in (int, float):
            raise ConfigArgumentError(
                f'{name} (type={obj_type!r}): {key}={value!r} is a string, '
                f'but {key} takes a number (default {param.default!r}). '
                f'Write {key}={value.strip()} without quotes in the config.')
    if _is_number(weight) and weight < 0:
        raise ConfigValueError(
            f'{name} (type={obj_type!r}): loss_weight={weight!r} is '
            'negative: the optimizer would maximise this loss (the student '
            'would move away from its target). Use loss_weight >= 0 (0 '
            'switches the loss off).')


def _explain_unknown_argument(registry, cfg, exc):
    import difflib
    match = _UNEXPECTED_KWARG.search(str(exc))
    if match is None or not isinstance(cfg, dict) or match.group(2) not in cfg:
        return None
    key = match.group(2)
    obj_type = cfg.get('type')
    cls = registry.get(obj_type) if isinstance(obj_type, str) else obj_type
    if cls is None or getattr(cls, '__name__', None) != match.group(1):
        return None
    valid = list(_init_parameters(cls))
    lowered = {v.lower(): v for v in valid}
    close = ([lowered[key.lower()]] if key.lower() in lowered else []) + [
        c for c in difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
        if c.lower() != key.lower()]
    hint = f' Did you mean {", ".join(map(repr, close))}?' if close else ''
    return ConfigArgumentError(
        f'{match.group(1)} (type={obj_type!r}) has no argument {key!r} '
        f'(given {key}={cfg[key]!r}).{hint} Valid arguments: '
        f'{", ".join(valid)}. Fix the key in the config.')


# ---------------------------------------------------------------------------
# 15. mmengine: a misspelt top-level config key is silently ignored.
# ---------------------------------------------------------------------------
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


def patch_unknown_config_keys():
    """Warn about top-level config keys that nothing reads, naming the
    closest valid key.

    Why: MMEngine 0.10.7 passes only the keys it knows to the runner and
    ignores the others: ``optim_wraper = dict(...)`` (a typo) trains with
    the base config's optimizer without a word. Upstream: none found.

    Fix: ``Runner.from_cfg`` logs a warning, with the closest valid key
    (``difflib``), for each top-level key that is neither an argument of
    ``Runner`` nor in :data:`READ_TOP_LEVEL_KEYS`, whose value is not used
    inside a key that is read (a helper variable such as ``teacher_ckpt =
    '...'``), and that is close to a valid key or set by the config file
    itself (bases define helpers that a child may leave unused).
    """
    import functools

    from mmengine.runner import Runner
    original = Runner.__dict__['from_cfg'].__func__
    if getattr(original, '_relkd_mm_patched', False):
        return

    @functools.wraps(original)
    def from_cfg(cls, cfg):
        runner = original(cls, cfg)
        for message in unknown_config_keys(cfg):
            runner.logger.warning(message)
        return runner

    from_cfg._relkd_mm_patched = True
    Runner.from_cfg = classmethod(from_cfg)
    _mark('unknown_config_keys')


def unknown_config_keys(cfg):
    """The warnings :func:`patch_unknown_config_keys` logs for ``cfg``."""
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

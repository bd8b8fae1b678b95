"""Configs that name a missing file, an unknown argument, a wrong value or
errors that name the key, the value and the fix (patches 5
(``cfg_path_errors``) and 8 of :mod:`relkd_mm.compat`). (Unknown top-level
keys are :class:`~relkd_mm.engine.hooks.TrainCheckHook`'s to warn about.)"""
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

    Also (issue 19): any other string for such an argument
    (``loss_weight=abc`` from ``--cfg-options``, a TypeError at the first
    step before); a ``std`` with a zero or negative entry (a data
    preprocessor's or ``Normalize``'s: every input divided by 0 is inf or
    NaN, and training stopped at iteration 1 without pointing at the std);
    and a component that refuses its arguments with a bare ``assert``
    (mmpretrain's ``MultiView`` given ``num_views=[1]`` for two
    transforms lists) is named with its arguments and the assertion's
    source line, as :class:`ConfigValueError`.
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
        except AssertionError as exc:
            better = _explain_bare_assertion(cfg, exc)
            if better is None:
                raise
            raise better from None
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
    _check_std(cfg)
    strings = {k: v for k, v in cfg.items()
               if isinstance(v, str) and k not in ('type', '_scope_')}
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
            fix = (f'Write {key}={value.strip()} without quotes in the '
                   'config.' if _NUMBER.match(value) else
                   f'Write a number, e.g. {key}={param.default!r}.')
            raise ConfigArgumentError(
                f'{name} (type={obj_type!r}): {key}={value!r} is a string, '
                f'but {key} takes a number (default {param.default!r}). '
                + fix)
    if _is_number(weight) and weight < 0:
        raise ConfigValueError(
            f'{name} (type={obj_type!r}): loss_weight={weight!r} is '
            'negative: the optimizer would maximise this loss (the student '
            'would move away from its target). Use loss_weight >= 0 (0 '
            'switches the loss off).')


def _check_std(cfg):
    """A ``std`` (data preprocessors, ``Normalize``) divides every input:
    a zero makes the inputs inf or NaN, a negative one flips them."""
    std = cfg.get('std')
    values = std if isinstance(std, (list, tuple)) else [std]
    if std is None or not all(_is_number(v) for v in values):
        return
    if any(not v > 0 for v in values):
        raise ConfigValueError(
            f'{cfg.get("type")!r}: std={list(values)!r} has a zero or '
            'negative entry: inputs are divided by std, so every input '
            'would be inf or NaN (training stops at iteration 1). Use the '
            'data set\'s per-channel standard deviation, e.g. '
            'std=[58.395, 57.12, 57.375] (ImageNet, 0-255 pixels) or '
            'std=[72.0] (Fashion-MNIST).')


#: Hints for the bare asserts of upstream components, by type.
_ASSERT_HINTS = {
    'MultiView': 'num_views needs one count per transforms list: VRM\'s '
                 'real and virtual view are num_views=[1, 1] with '
                 'transforms=[real_view, virtual_view] '
                 '(configs/_base_/distill/vrm_cifar100_1xb64.py).',
}


def _explain_bare_assertion(cfg, exc):
    """A :class:`ConfigValueError` for an ``assert`` without a message
    raised while a component is built (MMEngine prefixes it with the
    class: ``class `MultiView` in ...: ``), or None."""
    import linecache
    import traceback
    text = str(exc)
    if not isinstance(cfg, dict) or text.split(': ', 1)[-1].strip() and \
            not text.endswith(': '):
        return None
    origin = exc.__context__ if isinstance(exc.__context__,
                                           AssertionError) else exc
    frames = traceback.extract_tb(origin.__traceback__)
    where = ''
    if frames:
        last = frames[-1]
        line = linecache.getline(last.filename, last.lineno).strip()
        where = f' ({last.filename}:{last.lineno}: `{line}`)'
    obj_type = cfg.get('type')
    name = getattr(obj_type, '__name__', obj_type)
    shown = ', '.join(
        f'{k}=<{len(v)} items>' if isinstance(v, (list, tuple)) and any(
            isinstance(x, (dict, list, tuple)) for x in v) else f'{k}={v!r}'
        for k, v in cfg.items() if k != 'type')
    if len(shown) > 300:
        shown = shown[:300] + '...'
    hint = _ASSERT_HINTS.get(str(name).split('.')[-1], 'Check the '
                             'arguments against that condition.')
    return ConfigValueError(
        f'{name} (type={obj_type!r}) refused its arguments ({shown}) with '
        f'a bare assertion{where}. {hint}')


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

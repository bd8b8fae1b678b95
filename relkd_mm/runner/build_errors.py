"""Components a config gives an unknown argument or a wrong value, named
with the key, the value and the fix, for the runs of
:class:`~relkd_mm.runner.relkd_runner.RelKDRunner`.

Why: MMEngine 0.10.7's ``Registry.build`` calls ``type(**args)`` and lets
the TypeError through: a misspelt ``tau_S=4`` in a loss nested in a
distiller ends as ``RRDLoss.__init__() got an unexpected keyword argument
'tau_S'``, with no hint that the valid key is ``tau_s``. A number written
as a string (``loss_weight='1.0'``, ``--cfg-options ...loss_weight=abc``)
builds and fails at the first step with a TypeError naming no key (``can't
multiply sequence by non-int``); a negative ``loss_weight`` maximises its
loss without a word; a ``std`` with a zero entry makes every input inf or
NaN; mmpretrain's ``MultiView`` refuses ``num_views=[1]`` for two
transforms lists with a bare ``assert``. Upstream: none found.

Not a patch: :class:`~relkd_mm.runner.relkd_runner.RelKDRunner` checks the
values of every component its arguments describe before it builds anything
(:func:`check_argument_values`), and explains the errors raised while it
builds them (:func:`explained_build_errors`); a component built elsewhere
gets MMEngine's errors.

Imports no mm* package at module level: :mod:`relkd_mm.compat` re-exports
the two errors before its patches run.
"""
import contextlib
import re


class ConfigArgumentError(TypeError):
    """A config gives a component an argument it does not have, or a string
    for a number."""


class ConfigValueError(ValueError):
    """A config gives an argument a value that makes no sense."""


_UNEXPECTED_KWARG = re.compile(
    r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
_NUMBER = re.compile(r'^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$')


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


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


# ---------------------------------------------------------------------------
# Before the build: the values of every component.
# ---------------------------------------------------------------------------
def check_argument_values(cfgs, scope=None):
    """Check every component config in ``cfgs`` (dicts with a ``type``, at
    any depth of dicts, lists and tuples) before anything is built.

    Raises :class:`ConfigArgumentError` for a string given to an argument
    whose default is a number (or annotated ``int``/``float``), and
    :class:`ConfigValueError` for a negative ``loss_weight`` or a ``std``
    with a zero or negative entry.

    Args:
        cfgs: A component config, or a structure holding some (the
            arguments of a runner).
        scope (str, optional): The default scope the components are built
            in; a config's ``_scope_`` overrides it for its subtree.
    """
    if isinstance(cfgs, dict):
        scope = cfgs.get('_scope_', scope)
        if 'type' in cfgs:
            _check_component(cfgs, scope)
        values = cfgs.values()
    elif isinstance(cfgs, (list, tuple)):
        values = cfgs
    else:
        return
    for value in values:
        check_argument_values(value, scope)


def _check_component(cfg, scope):
    obj_type = cfg.get('type')
    weight = cfg.get('loss_weight')
    _check_std(cfg)
    strings = {k: v for k, v in cfg.items()
               if isinstance(v, str) and k not in ('type', '_scope_')}
    if not strings and not (_is_number(weight) and weight < 0):
        return  # the common case: nothing to look up
    classes = _registered_classes(obj_type, scope)
    name = getattr(classes[0], '__name__', obj_type) if classes else \
        getattr(obj_type, '__name__', obj_type)
    for key, value in strings.items():
        param = next((p for p in map(_init_parameters, classes)
                      if key in p), {}).get(key)
        if param is None:
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


def _registered_classes(obj_type, scope):
    """The classes ``obj_type`` names in the registries of ``scope`` (a
    component's registry depends on where the config nests it; a name is
    one class in practice), or ``[obj_type]`` for a class."""
    if isinstance(obj_type, type):
        return [obj_type]
    if not isinstance(obj_type, str):
        return []
    from mmengine.registry import Registry, root
    found = []
    for registry in vars(root).values():
        if not isinstance(registry, Registry):
            continue
        # As MMEngine builds: the registry of the scope, else the root.
        try:
            cls = (_in_scope(registry, scope) or registry).get(obj_type)
        except Exception:  # a dotted name that is no module path
            cls = None
        if isinstance(cls, type) and cls not in found:
            found.append(cls)
    return found


def _in_scope(registry, scope):
    """The registry of ``scope`` in the tree under ``registry``, or
    None."""
    if registry.scope == scope:
        return registry
    for child in registry.children.values():
        found = _in_scope(child, scope)
        if found is not None:
            return found
    return None


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


# ---------------------------------------------------------------------------
# During the build: the errors of a component's constructor.
# ---------------------------------------------------------------------------
@contextlib.contextmanager
def explained_build_errors():
    """Re-raise a TypeError for an unknown argument as
    :class:`ConfigArgumentError` (the value, the closest valid argument
    names, the full list), and a bare ``assert`` of a component's
    constructor as :class:`ConfigValueError` (its arguments and the
    assertion's source line), for the innermost component being built when
    it was raised. Other errors pass unchanged."""
    try:
        yield
    except (ConfigArgumentError, ConfigValueError):
        raise
    except (TypeError, AssertionError) as exc:
        better = explain_build_error(exc)
        if better is None:
            raise
        raise better from None


def explain_build_error(exc):
    """The :class:`ConfigArgumentError` or :class:`ConfigValueError` that
    explains ``exc``, or None when no component build it passed through
    (innermost first) is to blame."""
    for cls, cfg in reversed(_builds(exc.__traceback__)):
        if isinstance(exc, AssertionError):
            better = _explain_bare_assertion(cfg, exc)
        else:
            better = _explain_unknown_argument(cls, cfg, exc)
        if better is not None:
            return better
    return None


def _builds(tb):
    """``(class, cfg)`` of every component a traceback shows being built
    (MMEngine's ``build_from_cfg``, under every registry's ``build``),
    outermost first: the class as its registry and scope resolved it."""
    import traceback

    from mmengine.registry import build_from_cfg
    code = build_from_cfg.__code__
    return [(frame.f_locals.get('obj_cls'), frame.f_locals.get('cfg'))
            for frame, _ in traceback.walk_tb(tb) if frame.f_code is code]


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


def _explain_unknown_argument(cls, cfg, exc):
    import difflib
    match = _UNEXPECTED_KWARG.search(str(exc))
    if match is None or not isinstance(cfg, dict) or \
            match.group(2) not in cfg:
        return None
    key = match.group(2)
    obj_type = cfg.get('type')
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

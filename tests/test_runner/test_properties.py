"""Property-based tests (hypothesis) of the checkpoint loader and of
config validation (issue 19):

* generated pickles (random globals, dangerous ones among them, nested in
  random containers; through torch's allow-list and through the restricted
  unpickler of torch < 2.6) never run code, and are refused unless every
  global is on the allow-list;
* generated state dicts (meta, sparse, quantized, NaN/inf, numpy, string,
  integer, subclassed tensors, negative BatchNorm variances, missing,
  extra and reshaped keys, and benign variants: other float dtypes,
  non-contiguous strides) never load silently through the runner's
  ``load_from``: either the load fails naming the key, or the model then
  holds exactly the file's tensors;
* generated config values of the wrong type or range for each documented
  key fail with a :class:`ConfigValueError` naming the key and the value.

Bounded: ``max_examples`` per test (see each), ``deadline=None`` (the
shared CI machines are slow at times), derandomized so that every run
draws the same examples (the suite holds on any machine and seed).
"""
import ast
import collections
import io
import os.path as osp

import hypothesis
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from mmrazor.registry import MODELS

from relkd_mm.compat import ConfigValueError
from relkd_mm.models.utils.strict_loading import CheckpointMismatchError
from relkd_mm.runner import UnsafeCheckpointError
from relkd_mm.runner import checkpoint as ckpt_module
from relkd_mm.runner.config_values import DOCUMENTED_KEYS, check_config_values
from tests.test_runner.test_strict_loading import classifier, runner_for

#: Examples per property; each stays a few seconds on one core.
PICKLE_EXAMPLES = 150
STATE_EXAMPLES = 150
CONFIG_EXAMPLES = 300
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=list(hypothesis.HealthCheck))

#: ``(module, name)`` of globals a crafted checkpoint would call, each with
#: the argument that would create the sentinel file if it ran.
DANGEROUS = [
    ('builtins', 'eval', "open(r'{s}', 'w').close()"),
    ('__builtin__', 'eval', "open(r'{s}', 'w').close()"),
    ('builtins', 'exec', "open(r'{s}', 'w').close()"),
    ('os', 'system', 'touch {s}'),
    ('posix', 'system', 'touch {s}'),
    ('subprocess', 'getoutput', 'touch {s}'),
    ('builtins', 'getattr', '{s}'),
    ('builtins', 'open', '{s}'),
    ('torch.serialization', 'load', '{s}'),
    ('numpy', 'load', '{s}'),
    ('pickle', 'loads', '{s}'),
    ('runpy', 'run_path', '{s}'),
    ('importlib', 'import_module', 'relkd_mm_no_such_module'),
    ('torch', 'Tensor', '{s}'),
]
_IDENT = st.from_regex(r'[a-z_][a-z0-9_]{0,11}', fullmatch=True)
_MARK = b'c__builtin__\nprint\n'  # the GLOBAL the payload is saved under


class _Payload:
    """Pickled as ``print(arg)``; its GLOBAL is rewritten afterwards."""

    def __init__(self, arg):
        self.arg = arg

    def __reduce__(self):
        return (print, (self.arg, ))


def _containers(leaf):
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, min_size=1, max_size=3),
            st.tuples(inner, inner),
            st.dictionaries(_IDENT, inner, min_size=1, max_size=3),
            st.dictionaries(_IDENT, inner, min_size=1, max_size=2).map(
                collections.OrderedDict)),
        max_leaves=4)


def _crafted_bytes(meta, module, name):
    """A legacy (pickle) torch checkpoint holding ``meta`` next to a real
    state dict, the payload's GLOBAL replaced by ``module.name`` (protocol
    2 writes it as text: any name can be planted)."""
    buf = io.BytesIO()
    torch.save({'state_dict': {'w': torch.ones(2, 3)}, 'meta': meta}, buf,
               _use_new_zipfile_serialization=False)
    data = buf.getvalue()
    assert data.count(_MARK) == 1
    return data.replace(_MARK, f'c{module}\n{name}\n'.encode())


@st.composite
def _pickles(draw):
    if draw(st.booleans()):
        module, name, arg = draw(st.sampled_from(DANGEROUS))
    else:
        module = '.'.join(draw(st.lists(_IDENT, min_size=1, max_size=3)))
        name, arg = draw(_IDENT), '{s}'
    meta = draw(_containers(st.just('PAYLOAD')))
    return module, name, arg, meta


def _plant(meta, payload):
    if meta == 'PAYLOAD':
        return payload
    if isinstance(meta, collections.OrderedDict):
        return collections.OrderedDict(
            (k, _plant(v, payload)) for k, v in meta.items())
    if isinstance(meta, dict):
        return {k: _plant(v, payload) for k, v in meta.items()}
    if isinstance(meta, tuple):
        return tuple(_plant(v, payload) for v in meta)
    return [_plant(v, payload) for v in meta]


@settings(max_examples=PICKLE_EXAMPLES, **SETTINGS)
@given(case=_pickles(), torch_allow_list=st.booleans())
def test_generated_pickles_never_run_code(tmp_path_factory, case,
                                          torch_allow_list):
    module, name, arg, meta = case
    tmp = tmp_path_factory.mktemp('pickle')
    sentinel = str(tmp / 'code_ran')
    path = str(tmp / 'crafted.pth')
    meta = _plant(meta, _Payload(arg.format(s=sentinel)))
    with open(path, 'wb') as f:
        f.write(_crafted_bytes(meta, module, name))
    allowed = ckpt_module._allowed_by_name()
    saved = ckpt_module.USE_TORCH_ALLOW_LIST
    ckpt_module.USE_TORCH_ALLOW_LIST = torch_allow_list and saved
    try:
        if f'{module}.{name}' in allowed:
            # An allowed global (e.g. torch.Tensor) may load or fail; it
            # runs nothing either way.
            try:
                ckpt_module.load_checkpoint_file(path)
            except Exception:
                pass
        else:
            with pytest.raises(UnsafeCheckpointError, match='crafted.pth'):
                ckpt_module.load_checkpoint_file(path)
    finally:
        ckpt_module.USE_TORCH_ALLOW_LIST = saved
    assert not osp.exists(sentinel), (module, name)


# -- state dicts ----------------------------------------------------------
class _Subclass(torch.Tensor):
    pass


CORRUPTIONS = {
    'meta': lambda v: v.to('meta'),
    'sparse': lambda v: v.to_sparse(),
    'quantized': lambda v: torch.quantize_per_tensor(v.float(), 0.1, 0,
                                                     torch.qint8),
    'nan': lambda v: v.clone().view(-1).index_fill_(
        0, torch.tensor([0]), float('nan')).view_as(v),
    'inf': lambda v: v.clone().view(-1).index_fill_(
        0, torch.tensor([0]), float('inf')).view_as(v),
    'numpy': lambda v: v.numpy(),
    'string': lambda v: 'x' * v.numel(),
    'int64': lambda v: (v * 100).long(),
    'subclass': lambda v: v.clone().as_subclass(_Subclass),
    'reshaped': lambda v: v.reshape(-1)[:-1] if v.numel() > 1 else
    v.reshape(1, 1, -1),
    'negative': lambda v: -v.abs() - 1,
}
#: Changes that load exactly (the copy casts or reads the strides).
BENIGN = {
    'float64': lambda v: v.double(),
    'float16-exact': lambda v: v.half().float().half(),
    'strided': lambda v: v.t().contiguous().t() if v.dim() == 2 else v,
}


@pytest.fixture(scope='module')
def target(tmp_path_factory):
    from mmengine.registry import DefaultScope
    tmp = tmp_path_factory.mktemp('state')
    torch.manual_seed(1)
    model = MODELS.build(classifier())
    source = {k: v.clone() for k, v in model.state_dict().items()}
    scopes = set(DefaultScope._instance_dict)
    runner = runner_for(model, tmp)
    yield dict(runner=runner, model=model, source=source, tmp=tmp,
               floating=sorted(k for k, v in source.items()
                               if v.is_floating_point()))
    # The runner made its default scope current; a module-scoped fixture
    # runs outside conftest's per-test guard, so drop it here (as
    # tests/train_utils.py's train does).
    for name in set(DefaultScope._instance_dict) - scopes:
        del DefaultScope._instance_dict[name]


@st.composite
def _state_changes(draw, floating):
    changes = draw(st.lists(st.tuples(
        st.sampled_from(floating),
        st.sampled_from(sorted(CORRUPTIONS) + sorted(BENIGN) +
                        ['missing', 'extra'])),
        min_size=1, max_size=3, unique_by=lambda c: c[0]))
    return changes


def _equal(a, b):
    b = torch.as_tensor(b).to(a.dtype)
    return bool(((a == b) | (torch.isnan(a) & torch.isnan(b))).all())


@settings(max_examples=STATE_EXAMPLES, **SETTINGS)
@given(data=st.data())
def test_generated_state_dicts_never_load_silently(target, data):
    changes = data.draw(_state_changes(target['floating']))
    state = {k: v.clone() for k, v in target['source'].items()}
    named = []  # keys a refusal must name
    for key, kind in changes:
        if kind == 'missing':
            del state[key]
            named.append(key)
        elif kind == 'extra':
            state[key + '_extra'] = torch.ones(1)
            named.append(key + '_extra')
        elif kind in BENIGN:
            state[key] = BENIGN[kind](state[key])
        elif kind == 'negative' and not key.endswith('running_var'):
            state[key] = CORRUPTIONS[kind](state[key])  # loads: any sign
        else:
            state[key] = CORRUPTIONS[kind](state[key])
            named.append(key)
    path = str(target['tmp'] / 'generated.pth')
    torch.save({'state_dict': state, 'meta': {}}, path)
    model = target['model']
    # Different weights before each load: a value left unloaded shows.
    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.add_(0.5)
    try:
        target['runner'].load_checkpoint(path)
    except (CheckpointMismatchError, UnsafeCheckpointError) as exc:
        assert named, f'{changes} refused: {exc}'
        msg = str(exc)
        subclassed = any(kind == 'subclass' for _, kind in changes)
        assert subclassed or any(k in msg for k in named), (changes, msg)
        return
    assert not named, f'{changes} loaded without a word'
    loaded = model.state_dict()
    for key, value in state.items():
        assert _equal(loaded[key], value), (key, changes)


# -- config values ------------------------------------------------------------
def _wrong_values(kinds, condition):
    """Values no key of ``kinds`` takes, and, where a condition bounds the
    numbers, numbers outside it."""
    wrong = [st.lists(st.integers(), max_size=2),
             st.dictionaries(_IDENT, st.integers(), max_size=2)]
    if str not in kinds:
        wrong.append(st.text(max_size=8))
    if bool not in kinds:
        wrong.append(st.booleans())
    if float not in kinds and str not in kinds:
        wrong.append(st.floats(allow_nan=True).filter(
            lambda v: not float(v).is_integer()))
    if int not in kinds and float not in kinds:
        wrong.append(st.integers())
    if type(None) not in kinds:
        wrong.append(st.none())
    if condition is not None and float in kinds:
        wrong.append(st.floats(allow_nan=False, allow_infinity=False,
                               max_value=1e6).filter(
                                   lambda v: not condition(v)))
    if condition is not None and int in kinds:
        wrong.append(st.integers(-2**40, 2**40).filter(
            lambda v: not condition(v)))
    return st.one_of(wrong)


@st.composite
def _config_cases(draw):
    path, kinds, condition, _, _ = draw(st.sampled_from(DOCUMENTED_KEYS))
    return path, draw(_wrong_values(kinds, condition))


@settings(max_examples=CONFIG_EXAMPLES, **SETTINGS)
@given(case=_config_cases())
def test_wrong_config_values_fail_naming_the_key(case):
    from mmengine.config import Config
    path, value = case
    cfg = {}
    node = cfg
    *parents, leaf = path.split('.')
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value
    with pytest.raises(ConfigValueError) as info:
        check_config_values(Config(cfg))
    msg = str(info.value)
    assert f'{path}={value!r}' in msg and '--cfg-options' in msg


def test_documented_keys_pass_with_their_examples():
    """The examples the messages recommend are valid values."""
    from mmengine.config import Config
    for path, kinds, _, _, example in DOCUMENTED_KEYS:
        value = example if str in kinds else ast.literal_eval(example)
        *parents, leaf = path.split('.')
        cfg = node = {}
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
        check_config_values(Config(cfg))

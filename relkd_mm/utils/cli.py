"""``--cfg-options`` of the tools, with the careless inputs named.

MMEngine's ``DictAction`` parses ``key=value`` pairs. Two inputs that
users write went wrong without a word on the key:

* a Python dict as a value, ``optim_wrapper.optimizer=dict(type='AdamW',
  lr=0.001)``: its bracket matcher recurses until a ``RecursionError``
  (``{...}`` is taken as a string). ``--cfg-options`` sets one leaf per
  pair; the error here names the option and writes the pairs that do it.
* ``custom_imports`` given as an option: MMEngine imports a config's
  ``custom_imports`` when the file is read, before the options are
  merged, so the modules were never imported. The error says to put it
  into a config file.

The dict is read with :func:`ast.parse` (nothing is evaluated).
"""
import ast

from mmengine.config import DictAction as _MMEngineDictAction


def _leaf_pairs(key, text):
    """``['key.a=1', 'key.b=x']`` for ``dict(a=1, b='x')`` or ``{'a': 1,
    'b': 'x'}``, or None when ``text`` is no such literal."""
    try:
        node = ast.parse(text.strip(), mode='eval').body
    except SyntaxError:
        return None
    items = []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args:
        items = [(kw.arg, kw.value) for kw in node.keywords]
    elif isinstance(node, ast.Dict):
        items = list(zip(node.keys, node.values))
        if not all(isinstance(k, ast.Constant) for k in node.keys):
            return None
        items = [(k.value, v) for k, v in items]
    else:
        return None
    pairs = []
    for name, value in items:
        if name is None:
            return None
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            return None
        if isinstance(literal, (list, tuple)):
            literal = '[' + ','.join(map(str, literal)) + ']'
        pairs.append(f'{key}.{name}={literal}')
    return pairs


class DictAction(_MMEngineDictAction):
    """MMEngine's ``DictAction``, refusing with a named message what it
    would misparse or silently drop (see the module's docstring)."""

    def __call__(self, parser, namespace, values, option_string=None):
        option = option_string or '--cfg-options'
        for pair in values:
            key, sep, value = pair.partition('=')
            if not sep:
                parser.error(f'{option} {pair}: not key=value; write e.g. '
                             'train_cfg.max_epochs=3.')
            if value.lstrip().startswith(('dict(', '{')):
                pairs = _leaf_pairs(key, value)
                how = (f'write {" ".join(pairs)}' if pairs else
                       f'write one pair per key, e.g. {key}.type=...')
                parser.error(
                    f'{option} {pair}: {option} sets one value per key '
                    '(numbers, strings, lists as [a,b]), not a dict: '
                    f'{how} (add {key}._delete_=True to drop the keys the '
                    'config sets there), or put the dict into a config '
                    'file.')
            if key == 'custom_imports' or key.startswith('custom_imports.'):
                parser.error(
                    f'{option} {pair}: custom_imports is read when the '
                    'config file is loaded, before the options are merged, '
                    'so it would be ignored and nothing imported. Put '
                    "`custom_imports = dict(imports=['your_module'])` into a "
                    'config file (e.g. one with `_base_ = [\'CONFIG\']`).')
        try:
            super().__call__(parser, namespace, values, option_string)
        except (RecursionError, AssertionError, ValueError) as exc:
            parser.error(f'{option} {" ".join(values)}: could not be parsed '
                         f'({type(exc).__name__}); check the brackets and '
                         'quotes: lists are written key=[a,b] or key=a,b.')


__all__ = ['DictAction']

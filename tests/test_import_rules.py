"""docs/architecture.md's import rules, checked on the imports themselves
(``ast``), not only on the paths: which layer of relkd_mm imports which,
and no import circle."""
import ast
import os
import os.path as osp

from tests.train_utils import REPO

PACKAGE = osp.join(REPO, 'relkd_mm')

#: The layers of relkd_mm (its subpackages) each may import, every import
#: counted (also those inside functions). docs/architecture.md's table
#: says the same in its "imports (relkd_mm)" column.
ALLOWED = {
    'models': set(),  # usable in any MMRazor program
    'datasets': set(),
    'testing': set(),
    'engine': {'models', 'runner'},
    'compat': {'runner'},
    'runner': {'models'},
    'utils': {'datasets', 'runner'},
}

#: Circles between layers that remain, each with why (issue 20 asks for
#: none): none. (compat re-exports the runner's errors and the runner
#: imports nothing of compat; RelKDRunner registers engine/hooks'
#: TeacherCheckpointHook by its registered name: runner imports no hook.)
KNOWN_CIRCLES = set()


def _module(path):
    rel = osp.relpath(path, REPO)[:-3].replace(os.sep, '.')
    return rel[:-len('.__init__')] if rel.endswith('.__init__') else rel


def relkd_imports(path, module_level_only=False):
    """The relkd_mm modules ``path`` imports (``from x import y`` counts as
    ``x`` and ``x.y``)."""
    with open(path) as f:
        tree = ast.parse(f.read())
    module = _module(path)
    package = module if path.endswith('__init__.py') else \
        module.rsplit('.', 1)[0]
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split('.')
                base = '.'.join(parts[:len(parts) - node.level + 1])
                name = base + ('.' + node.module if node.module else '')
            else:
                name = node.module or ''
            found.add(name)
            found |= {f'{name}.{a.name}' for a in node.names}
    return {n for n in found if n == 'relkd_mm' or
            n.startswith('relkd_mm.')}


def python_files():
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith('.py'):
                yield osp.join(folder, name)


def layer(module):
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else None


def layer_edges():
    edges = {}
    for path in python_files():
        source = layer(_module(path))
        for target in map(layer, relkd_imports(path)):
            if source and target and target != source:
                edges.setdefault(source, set()).add(target)
    return edges


def test_layers_import_only_what_the_doc_allows():
    edges = layer_edges()
    assert set(edges) <= set(ALLOWED)
    for source, targets in edges.items():
        assert targets <= ALLOWED[source], (source, targets - ALLOWED[source])


def test_package_imports_nothing_of_tools():
    """The experiment drivers of tools/benchmarks/ use relkd_mm, never the
    reverse: a training run needs none of them."""
    for path in python_files():
        with open(path) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or '']
            else:
                continue
            assert not any(n.split('.')[0] == 'tools' for n in names), path


def test_models_import_nothing_of_engine_runner_compat_utils():
    for path in python_files():
        if _module(path).startswith('relkd_mm.models'):
            bad = {m for m in relkd_imports(path)
                   if layer(m) not in (None, 'models')}
            assert not bad, (path, bad)


def test_relation_maths_imports_only_torch():
    path = osp.join(PACKAGE, 'models', 'losses', 'relation.py')
    with open(path) as f:
        tree = ast.parse(f.read())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split('.')[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or '').split('.')[0] if not node.level
                      else '.')
    assert roots <= {'torch', 'functools', 'math'}, roots


def test_no_circle_between_layers_but_the_known_ones():
    edges = layer_edges()
    circles = {frozenset({a, b}) for a, targets in edges.items()
               for b in targets if a in edges.get(b, set())}
    assert circles <= KNOWN_CIRCLES, circles - KNOWN_CIRCLES


def test_no_module_level_import_circle():
    """Between modules, at import time (imports at module level): none,
    whatever the layers."""
    graph = {}
    for path in python_files():
        graph[_module(path)] = {
            m for m in relkd_imports(path, module_level_only=True)}
    modules = set(graph)
    graph = {m: {t for t in targets if t in modules and t != m}
             for m, targets in graph.items()}
    state = {}

    def visit(node, stack):
        state[node] = 'open'
        for nxt in graph[node]:
            if state.get(nxt) == 'open':
                raise AssertionError(
                    'import circle: ' + ' -> '.join(stack + [node, nxt]))
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = 'done'

    for node in sorted(graph):
        if node not in state:
            visit(node, [])

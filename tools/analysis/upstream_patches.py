"""List every upstream attribute that runs relkd_mm code after
``import relkd_mm``.

A plugin should change its host only where the host can not run without
it (issue 20); this script measures how far relkd_mm is from that. In a
fresh interpreter it records, for every attribute of every loaded module of
MMEngine, MMRazor, MMPretrain, mmcv, torch, torchvision and numpy (and of
the classes those modules define), where the attribute's code is defined
(``__code__.co_filename``, through ``classmethod``/``staticmethod``/
``property``); imports relkd_mm (with ``--modules``, also the upstream
modules named there); and records the same again. An attribute is listed
when its code, after the import, is defined in a file of the relkd_mm
package: upstream's function replaced or wrapped by relkd_mm's (a wrapper
made with ``functools.wraps`` still has its own code object, so it is
seen), or a function relkd_mm added. Upstream modules that can not be
imported before relkd_mm on this stack (torchvision, MMRazor's models:
patches 1 and 2) have no "before"; their attributes are judged by the
"after" state alone, which is what decides the list anyway.

What is not listed: components relkd_mm registers in the registries
(extension points, not patches) and data relkd_mm adds to upstream tables
(``MODULE2PACKAGE``, ``CheckpointLoader``'s schemes), which run no code of
their own.

Usage::

    python tools/analysis/upstream_patches.py           # one per line
    python tools/analysis/upstream_patches.py --json    # for tests
    python tools/analysis/upstream_patches.py --check   # vs. the table

``--check`` compares the list with :data:`relkd_mm.compat.PATCHED_ATTRIBUTES`
(the documented table) and exits 1 naming the differences.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: Upstream packages whose attributes are inspected.
UPSTREAM = ('mmengine', 'mmrazor', 'mmpretrain', 'mmcv', 'torch',
            'torchvision', 'numpy')

#: Upstream modules imported after relkd_mm so that a patch applied to a
#: module relkd_mm itself does not import is seen too.
EXTRA_MODULES = ('mmengine.runner', 'mmengine.dist.utils', 'mmengine.hub',
                 'mmengine.dataset', 'mmengine.registry', 'mmcv.transforms',
                 'mmrazor.engine', 'mmrazor.models', 'mmpretrain.datasets',
                 'torch.onnx')

# The code run in the child interpreter: prints a JSON list of
# "module:qualified.name" for attributes whose code is relkd_mm's.
_CHILD = r'''
import importlib, json, os, sys, types

UPSTREAM = {upstream!r}
EXTRA = {extra!r}


def is_upstream(name):
    return name.split('.')[0] in UPSTREAM


def code_file(obj):
    """The file that defines ``obj``'s code, or None for data."""
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    try:
        code = getattr(obj, '__code__', None)
    except Exception:  # lazy module attributes (torch.backends.cuda)
        return None
    if isinstance(code, types.CodeType):
        return code.co_filename
    return None


def snapshot():
    found = {{}}
    for modname, module in list(sys.modules.items()):
        if module is None or not is_upstream(modname):
            continue
        try:
            names = list(vars(module).items())
        except TypeError:
            continue
        for name, value in names:
            where = code_file(value)
            if where is not None:
                found[f'{{modname}}:{{name}}'] = where
            # Methods of the classes this module defines (not the ones it
            # imports: those are seen in their own module).
            if isinstance(value, type) and \
                    getattr(value, '__module__', None) == modname and \
                    getattr(value, '__qualname__', name) == name:
                try:
                    members = list(vars(value).items())
                except TypeError:
                    continue
                for attr, member in members:
                    where = code_file(member)
                    if where is not None:
                        found[f'{{modname}}:{{name}}.{{attr}}'] = where
    return found


# The packages that import on this stack without relkd_mm, for a "before".
for modname in ('numpy', 'torch'):
    importlib.import_module(modname)
before = snapshot()
import relkd_mm  # noqa: E402
for modname in EXTRA:
    try:
        importlib.import_module(modname)
    except Exception:  # an optional module of the stack: not inspected
        pass
after = snapshot()
package = os.path.dirname(os.path.realpath(relkd_mm.__file__)) + os.sep
patched = sorted(
    key for key, where in after.items()
    if os.path.realpath(where).startswith(package)
    and before.get(key) != where)
print('RELKD_MM_PATCHES=' + json.dumps(patched))
'''


def patched_attributes(modules=EXTRA_MODULES, env=None):
    """The sorted ``module:attribute`` names of upstream attributes whose
    code is relkd_mm's after ``import relkd_mm``, measured in a fresh
    interpreter."""
    code = _CHILD.format(upstream=UPSTREAM, extra=tuple(modules))
    child_env = dict(os.environ if env is None else env)
    child_env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + [p for p in child_env.get('PYTHONPATH', '').split(
            os.pathsep) if p])
    child_env.setdefault('OMP_NUM_THREADS', '1')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO,
                          env=child_env, capture_output=True, text=True,
                          timeout=600)
    if proc.returncode != 0:
        raise RuntimeError('upstream_patches: the child interpreter failed:'
                           f'\n{proc.stderr[-3000:]}')
    for line in proc.stdout.splitlines():
        if line.startswith('RELKD_MM_PATCHES='):
            return json.loads(line[len('RELKD_MM_PATCHES='):])
    raise RuntimeError('upstream_patches: no result from the child '
                       f'interpreter:\n{proc.stdout[-3000:]}')


def documented_attributes():
    """The documented table, :data:`relkd_mm.compat.PATCHED_ATTRIBUTES`
    (read without importing relkd_mm, which would apply the patches in this
    process)."""
    import ast
    path = osp.join(REPO, 'relkd_mm', 'compat', '__init__.py')
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in tree.body:
        target = getattr(node, 'target', None) or (
            node.targets[0] if isinstance(node, ast.Assign) else None)
        if isinstance(target, ast.Name) and \
                target.id == 'PATCHED_ATTRIBUTES':
            return dict(ast.literal_eval(node.value))
    raise LookupError(f'{path} defines no PATCHED_ATTRIBUTES')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--json', action='store_true',
                        help='print the list as JSON')
    parser.add_argument('--check', action='store_true',
                        help='compare with relkd_mm.compat.'
                        'PATCHED_ATTRIBUTES; exit 1 on a difference')
    args = parser.parse_args(argv)
    found = patched_attributes()
    if args.json:
        print(json.dumps(found, indent=1))
    else:
        for name in found:
            print(name)
        print(f'{len(found)} upstream attributes run relkd_mm code.')
    if args.check:
        documented = documented_attributes()
        missing = sorted(set(found) - set(documented))
        stale = sorted(set(documented) - set(found))
        for name in missing:
            print(f'not documented: {name}', file=sys.stderr)
        for name in stale:
            print(f'documented but not patched: {name}', file=sys.stderr)
        if missing or stale:
            print('Update PATCHED_ATTRIBUTES in relkd_mm/compat/__init__.py '
                  'and the table of docs/architecture.md.', file=sys.stderr)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())

"""Inheritance depth of every config under ``configs/``.

A config's depth is 0 when it names no ``_base_``, else 1 + the largest
depth among its bases. The bases are read as MMEngine reads them
(``Config._get_base_files``: the ``_base_ = ...`` line parsed with ``ast``,
a string or a list), without executing any config; a package base
(``mmpretrain::_base_/...``) is followed into the installed package like a
local one. The rule (docs/architecture.md, "Configs"): no config inherits
more than :data:`MAX_DEPTH` levels, which
``tests/test_configs/test_config_depth.py`` checks over all of configs/.

Example::

    python tools/analysis/config_depth.py            # histogram
    python tools/analysis/config_depth.py --list     # one line per config
"""
import argparse
import collections
import glob
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = osp.join(REPO, 'configs')
MAX_DEPTH = 3


def base_paths(path):
    """Absolute paths of the files that ``path`` names in its ``_base_``."""
    from mmengine.config import Config
    paths = []
    for base in Config._get_base_files(path):
        if '::' in base:
            if sys.path[0] != REPO:
                sys.path.insert(0, REPO)
            # relkd_mm's compat patches resolve the installed packages'
            # config folders (mmengine_installed_path).
            import relkd_mm  # noqa: F401
            resolved, _ = Config._get_cfg_path(base, path)
        else:
            resolved = osp.join(osp.dirname(path), base)
        paths.append(osp.abspath(resolved))
    return paths


def config_depth(path, _memo=None):
    """Inheritance depth of the config file ``path`` (see the module's
    docstring)."""
    memo = {} if _memo is None else _memo
    path = osp.abspath(path)
    if path not in memo:
        memo[path] = None  # a cycle would raise below
        bases = base_paths(path)
        depths = []
        for base in bases:
            if base in memo and memo[base] is None:
                raise ValueError(f'{path}: inheritance cycle through {base}')
            depths.append(config_depth(base, memo))
        memo[path] = 1 + max(depths) if depths else 0
    return memo[path]


def all_configs(root=CONFIGS):
    """Every ``.py`` file under ``root``, sorted."""
    return sorted(glob.glob(osp.join(root, '**', '*.py'), recursive=True))


def depths(root=CONFIGS):
    """``{path relative to the repository: depth}`` for all configs."""
    memo = {}
    return {
        osp.relpath(path, REPO): config_depth(path, memo)
        for path in all_configs(root)
    }


def histogram(depth_by_config):
    """``{depth: number of configs}``, sorted by depth."""
    return dict(sorted(collections.Counter(depth_by_config.values()).items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default=CONFIGS)
    parser.add_argument(
        '--list', action='store_true', help='one line per config')
    args = parser.parse_args(argv)
    found = depths(args.root)
    if args.list:
        for path, depth in found.items():
            print(depth, path)
    print(f'{len(found)} configs; depth -> count:')
    for depth, count in histogram(found).items():
        print(f'  {depth}: {count}')
    deeper = [path for path, depth in found.items() if depth > MAX_DEPTH]
    if deeper:
        print(f'{len(deeper)} deeper than {MAX_DEPTH}')
    return 1 if deeper else 0


if __name__ == '__main__':
    sys.exit(main())

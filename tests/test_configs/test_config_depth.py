"""No config inherits more than three levels (docs/architecture.md,
"Configs"): a method config is its ``_base_/distill/`` base (or its
dataset, schedule and runtime bases) plus what the method sets, as
MMRazor's read; a variant of it adds one level. Measured over every
``.py`` file under configs/ by tools/analysis/config_depth.py, without
executing a config."""
import importlib.util
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load_tool():
    spec = importlib.util.spec_from_file_location(
        'config_depth', osp.join(REPO, 'tools', 'analysis',
                                 'config_depth.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_no_config_is_deeper_than_three_levels():
    tool = load_tool()
    depths = tool.depths()
    assert len(depths) > 150  # every config, fragments included
    assert tool.MAX_DEPTH == 3
    deeper = {p: d for p, d in depths.items() if d > tool.MAX_DEPTH}
    assert deeper == {}, (
        'fold an intermediate base into its children or its bases into '
        f'flatter ones: {deeper}')


def test_depth_counts_the_longest_chain(tmp_path):
    tool = load_tool()

    def write(name, text):
        path = tmp_path / name
        path.write_text(text)
        return str(path)

    write('data.py', 'x = 1\n')
    write('runtime.py', 'y = 2\n')
    write('algo.py', "_base_ = ['./data.py', './runtime.py']\nz = 3\n")
    write('method.py', "_base_ = './algo.py'\n")  # a string, not a list
    variant = write('variant.py',
                    "_base_ = ['./method.py', './runtime2.py']\n")
    write('runtime2.py', 'w = 4\n')
    assert tool.config_depth(str(tmp_path / 'data.py')) == 0
    assert tool.config_depth(str(tmp_path / 'algo.py')) == 1
    assert tool.config_depth(variant) == 3
    assert tool.histogram(tool.depths(str(tmp_path))) == {
        0: 3, 1: 1, 2: 1, 3: 1}


def test_a_package_base_is_followed(tmp_path):
    tool = load_tool()
    path = tmp_path / 'cfg.py'
    path.write_text(
        "_base_ = ['mmpretrain::_base_/datasets/imagenet_bs32.py']\n")
    # MMPretrain's dataset base names no base of its own.
    assert tool.config_depth(str(path)) == 1


def test_a_cycle_is_refused(tmp_path):
    tool = load_tool()
    (tmp_path / 'a.py').write_text("_base_ = ['./b.py']\n")
    (tmp_path / 'b.py').write_text("_base_ = ['./a.py']\n")
    with pytest.raises(ValueError, match='cycle'):
        tool.config_depth(str(tmp_path / 'a.py'))

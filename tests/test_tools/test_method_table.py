"""The method table (tools/benchmarks/methods.py): every file a row names
exists, and the lists the tools read are the table's, so that a method is
added by its row (docs/architecture.md, "Adding a method")."""
import os.path as osp
import sys
from types import SimpleNamespace

import pytest

from relkd_mm.models import losses
from relkd_mm.models.interfaces import RelationalLoss
from tests.train_utils import REPO
from tools.benchmarks import protocol, quick_runs
from tools.benchmarks.methods import METHODS, method_folders

sys.path.insert(0, osp.join(REPO, 'tools'))


def test_every_file_a_row_names_exists():
    for method in METHODS:
        if method.folder:
            folder = osp.join(REPO, 'configs', method.folder)
            for name in ('README.md', 'metafile.yml'):
                assert osp.isfile(osp.join(folder, name)), (method.name, name)
        assert quick_runs.missing_configs(method.quick) == [], method.name
        for arm in method.arms + method.ablations:
            for path in protocol.Protocol.config_paths(arm):
                assert osp.isfile(path), (arm.name, path)
        for cost in method.cost.values():
            assert osp.isfile(osp.join(REPO, cost.config)), cost
        for loss in method.relations:
            assert issubclass(getattr(losses, loss), RelationalLoss), loss


def test_names_are_unique():
    for names in ([m.name for m in METHODS], [m.quick.name for m in METHODS],
                  [a.name for m in METHODS for a in m.arms + m.ablations],
                  [c for m in METHODS for c in m.cost],
                  [f for m in METHODS for f in m.relations.values()]):
        assert len(names) == len(set(names)), names


def test_the_tools_lists_are_the_tables():
    import benchmark_cost
    assert quick_runs.RUNS == [m.quick for m in METHODS]
    assert {a.name for a in protocol.ARMS + protocol.ABLATION_ARMS} == {
        a.name for m in METHODS for a in m.arms + m.ablations}
    assert list(benchmark_cost.METHODS) == [c for m in METHODS
                                            for c in m.cost]
    assert method_folders() == sorted(m.folder for m in METHODS
                                      if m.folder)


def test_the_visualiser_draws_every_figure_the_table_names(monkeypatch):
    import visualize_relations as vis
    for plot in ('plot_vrm', 'plot_rrd', 'plot_refilled_tuple',
                 'plot_refilled_classifier'):
        monkeypatch.setattr(vis, plot, lambda *a, _p=plot: (_p, None))
    figures = [figure for _, figure in vis.DRAWN]
    assert figures == [f for m in METHODS for f in m.relations.values()]
    for figure in figures:
        vis.draw(figure, None, 'loss', {}, None, 'out.png',
                 SimpleNamespace(max_classes=20))
    with pytest.raises(NotImplementedError, match='add its plot function'):
        vis.draw('xyz', None, 'loss', {}, None, 'out.png', None)

"""tools/analysis/teacher_val_cost.py: one validation through the real
loop with the teacher evaluated each time and reused, on synthetic data."""
import importlib.util
import os.path as osp

from tests.train_utils import REPO


def test_teacher_val_cost_measures_both_variants(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'teacher_val_cost',
        osp.join(REPO, 'tools', 'analysis', 'teacher_val_cost.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    out = tmp_path / 'cost.md'
    rows = tool.main(['--only', 'resnet32x4', '--images', '8', '8',
                      '--rounds', '1', '--out-md', str(out)])
    assert len(rows) == 1
    row = rows[0]
    # The reused validation skips the teacher (resnet32x4), the larger net.
    assert 0 < row['once'] < row['each'] and row['ratio'] < 1
    assert 'kd_resnet32x4_resnet8x4_1xb64_cifar100.py' in out.read_text()

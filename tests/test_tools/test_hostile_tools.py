"""Reliability III (issue 19), the tools given careless input: a repeated
or negative benchmark seed, an export whose output is its own input, a
``scalars.json`` that is not MMEngine's. Each is refused early, naming the
argument or the file and line, and the fix."""
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS

from tests.train_utils import KD, REPO, run_inprocess


@pytest.mark.parametrize('seeds,said', [
    (['0', '0'], 'seed(s) 0 given twice'),
    (['0', '1', '1'], 'seed(s) 1 given twice'),
    (['-1'], '-1 outside [0, 2**32)'),
])
def test_benchmark_seeds_are_checked_before_any_run(tmp_path, seeds, said):
    """``--seeds 0 0`` reported "seeds 2, +- 0.00" (one run counted
    twice); ``--seeds -1`` failed late, per run, after folders were
    made."""
    work = tmp_path / 'bench'
    proc = run_inprocess('benchmark.py', '--seeds', *seeds, '--work-dir',
                         str(work), '--data-root', str(tmp_path / 'none'),
                         check=False)
    assert proc.returncode == 2  # argparse's usage error
    assert said in proc.stderr and '--seeds' in proc.stderr
    assert not work.exists()


@pytest.fixture
def distill_checkpoint(tmp_path):
    """A KD checkpoint with an optimizer state, as a run writes it."""
    cfg = Config.fromfile(osp.join(REPO, KD))
    cfg.model.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(cfg.model)
    run = tmp_path / 'run'
    run.mkdir()
    path = run / 'epoch_1.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {'epoch': 1},
                'optimizer': {'state': {}, 'param_groups': []}}, str(path))
    return path


def test_export_does_not_overwrite_its_checkpoint(distill_checkpoint):
    """``export_student.py CONFIG RUN/epoch_1.pth RUN --name epoch_1`` used
    to replace the run's checkpoint (the optimizer state gone, so was the
    resume)."""
    before = distill_checkpoint.read_bytes()
    proc = run_inprocess('export_student.py', osp.join(REPO, KD),
                         str(distill_checkpoint),
                         str(distill_checkpoint.parent), '--name', 'epoch_1',
                         check=False)
    assert proc.returncode != 0
    assert 'would overwrite its own input' in proc.stderr
    assert str(distill_checkpoint) in proc.stderr and '--name' in \
        proc.stderr
    assert distill_checkpoint.read_bytes() == before


def test_export_does_not_overwrite_its_config(distill_checkpoint, tmp_path):
    config = tmp_path / 'kd.py'  # a config of one's own
    config.write_text(f'_base_ = [{osp.join(REPO, KD)!r}]\n')
    text = config.read_text()
    proc = run_inprocess('export_student.py', str(config),
                         str(distill_checkpoint), str(tmp_path), '--name',
                         'kd', check=False)
    assert proc.returncode != 0
    assert 'would overwrite its own input' in proc.stderr
    assert config.read_text() == text


def _run_with(tmp_path, lines):
    vis = tmp_path / 'run' / '20240101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(lines) + '\n')
    return str(tmp_path / 'run'), str(vis / 'scalars.json')


GOOD = json.dumps({'lr': 0.1, 'loss': 1.0, 'iter': 1, 'epoch': 1,
                   'step': 1})


@pytest.mark.parametrize('line,said', [
    (json.dumps({'lr': 0.1, 'loss': 1.0, 'epoch': 1}),
     'a training line without an integer `iter`'),
    (json.dumps([1, 2]), 'a JSON list, not an object'),
    (json.dumps({'lr': 0.1, 'loss': 'high', 'iter': 2}),
     "`loss` is 'high', not a number"),
    ('{"lr": 0.1, "loss"', 'not JSON'),
])
def test_plot_curves_names_the_file_and_line(tmp_path, line, said):
    """A line without ``iter`` used to be a bare KeyError, a JSON array a
    TypeError, and string values were drawn as categories."""
    import sys
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import plot_curves
    run, path = _run_with(tmp_path, [GOOD, line])
    with pytest.raises(ValueError) as info:
        plot_curves.Run(run)
    msg = str(info.value)
    assert f"{path}: not MMEngine's JSON lines (line 2: " in msg
    assert said in msg
    assert 'fix or delete that line' in msg


def test_plot_curves_says_which_values_are_not_finite(tmp_path, capsys):
    import sys
    sys.path.insert(0, osp.join(REPO, 'tools'))
    import plot_curves
    run, path = _run_with(tmp_path, [
        GOOD, '{"lr": 0.1, "loss": NaN, "iter": 2}',
        '{"lr": 0.1, "loss": Infinity, "iter": 3}'])
    xs, ys, _ = plot_curves.Run(run).series('loss')
    assert xs == [1, 2, 3]
    err = capsys.readouterr().err
    assert f'{path}: `loss` is NaN or inf at 2 point(s) (iter/step 2, 3)' \
        in err and 'leaves them out' in err

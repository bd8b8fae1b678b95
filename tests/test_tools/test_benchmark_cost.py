"""tools/benchmark_cost.py on a tiny configuration, so that it cannot rot:
two methods through their real configs, batch 4, a tiny pair, 2 rounds."""
import json
import os.path as osp

import pytest

from tests.train_utils import run_inprocess


def test_tiny_benchmark_writes_table_json_and_chart(tool, tmp_path):
    md, png, js = (str(tmp_path / f'bench.{ext}')
                   for ext in ('md', 'png', 'json'))
    proc = tool('benchmark_cost.py', '--pair', 'tiny', '--batch', '4',
                '--methods', 'kd', 'vrm', '--repeats', '2', '--warmup',
                '1', '--threads', '1', '--out-md', md, '--out-png', png,
                '--out-json', js, timeout=300)
    with open(md) as f:
        table = f.read()
    # VRM brings KD on its 2B images as its reference row.
    for name in ('| kd |', '| vrm |', '| kd@2B |'):
        assert name in table, table
    assert 'vs kd@2B' in table
    assert table in proc.stdout
    assert osp.getsize(png) > 1000
    with open(js) as f:
        result = json.load(f)
    rows = {row['name']: row for row in result['rows']}
    assert rows['vrm']['images'] == 8 and rows['kd']['images'] == 4
    assert rows['kd']['step_vs_kd'][1] == pytest.approx(1.0)
    for name in ('kd', 'vrm', 'kd@2B'):
        row = rows[name]
        assert row['step_ms'] > 0 and row['loss_ms'] > 0
        assert 0 < row['loss_of_step'] < 1
        assert row['peak_mb'] > 0
    assert 'step_vs_kd' in rows['vrm'] and rows['vrm']['kd_ref'] == 'kd@2B'
    assert 'verdict' in rows['vrm']


def test_unknown_method_and_cpu_amp_are_refused():
    # Argument errors: the tool in this process (its CLI runs in a
    # subprocess above).
    proc = run_inprocess('benchmark_cost.py', '--methods', 'nope',
                         check=False)
    assert proc.returncode != 0 and "unknown 'nope'" in proc.stderr
    proc = run_inprocess('benchmark_cost.py', '--amp', check=False)
    assert proc.returncode != 0 and '--amp needs --device cuda' in \
        proc.stderr

"""tools/benchmark_cost.py on a tiny configuration, so that it cannot rot:
two methods through their real configs, batch 4, a tiny pair, 2 rounds."""
import json
import math
import os.path as osp
import sys

import pytest

from tests.train_utils import run_inprocess

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools'))


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


def test_loss_balance_rows(tmp_path):
    """--loss-balance: each distillation method's step with and without
    LossBalanceHook's measurement, its extra time as a multiple of a step
    and amortised over the hook's schedule (no timing asserted)."""
    md, js = str(tmp_path / 'b.md'), str(tmp_path / 'b.json')
    proc = run_inprocess(
        'benchmark_cost.py', '--pair', 'tiny', '--batch', '4', '--methods',
        'student', 'kd', 'rrd', '--repeats', '2', '--warmup', '1',
        '--memory', 'none', '--no-loss-time', '--loss-balance',
        '--balance-iters', '1000', '10000', '150', '--out-md', md,
        '--out-json', js)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(js) as f:
        rows = {row['name']: row for row in json.load(f)['rows']}
    assert 'balance_extra' not in rows['student']  # no distiller, no hook
    for name in ('kd', 'rrd'):
        row = rows[name]
        # The configs' hook: configs/_base_/default_runtime.py's default.
        assert row['balance_hook'] == dict(
            in_config=True, check_iters=[20, 50, 100], interval=1000)
        assert math.isfinite(row['balance_step_ms']) and \
            row['balance_step_ms'] > 0
        # Every step timed with the hook (1 warm-up + 2 rounds) measured.
        assert row['balance_steps_measured'] == 3
        q1, extra, q3 = row['balance_extra']
        assert all(math.isfinite(x) and x > -1 for x in (q1, extra, q3))
        assert q1 <= extra <= q3
        # 20, 50, 100 and every 1000: 4 of the first 1000 iterations, 13
        # of 10,000, 3 of 150.
        assert row['balance_measured'] == {'1000': 4, '10000': 13,
                                           '150': 3}
        for n, count in row['balance_measured'].items():
            assert row['balance_amortised'][n] == pytest.approx(
                extra * count / int(n))
    with open(md) as f:
        table = f.read()
    assert 'LossBalanceHook' in table and '| rrd |' in table
    assert 'first 10000 iterations' in table and '13 -> ' in table


def test_loss_balance_schedule_counts():
    """The amortisation arithmetic and the hook's schedule, without
    timing: a measurement of 0.35 steps at 20, 50, 100 and every 1000."""
    import benchmark_cost as bc

    from relkd_mm.engine.hooks import LossBalanceHook
    assert bc.balance_cost(0.35, 4, 1000) == pytest.approx(0.0014)
    assert bc.balance_cost(0.35, 13, 10000) == pytest.approx(0.000455)
    assert bc.balance_hook_cfg(dict(custom_hooks=[
        dict(type='mmrazor.RandomStateHook'),
        dict(type='mmrazor.LossBalanceHook', interval=500)])) == \
        dict(interval=500)
    assert bc.balance_hook_cfg(dict(custom_hooks=[])) is None

    # A schedule of its own: check_iters and interval from the config.
    hook = LossBalanceHook(check_iters=(5, ), interval=100)
    balance = bc.BalanceBench.__new__(bc.BalanceBench)
    balance.hook, balance.runner = hook, bc._Runner(None, [hook])
    hook._active = True
    assert balance.measured_iters(1000) == 11
    assert balance.measured_iters(4) == 0

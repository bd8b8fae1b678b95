"""Benchmark statistics against hand computations."""
import math

import pytest

from tools.benchmarks.report import (format_difference, markdown_table,
                                     mean_std, paired_difference)

#: Student's t 97.5% quantiles (printed tables), independent of scipy.
T975 = {2: 4.302653, 4: 2.776445}


def test_mean_std():
    var = ((1 - 7 / 3)**2 + (2 - 7 / 3)**2 + (4 - 7 / 3)**2) / 2
    assert mean_std([1.0, 2.0, 4.0]) == pytest.approx(
        dict(mean=7 / 3, std=math.sqrt(var)))
    assert mean_std([5.0]) == dict(mean=5.0, std=0.0)
    assert math.isnan(mean_std([])['mean'])


@pytest.mark.parametrize('n', [3, 5])
def test_paired_difference_is_a_t_interval_over_common_seeds(n):
    method = {s: 80 + 0.7 * s + (s % 2) * 0.9 for s in range(n)}
    base = {s: 79 + 0.5 * s for s in range(n)}
    base[99] = 0.0  # a seed the method lacks is not paired
    diffs = [method[s] - base[s] for s in range(n)]
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean)**2 for d in diffs) / (n - 1))
    half = T975[n - 1] * sd / math.sqrt(n)
    got = paired_difference(method, base)
    assert got['n'] == n
    assert got['mean'] == pytest.approx(mean)
    assert got['low'] == pytest.approx(mean - half, rel=1e-5)
    assert got['high'] == pytest.approx(mean + half, rel=1e-5)
    assert got['within_noise'] == (mean - half <= 0 <= mean + half)


def test_within_noise_and_formatting():
    noisy = paired_difference({0: 1.0, 1: -1.0, 2: 0.5}, {0: 0, 1: 0, 2: 0})
    assert noisy['within_noise']
    assert format_difference(noisy).endswith('(noise)')
    clear = paired_difference({0: 2.0, 1: 2.2, 2: 2.1}, {0: 0, 1: 0, 2: 0})
    assert not clear['within_noise'] and clear['low'] > 0
    assert format_difference(clear) == (
        f'+2.10 [{clear["low"]:+.2f}, {clear["high"]:+.2f}]')
    one = paired_difference({0: 1.0}, {0: 0.5})
    assert one['n'] == 1 and one['within_noise']  # no interval from 1 seed
    assert format_difference(one) == '+0.50 (noise)'
    assert format_difference(paired_difference({}, {})) == '-'


def test_markdown_table():
    table = markdown_table(['a', 'b'], [[1, 'x'], [2.5, 'y']], 'lr')
    assert table == '| a | b |\n| --- | ---: |\n| 1 | x |\n| 2.5 | y |\n'
    with pytest.raises(ValueError, match='one entry per header'):
        markdown_table(['a'], [[1, 2]])


def test_padded_markdown_table_is_the_same_table_aligned():
    table = markdown_table(['name', 'n'], [['long name', 1.5], ['a', '']],
                           'lr', pad=True)
    assert table == ('| name      |    n |\n'
                     '| --------- | ---: |\n'
                     '| long name |  1.5 |\n'
                     '| a         |      |\n')
    # Padding is spaces in the cells: the same cells as unpadded.
    cells = [[c.strip() for c in line.split('|')[1:-1]]
             for line in table.splitlines()]
    plain = markdown_table(['name', 'n'], [['long name', 1.5], ['a', '']],
                           'lr')
    assert cells[2:] == [[c.strip() for c in line.split('|')[1:-1]]
                         for line in plain.splitlines()][2:]

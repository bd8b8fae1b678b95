"""Statistics and Markdown tables for benchmark reports.

Accuracy differences between distillation methods are often smaller than
the spread over seeds, so a report gives, besides mean +- std, the *paired*
difference of two methods trained with the same seeds (same data order,
same initialisation) and its 95% confidence interval (Student's t over the
per-seed differences, from :mod:`scipy.stats`). An interval that contains
0 means the difference is within noise.
"""
import math
import statistics

__all__ = ['mean_std', 'paired_difference', 'format_difference',
           'markdown_table']


def mean_std(values):
    """Mean and sample standard deviation (0 for one value, NaN for none)."""
    values = list(values)
    if not values:
        return dict(mean=math.nan, std=math.nan)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return dict(mean=statistics.fmean(values), std=std)


def paired_difference(values, reference, confidence=0.95):
    """``values - reference`` over paired runs (the same seeds).

    Args:
        values (dict[int, float]): Seed -> result of the method.
        reference (dict[int, float]): Seed -> result of the reference.
        confidence (float): Level of the interval.

    Returns:
        dict: ``n`` (common seeds), ``mean``, ``low``, ``high`` (the
        interval; NaN with fewer than 2 seeds or identical differences
        that give no spread) and ``within_noise`` (the interval contains 0,
        or there is no interval).
    """
    from scipy import stats
    seeds = sorted(set(values) & set(reference))
    diffs = [values[s] - reference[s] for s in seeds]
    out = dict(n=len(diffs), mean=math.nan, low=math.nan, high=math.nan,
               within_noise=True)
    if not diffs:
        return out
    out['mean'] = statistics.fmean(diffs)
    if len(diffs) > 1:
        if statistics.pstdev(diffs) == 0:
            out['low'] = out['high'] = out['mean']
        else:
            interval = stats.ttest_1samp(diffs, 0).confidence_interval(
                confidence)
            out['low'], out['high'] = float(interval.low), float(
                interval.high)
        out['within_noise'] = bool(out['low'] <= 0 <= out['high'])
    return out


def format_difference(diff, digits=2):
    """``+1.23 [+0.40, +2.06]`` (``digits`` decimals), with ``(noise)``
    when the interval holds 0, or ``-`` without common seeds."""
    if not diff['n']:
        return '-'
    text = f'{diff["mean"]:+.{digits}f}'
    if not math.isnan(diff['low']):
        text += f' [{diff["low"]:+.{digits}f}, {diff["high"]:+.{digits}f}]'
    return text + (' (noise)' if diff['within_noise'] else '')


def markdown_table(headers, rows, align=None, pad=False):
    """A GitHub Markdown table, the one writer of every report's tables.

    Args:
        headers (list[str]): Column titles.
        rows (list[list]): Cells; each is printed with ``str``.
        align (str, optional): One of ``l``/``r`` per column (default left).
        pad (bool): Pad every column to its widest cell (right-aligned
            columns to the right), for a table read on a console as well.
    """
    align = align or 'l' * len(headers)
    if len(align) != len(headers) or any(len(r) != len(headers)
                                         for r in rows):
        raise ValueError('markdown_table: every row and `align` need one '
                         f'entry per header ({len(headers)}).')
    lines = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    # The rule's cells: `---` and `---:` at least.
    widths = [4 if a == 'r' else 3 for a in align]
    if pad:
        widths = [max([w] + [len(line[i]) for line in lines])
                  for i, w in enumerate(widths)]
        lines = [[c.rjust(w) if a == 'r' else c.ljust(w)
                  for c, w, a in zip(line, widths, align)] for line in lines]
    rule = ['-' * (w - 1) + ':' if a == 'r' else '-' * w
            for w, a in zip(widths, align)]
    lines.insert(1, rule)
    return '\n'.join('| ' + ' | '.join(cells) + ' |' for cells in lines) \
        + '\n'

"""Plot training curves (losses, accuracy) of one or several MMEngine runs.

Reads every ``<work_dir>/<timestamp>/vis_data/scalars.json`` that MMEngine's
``LocalVisBackend`` wrote, with MMPretrain's reader
(``mmpretrain.utils.load_json_log``: training lines are those with ``lr``).
Training lines carry ``iter`` (and ``epoch`` in epoch-based loops) and the
losses; validation lines carry the metrics (``accuracy/top1``,
``teacher.accuracy/top1``) and a ``step`` that is the epoch in epoch-based
loops and the iteration otherwise. What the reader lacks is here: several
runs in one figure, and the timestamps of a resumed run merged in order, the
later one winning where they overlap.

Each key gets one subplot, each run one line (legend: the run's name).
The x axis is the training iteration. Validation epochs are converted to
iterations with the number of iterations per epoch, read from the run's text
log (``Epoch(train) [1][ 50/782]``); when no log tells it, the metrics of
that figure are drawn against the epoch, on subplots labelled so.

Example::

    python tools/plot_curves.py work_dirs/rrd_a work_dirs/rrd_b \\
        --keys loss loss_rrd accuracy/top1 --out curves.png

A key matches a logged key exactly or as its last dotted part, so
``loss_rrd`` finds ``distill.loss_rrd``.
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
# Before any mm* import: relkd_mm applies the compat patches.
import relkd_mm  # noqa: E402,F401 isort:skip

TRAIN_LOG = re.compile(r'Epoch\(train\)\s*\[\d+\]\[\s*\d+/(\d+)\]')
DEFAULT_METRIC = 'accuracy/top1'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot losses and accuracy of MMEngine work_dirs')
    parser.add_argument(
        'work_dirs', nargs='+', help='one or more work_dirs (runs)')
    parser.add_argument('--out', required=True, help='output image (.png)')
    parser.add_argument(
        '--keys',
        nargs='+',
        help='keys to plot, e.g. loss loss_rrd accuracy/top1 (default: every '
        'logged loss and accuracy/top1)')
    parser.add_argument(
        '--names', nargs='+', help='legend names, one per work_dir')
    parser.add_argument(
        '--smooth',
        type=int,
        default=1,
        help='moving-average window over logged training points')
    parser.add_argument('--title', help='figure title')
    args = parser.parse_args(argv)
    if args.names and len(args.names) != len(args.work_dirs):
        parser.error(f'--names has {len(args.names)} names for '
                     f'{len(args.work_dirs)} work_dirs.')
    if args.smooth < 1:
        parser.error(f'--smooth={args.smooth} must be >= 1.')
    return args


def _bad_line(path, number, problem):
    return ValueError(
        f'{path}: not MMEngine\'s JSON lines (line {number}: {problem}). '
        'MMEngine writes one JSON object '
        'a line (training lines with `lr` and `iter`, validation lines '
        'with `step`); the file was edited, cut short or written by '
        'another tool: fix or delete that line.')


def load_scalars(path):
    """``{'train': [...], 'val': [...]}`` of a ``scalars.json``, as
    ``mmpretrain.utils.load_json_log`` reads it (training lines are those
    with ``lr``), each line checked: a JSON object, ``iter`` (training) or
    ``step`` (validation) an integer, every other value a number. A line
    that is not is named with its file and number (the reader's KeyError
    or TypeError named neither, and a string value was drawn as a
    category). Non-finite values (a diverged run) are kept, and said:
    matplotlib leaves them out of the curve."""
    import math
    log = dict(train=[], val=[])
    non_finite = {}
    with open(path) as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError as exc:
                # A run killed while writing leaves a partial last line.
                raise _bad_line(path, number,
                                f'not JSON ({exc})') from None
            if not isinstance(line, dict):
                raise _bad_line(path, number, 'a JSON '
                                f'{type(line).__name__}, not an object')
            mode = 'train' if 'lr' in line else 'val'
            step = 'iter' if mode == 'train' else 'step'
            if not isinstance(line.get(step), int) or \
                    isinstance(line.get(step), bool):
                kind = 'training' if mode == 'train' else 'validation'
                raise _bad_line(
                    path, number, f'a {kind} line without an integer '
                    f'`{step}` (got {line.get(step)!r})')
            for key, value in line.items():
                if isinstance(value, bool) or \
                        not isinstance(value, (int, float)):
                    raise _bad_line(path, number, f'`{key}` is {value!r}, '
                                    'not a number')
                if not math.isfinite(value):
                    non_finite.setdefault(key, []).append(line[step])
            log[mode].append(line)
    for key, steps in non_finite.items():
        print(f'plot_curves: {path}: `{key}` is NaN or inf at {len(steps)} '
              f'point(s) ({step_list(steps)}); the curve leaves them out '
              '(the run diverged there).', file=sys.stderr)
    return log


def step_list(steps, shown=5):
    more = len(steps) - shown
    return 'iter/step ' + ', '.join(map(str, steps[:shown])) + (
        f', ... ({more} more)' if more > 0 else '')


class Run:
    """The merged scalars of one work_dir."""

    def __init__(self, work_dir, name=None):
        self.work_dir = work_dir
        self.name = name or osp.basename(osp.normpath(work_dir))
        files = sorted(
            glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
        if not files:
            raise FileNotFoundError(
                f'{work_dir}: no <timestamp>/vis_data/scalars.json; is it a '
                'work_dir of tools/train.py with the LocalVisBackend '
                '(configs/_base_/default_runtime.py)?')
        train, val = {}, {}
        self.by_epoch = False
        for path in files:
            log = load_scalars(path)
            for line in log['train']:
                train[int(line['iter'])] = line
                self.by_epoch |= 'epoch' in line
            for line in log['val']:
                val[int(line['step'])] = line
        self.train = [train[k] for k in sorted(train)]
        self.val = [val[k] for k in sorted(val)]
        self.iters_per_epoch = _iters_per_epoch(work_dir)

    def keys(self):
        found = {}
        for line in self.train + self.val:
            found.update(dict.fromkeys(line))
        return list(found)

    def series(self, key):
        """``(xs, ys, unit)`` of ``key``, unit ``'iter'`` or ``'epoch'``;
        None when the run never logged it."""
        key = self._resolve(key)
        if key is None:
            return None
        train = [(d['iter'], d[key]) for d in self.train if key in d]
        if train:
            return [x for x, _ in train], [y for _, y in train], 'iter'
        points = [(d['step'], d[key]) for d in self.val if key in d]
        xs, ys = [x for x, _ in points], [y for _, y in points]
        if not self.by_epoch:
            return xs, ys, 'iter'
        if self.iters_per_epoch:
            return [x * self.iters_per_epoch for x in xs], ys, 'iter'
        return xs, ys, 'epoch'

    def _resolve(self, key):
        keys = self.keys()
        if key in keys:
            return key
        tails = [k for k in keys if k.rsplit('.', 1)[-1] == key]
        # `loss_rrd` must not pick `teacher.loss_rrd` over the student's.
        tails.sort(key=lambda k: k.startswith('teacher.'))
        return tails[0] if tails else None


def _iters_per_epoch(work_dir):
    counts = set()
    for path in glob.glob(osp.join(work_dir, '*', '*.log')):
        with open(path, errors='replace') as f:
            counts.update(int(n) for n in TRAIN_LOG.findall(f.read()))
    # Several counts: the log is ambiguous (changed batch size), no guess.
    return counts.pop() if len(counts) == 1 else None


def default_keys(runs):
    keys = []
    for run in runs:
        for key in run.keys():
            if 'loss' in key and key not in keys:
                keys.append(key)
    if any(run._resolve(DEFAULT_METRIC) for run in runs):
        keys.append(DEFAULT_METRIC)
    return keys


def _smooth(ys, window):
    if window == 1 or len(ys) < window:
        return ys
    out, total = [], 0.0
    for i, y in enumerate(ys):
        total += y
        if i >= window:
            total -= ys[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot(runs, keys, out, smooth=1, title=None):
    """Draw ``keys`` of ``runs`` on one figure and save it to ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    if not keys:
        raise ValueError('No key to plot: the runs logged no loss; pass '
                         '--keys.')
    missing = [k for k in keys if not any(r._resolve(k) for r in runs)]
    if missing:
        known = sorted({k for r in runs for k in r.keys()})
        raise KeyError(f'--keys {missing} were logged by no run; logged '
                       f'keys: {known}.')
    cols = min(3, len(keys))
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    # One colour per run in every panel (matplotlib's cycle restarts in each
    # axes, so a run missing from a panel shifted the others' colours).
    cycle = plt.rcParams['axes.prop_cycle'].by_key()['color']
    colours = {id(run): cycle[k % len(cycle)] for k, run in enumerate(runs)}
    for ax, key in zip(axes.flat, keys):
        units = set()
        for run in runs:
            found = run.series(key)
            if found is None:
                continue
            xs, ys, unit = found
            units.add(unit)
            is_val = unit == 'epoch' or run._resolve(key) not in {
                k
                for d in run.train for k in d
            }
            # Sparse series (validation, short runs) need visible points.
            style = dict(marker='o', markersize=3) \
                if is_val or len(xs) < 30 else {}
            ys = ys if is_val else _smooth(ys, smooth)
            ax.plot(xs, ys, label=run.name, linewidth=1.3,
                    color=colours[id(run)], **style)
        unit = 'epoch' if units == {'epoch'} else 'iteration'
        if len(units) > 1:
            unit = 'iteration (runs without a text log: epoch)'
        ax.set_xlabel(unit)
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None):
    args = parse_args(argv)
    names = args.names or [None] * len(args.work_dirs)
    runs = [Run(d, n) for d, n in zip(args.work_dirs, names)]
    keys = args.keys or default_keys(runs)
    plot(runs, keys, args.out, smooth=args.smooth, title=args.title)
    print(f'saved {args.out} ({len(runs)} runs, keys: {", ".join(keys)})')


if __name__ == '__main__':
    main()

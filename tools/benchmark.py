"""Accuracy benchmark: methods x seeds, one command, a markdown table.

Trains and tests every method with every seed at one budget, then writes
``results.md`` (mean +- std test top-1 per method, the student alone and KD
as baselines), ``results.json`` and ``results.png`` in the budget's folder.
Finished runs are skipped and interrupted runs resume from their last
checkpoint, so the command can be stopped and re-run at any time.

The fmnist-lowdata protocol (tools/benchmarks/protocol.py; docs/results.md)
is the evidence that a method makes its student better: a strong teacher
trained once and cached, students on a data-limited subset, every choice
on a validation split held out of the training set, the test set evaluated
once per final configuration, paired statistics over seeds::

    python tools/benchmark.py --protocol fmnist-lowdata [--seeds 0 1 2] \\
        [--methods KD VRM ...] [--no-test]   # --no-test: tuning, val only

``--teacher-ckpt checkpoints/fmnist/wrn-16-2_fmnist-lowdata.pth`` gives the
main teacher (the quick start's committed copy of the protocol's) instead
of training it; its students' runs are filed under its sha256. CPU training
is deterministic per machine, not across machines: compare runs made on
one machine (docs/results.md).

The smoke-test budget (default) runs the configs of configs/quickstart/,
with a teacher trained once per budget (seed 0)::

    python tools/benchmark.py [--methods KD RRD ...] [--seeds 0 1 2] \\
        [--train-size 6000] [--test-size 2000] [--epochs 3]

CIFAR-100 or ImageNet: name the configs (a method trained in stages lists
its stage configs joined by ``,``); the configs' own teacher checkpoints
and schedules are used unless overridden::

    python tools/benchmark.py --dataset cifar100 \\
      --config student=configs/teachers/resnet8x4_1xb64_cifar100.py \\
      --config KD=configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py \\
      --config RRD=configs/rrd/rrd_resnet32x4_resnet8x4_1xb64_cifar100.py \\
      --baseline student KD --seeds 0 1 2 --data-root data/cifar100
"""
import argparse
import hashlib
import json
import logging
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time
import traceback

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, REPO)
import relkd_mm  # noqa: E402,F401  (compat patches before mm* imports)
from mmengine.logging import MMLogger, print_log  # noqa: E402

from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST  # noqa: E402
from relkd_mm.utils.console import RunProgress  # noqa: E402
from relkd_mm.utils.cli import DictAction  # noqa: E402
from relkd_mm.utils.staged_run import (  # noqa: E402
    StageConfigs, StagedRun, last_checkpoint)
from tools.benchmarks import protocol  # noqa: E402
from tools.benchmarks.methods import Row  # noqa: E402
from tools.benchmarks.quick_runs import (  # noqa: E402
    RUNS, TEACHER, budget_options, check_fashion_mnist, config_paths,
    missing_configs)
from tools.benchmarks.report import markdown_table, mean_std  # noqa: E402
# isort: on


def fetch_fashion_mnist(data_root):
    """Install Debian's Fashion-MNIST when the default folder lacks it (as
    the quick start's first command does; the script does nothing when the
    files are there), then check ``data_root``."""
    if data_root == DEBIAN_FASHION_MNIST:
        subprocess.run(['bash', osp.join(osp.dirname(osp.abspath(__file__)),
                                         'fetch_fashion_mnist.sh')])
    check_fashion_mnist(data_root)


FMNIST_BUDGET = dict(train_size=6000, test_size=2000, epochs=3)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train and test methods x seeds; write a markdown '
        'table (mean +- std top-1) and a plot.',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument(
        '--dataset', default='fashion-mnist',
        help='name used in the output folder and table title; '
        '"fashion-mnist" (default) runs configs/quickstart/, any other '
        'needs --config')
    parser.add_argument(
        '--protocol', choices=['fmnist-lowdata'],
        help='run a named protocol instead of a budget (see above)')
    parser.add_argument(
        '--no-test', action='store_true',
        help='protocol only: validation split only (tuning); the test set '
        'is left for the final configurations')
    parser.add_argument(
        '--report-only', action='store_true',
        help='protocol only: train and test nothing; report the runs that '
        'are finished')
    parser.add_argument(
        '--stage-split', type=float, nargs='+', metavar='SHARE',
        help='protocol only: shares of the student epochs of each stage of '
        'a staged method (e.g. 0.25 0.75); options addressed to one stage '
        'are given as --cfg-options stage2.KEY=VALUE')
    parser.add_argument(
        '--export-teacher', metavar='PATH',
        help='protocol only: also write a weights-only copy of the cached '
        'main teacher to PATH (how the quick start\'s committed teacher '
        'was made)')
    parser.add_argument(
        '--ablations', action='store_true',
        help='protocol only: also the ablation rows (VRM in the paper\'s '
        'order; RRD and VRM with and without KD), with a table each')
    parser.add_argument(
        '--suite', choices=['evidence'],
        help='protocol only: every table of docs/results.md (four pairs, '
        'the data-size curve, the shifted cross-task students), then the '
        'summary across them (evidence.md, evidence.png); --seeds, '
        '--no-test and --report-only apply to each')
    parser.add_argument(
        '--pair', default=protocol.MAIN_PAIR, choices=list(protocol.PAIRS),
        help='protocol only: the teacher -> student pair (default the '
        'main pair, where presets are chosen; the others use them '
        'unchanged)')
    parser.add_argument(
        '--shift', type=int, default=None, metavar='K',
        help='protocol only: the cross-task students learn classes K..K+4 '
        '(the teacher knows 0-4: 5-K classes overlap; 0 is ordinary KD, '
        'with a KD row); default 5, disjoint')
    parser.add_argument(
        '--val-size', type=int, default=None,
        help='protocol only: held-out validation images (the protocol\'s '
        'is 10000; smaller only for smoke tests on tiny data)')
    parser.add_argument(
        '--methods', nargs='+', metavar='NAME',
        help='Fashion-MNIST rows to run; default: all. Smoke-test budget: '
        'substrings of the row names (e.g. "alone" KD RRD). --protocol: '
        'whole row names, any case (e.g. "student alone" KD@2B "REFILLED '
        '(classes 5-9)"; a cross-task row may be named by its --shift\'s '
        'classes, "REFILLED (classes 1-5)"), since KD is part of four')
    parser.add_argument(
        '--config', action='append', default=[], metavar='NAME=CFG[,CFG2]',
        help='a method of your own: its name and config(s); repeat it. '
        'Replaces the Fashion-MNIST rows')
    parser.add_argument(
        '--baseline', nargs='+', default=None, metavar='NAME',
        help='names of the --config methods that are baselines')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument(
        '--train-size', type=int,
        help='first N training images (Fashion-MNIST default 6000, '
        'otherwise the whole set)')
    parser.add_argument(
        '--test-size', type=int,
        help='first N test images (Fashion-MNIST default 2000, otherwise '
        'the whole set)')
    parser.add_argument(
        '--epochs', type=int,
        help='training epochs (Fashion-MNIST default 3, otherwise the '
        "config's schedule)")
    parser.add_argument(
        '--data-root',
        help=f'dataset folder (Fashion-MNIST default {DEBIAN_FASHION_MNIST})')
    parser.add_argument(
        '--teacher-ckpt',
        help='teacher checkpoint for every distiller (Fashion-MNIST: '
        'trained by the benchmark when not given). --protocol: the main '
        'teacher (wrn_16_2) instead of training it, e.g. '
        'checkpoints/fmnist/wrn-16-2_fmnist-lowdata.pth; pairs with '
        'another teacher network train theirs')
    parser.add_argument(
        '--work-dir', default=osp.join(REPO, 'work_dirs', 'benchmark'),
        help='parent folder of the runs; default work_dirs/benchmark')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='key=value overrides for every run (and the teacher)')
    args = parser.parse_args(argv)
    if args.protocol and (args.config or args.test_size or args.dataset !=
                          'fashion-mnist'):
        parser.error(f'--protocol {args.protocol} defines its data and test '
                     'set: drop --config, --test-size and --dataset.')
    if args.suite and (args.methods or args.train_size or args.shift
                       is not None or args.pair != protocol.MAIN_PAIR):
        parser.error('--suite evidence sets the rows, pairs, sizes and '
                     'shifts of each table: drop --methods, --train-size, '
                     '--shift and --pair.')
    if (args.no_test or args.ablations or args.export_teacher or
            args.suite) and not args.protocol:
        parser.error('--no-test, --ablations, --export-teacher and --suite '
                     'need --protocol.')
    if args.dataset != 'fashion-mnist' and not args.config:
        parser.error(f'--dataset {args.dataset} needs the methods\' configs: '
                     'pass --config NAME=CONFIG for each method.')
    bad = [s for s in args.seeds if not 0 <= s < 2**32]
    if bad:
        # Checked here, before any folder is made: numpy and MMEngine take
        # seeds in [0, 2**32).
        parser.error(f'--seeds {" ".join(map(str, args.seeds))}: '
                     f'{", ".join(map(str, bad))} outside [0, 2**32): pass '
                     'seeds such as --seeds 0 1 2.')
    repeated = sorted({s for s in args.seeds if args.seeds.count(s) > 1})
    if repeated:
        # A repeated seed reruns the same run: n and the std would be made
        # up (seeds 0 0 reported "seeds 2, +- 0.00").
        parser.error(f'--seeds {" ".join(map(str, args.seeds))}: seed(s) '
                     f'{", ".join(map(str, repeated))} given twice; each '
                     'seed is one run, and a repeated one would count the '
                     'same run twice in the mean and std. Pass distinct '
                     'seeds, e.g. --seeds '
                     f'{" ".join(map(str, sorted(set(args.seeds))))}.')
    if args.config and args.methods:
        parser.error('--methods selects Fashion-MNIST rows; with --config '
                     'list exactly the methods you want instead.')
    return args


def parse_config_methods(specs, baselines):
    methods = []
    for spec in specs:
        name, sep, cfgs = spec.partition('=')
        if not sep or not name or not cfgs:
            raise SystemExit(f'--config {spec!r}: use NAME=CONFIG or '
                             'NAME=STAGE1_CONFIG,STAGE2_CONFIG.')
        methods.append(Row(name, tuple(
            osp.abspath(c) for c in cfgs.split(',')), spec,
            name in (baselines or ())))
    unknown = set(baselines or ()) - {m.name for m in methods}
    if unknown:
        raise SystemExit(f'--baseline {sorted(unknown)}: not among the '
                         f'--config names {[m.name for m in methods]}.')
    return methods


def select_methods(args):
    if args.config:
        return parse_config_methods(args.config, args.baseline)
    if not args.methods:
        return list(RUNS)
    chosen = [m for m in RUNS
              if any(o.lower() in m.name.lower() for o in args.methods)]
    if not chosen:
        raise SystemExit(f'--methods {args.methods}: no row matches; rows '
                         f'are {[m.name for m in RUNS]}.')
    return chosen


def slug(name):
    return re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')


def budget(args):
    """The budget's --cfg-options (without the seed) and its folder name."""
    fmnist = args.dataset == 'fashion-mnist'
    sizes = {k: getattr(args, k) if getattr(args, k) is not None else
             (FMNIST_BUDGET[k] if fmnist else None) for k in FMNIST_BUDGET}
    data_root = args.data_root or (DEBIAN_FASHION_MNIST if fmnist else None)
    options = budget_options(sizes['train_size'], sizes['test_size'],
                             sizes['epochs'], None, data_root,
                             cosine_t_max=fmnist)
    options.update(args.cfg_options)
    key = hashlib.sha1(json.dumps(
        [options, args.teacher_ckpt, sorted(args.config)], sort_keys=True,
        default=str).encode()).hexdigest()[:8]
    name = '-'.join(f'{k.split("_")[0]}{v}' for k, v in sizes.items()
                    if v is not None)
    folder = f'{args.dataset}-{name}-{key}' if name else \
        f'{args.dataset}-{key}'
    return sizes, data_root, options, folder


class Benchmark:
    """The runs of one budget, their results and the table."""

    def __init__(self, args):
        self.bar = None  # the RunProgress while runs train
        self.args = args
        self.methods = select_methods(args)
        self.sizes, self.data_root, self.options, folder = budget(args)
        self.root = osp.join(args.work_dir, folder)
        os.makedirs(self.root, exist_ok=True)
        self.logger = MMLogger.get_instance(
            f'relkd_mm_benchmark_{time.time_ns()}', logger_name='benchmark',
            log_file=osp.join(self.root, 'benchmark.log'),
            log_level='INFO', file_mode='a')

    def log(self, msg, level=logging.INFO):
        print_log(msg, logger=self.logger, level=level)

    def run_dir(self, method, seed):
        return osp.join(self.root, slug(method.name), f'seed{seed}')

    def _train(self, method, work_dir, options, teacher_ckpt):
        """One run, resumed from its last checkpoint if it has one."""
        done = osp.join(work_dir, 'result.json')
        if osp.isfile(done):
            with open(done) as f:
                return json.load(f), 'skipped'
        resumed = any(last_checkpoint(d) for d in
                      [work_dir] + [osp.join(work_dir, f'stage{k + 1}')
                                    for k in range(len(method.configs))])
        configs = StageConfigs(config_paths(method), options,
                               teacher_ckpt=teacher_ckpt)
        result = StagedRun(method.name, configs, work_dir,
                           progress=self.bar).train(resume=True)
        result['seed'] = options.get('randomness.seed')
        with open(done, 'w') as f:
            json.dump(result, f, indent=1)
        return result, 'resumed' if resumed else 'trained'

    def teacher(self):
        """Fashion-MNIST's teacher, trained once per budget (seed 0)."""
        if self.args.teacher_ckpt or self.args.config:
            return self.args.teacher_ckpt
        work_dir = osp.join(self.root, 'teacher')
        result, how = self._train(TEACHER, work_dir,
                                  dict(self.options,
                                       **{'randomness.seed': 0}), None)
        self.log(f'teacher: {how}, top-1 {result["top1"]:.2f}')
        return last_checkpoint(work_dir)

    def run(self):
        args = self.args
        if args.dataset == 'fashion-mnist':
            fetch_fashion_mnist(self.data_root)
        missing = {m.name: missing_configs(m) for m in self.methods}
        for name, paths in missing.items():
            if paths:
                self.log(f'{name}: {osp.relpath(paths[0], REPO)} does not '
                         'exist, skipped.', logging.WARNING)
        methods = [m for m in self.methods if not missing[m.name]]
        self.log(f'Benchmark on {args.dataset}: {self.describe_budget()}; '
                 f'{len(methods)} methods x seeds {args.seeds}; results in '
                 f'{self.root}')
        # Seed-major: an interrupted benchmark has every method's first
        # seeds rather than every seed of the first methods.
        runs = [(m, s) for s in args.seeds for m in methods]
        todo = [(m, s) for m, s in runs if not osp.isfile(
            osp.join(self.run_dir(m, s), 'result.json'))]
        if len(todo) < len(runs):
            self.log(f'{len(runs) - len(todo)} of {len(runs)} runs are '
                     'finished already: skipped.')
        failed = []
        with RunProgress() as self.bar:
            teacher_ckpt = self.teacher() if todo else None
            overall = self.bar.progress.add_task('all runs', total=len(todo))
            for method, seed in todo:
                options = dict(self.options, **{'randomness.seed': seed})
                try:
                    result, how = self._train(
                        method, self.run_dir(method, seed), options,
                        teacher_ckpt)
                except Exception:  # report, keep the other runs going
                    failed.append((method.name, seed))
                    self.log(f'{method.name} seed {seed} failed:\n'
                             f'{traceback.format_exc()}', logging.ERROR)
                else:
                    self.log(f'{method.name} seed {seed}: {how}, top-1 '
                             f'{result["top1"]:.2f} in '
                             f'{result["seconds"]:.0f} s')
                self.bar.progress.advance(overall)
        self.bar = None
        rows = self.collect(methods)
        table = self.table(rows)
        self.write(rows, table)
        self.log('\n' + table)
        if failed:
            self.log(f'{len(failed)} runs failed: {failed}; re-run the same '
                     'command to retry them.', logging.ERROR)
        return 1 if failed else 0

    def describe_budget(self):
        s = self.sizes
        return ', '.join([
            f'first {s["train_size"]} training images'
            if s['train_size'] else 'all training images',
            f'first {s["test_size"]} test images'
            if s['test_size'] else 'all test images',
            f'{s["epochs"]} epochs' if s['epochs'] else
            "the configs' schedules"])

    def collect(self, methods):
        rows = []
        for method in methods:
            results = []
            for seed in self.args.seeds:
                path = osp.join(self.run_dir(method, seed), 'result.json')
                if osp.isfile(path):
                    with open(path) as f:
                        results.append(json.load(f))
            rows.append(dict(method=method, results=results,
                             **mean_std([r['top1'] for r in results])))
        return rows

    def table(self, rows):
        base = next((r for r in rows if r['method'].baseline and
                     r['results']), None)
        cells = []
        for row in rows:
            res = row['results']
            name = row['method'].name + (
                ' (baseline)' if row['method'].baseline else '')
            if not res:
                cells.append([name, '-', '-', 0, '-', '-'])
                continue
            std = f' +- {row["std"]:.2f}' if len(res) > 1 else ''
            delta = f'{row["mean"] - base["mean"]:+.2f}' if base else '-'
            per_seed = ', '.join(f'{r["top1"]:.2f}' for r in res)
            secs = statistics.fmean(r['seconds'] for r in res)
            cells.append([name, f'{row["mean"]:.2f}{std}', delta, len(res),
                          per_seed, f'{secs:.0f}'])
        headers = ['method', 'top-1', 'vs ' + (
            base['method'].name if base else 'baseline'), 'seeds',
            'per seed', 's/run']
        return (f'{self.args.dataset} test top-1 (%), '
                f'{self.describe_budget()}, seeds {self.args.seeds}; mean '
                '+- sample std over seeds.\n\n' +
                markdown_table(headers, cells))

    def write(self, rows, table):
        with open(osp.join(self.root, 'results.md'), 'w') as f:
            f.write(table)
        summary = dict(
            dataset=self.args.dataset, budget=self.sizes,
            seeds=self.args.seeds, options=self.options,
            rows=[dict(method=r['method'].name,
                       configs=list(r['method'].configs),
                       baseline=r['method'].baseline, mean=r['mean'],
                       std=r['std'], runs=r['results']) for r in rows])
        with open(osp.join(self.root, 'results.json'), 'w') as f:
            json.dump(summary, f, indent=1, default=str)
        self.plot(rows)

    def plot(self, rows):
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        rows = [r for r in rows if r['results']]
        fig, ax = plt.subplots(figsize=(1.4 * len(rows) + 2, 3.5))
        for i, row in enumerate(rows):
            color = 'tab:gray' if row['method'].baseline else 'tab:blue'
            ax.bar(i, row['mean'], yerr=row['std'], color=color, alpha=0.6,
                   capsize=4)
            ax.plot([i] * len(row['results']),
                    [r['top1'] for r in row['results']], 'k.', ms=4)
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels([r['method'].name for r in rows], rotation=20,
                           ha='right')
        values = [r['top1'] for row in rows for r in row['results']]
        if values:
            ax.set_ylim(max(0, min(values) - 3), min(100, max(values) + 2))
        ax.set_ylabel('test top-1 (%)')
        ax.set_title(f'{self.args.dataset}: mean +- std over seeds '
                     f'{self.args.seeds} (grey: baselines)', fontsize=9)
        fig.tight_layout()
        fig.savefig(osp.join(self.root, 'results.png'), dpi=120)
        plt.close(fig)


def run_protocol(args):
    """``--protocol fmnist-lowdata``: tools.benchmarks.protocol does the
    runs; this writes the report."""
    root = osp.join(args.work_dir, args.protocol)
    os.makedirs(root, exist_ok=True)
    logger = MMLogger.get_instance(
        f'relkd_mm_protocol_{time.time_ns()}', logger_name='benchmark',
        log_file=osp.join(root, 'benchmark.log'), log_level='INFO',
        file_mode='a')
    arms = protocol.ARMS
    if args.methods:
        try:
            arms = protocol.arms_named(args.methods)
        except ValueError as err:
            raise SystemExit(f'--methods {err}') from None
    if args.ablations:
        arms = protocol.with_ablations(arms)
    data_root = args.data_root or DEBIAN_FASHION_MNIST
    fetch_fashion_mnist(data_root)
    train_size = args.train_size or protocol.TRAIN_SIZE
    runner = protocol.Protocol(
        root, data_root,
        train_size=train_size,
        epochs=args.epochs or protocol.size_epochs(train_size),
        seeds=args.seeds, arms=arms,
        test=not args.no_test, options=args.cfg_options,
        log=lambda msg: print_log(msg, logger=logger),
        val_size=args.val_size or protocol.VAL_SIZE,
        stage_split=args.stage_split, pair=args.pair, shift=args.shift,
        teacher_ckpt=args.teacher_ckpt)
    with RunProgress() as runner.bar:
        teachers, results = runner.run(report_only=args.report_only)
    runner.bar = None
    if args.export_teacher:
        info = teachers.get('main') or runner.teacher('main', train=False)
        if info is None:
            raise SystemExit('--export-teacher: the main teacher is not '
                             'trained yet; run without --report-only.')
        digest = protocol.export_weights(
            info['checkpoint'], args.export_teacher, config=info['config'],
            val_top1=info['val_top1'], test_top1=info['test_top1'],
            source_sha256=info['sha256'])
        print_log(f'main teacher written to {args.export_teacher} (weights '
                  f'only), sha256 {digest}', logger=logger)
    report = runner.report(teachers, results)
    name = 'results' if runner.test else 'validation'
    key = hashlib.sha1(json.dumps(
        [[a.name for a in arms], args.seeds, args.cfg_options,
         runner.train_size, runner.epochs, args.stage_split] +
        ([args.pair] if args.pair != protocol.MAIN_PAIR else []) +
        ([f'shift{args.shift}'] if args.shift is not None else []),
        sort_keys=True,
        default=str).encode()).hexdigest()[:8]
    path = osp.join(root, f'{name}-{key}.md')
    with open(path, 'w') as f:
        f.write(report)
    with open(path[:-3] + '.json', 'w') as f:
        json.dump(dict(teachers=teachers, results=results,
                       options=args.cfg_options), f, indent=1, default=str)
    runner.plot(results, path[:-3] + '.png',
                'test' if runner.test else 'val')
    print_log('\n' + report + f'\n(written to {path})', logger=logger)
    return teachers, results


def run_evidence(args):
    """``--suite evidence``: every table of docs/results.md's evidence
    (pairs, data sizes, shifted tasks; protocol.evidence_tables), each a
    protocol run of its own, then the summary across them."""
    collected, teachers = [], {}
    for table in protocol.evidence_tables():
        sub = argparse.Namespace(**vars(args))
        sub.methods = list(table.rows)
        sub.pair = table.kwargs.get('pair', protocol.MAIN_PAIR)
        sub.train_size = table.kwargs.get('train_size', args.train_size)
        sub.shift = table.kwargs.get('shift')
        print_log(f'evidence: {table.kind} {table.label}', logger='current')
        used, results = run_protocol(sub)
        for info in used.values():  # a teacher counts once, where first
            if info and info['sha256'] not in teachers:
                teachers[info['sha256']] = (f'teacher ({table.label})', info)
        collected.append((table, results))
    root = osp.join(args.work_dir, args.protocol)
    split = 'val' if args.no_test else 'test'
    summary = protocol.summary_table(collected, split) + \
        '\n\nCPU time (one thread a run; two runs at a time on 2 cores take ' \
        'half the wall time):\n\n' + \
        protocol.cpu_time_table(collected, teachers)
    with open(osp.join(root, 'evidence.md'), 'w') as f:
        f.write(summary)
    protocol.plot_summary(collected, osp.join(root, 'evidence.png'), split)
    print(summary + f'\n(written to {osp.join(root, "evidence.md")})')
    return 0


def main(argv=None):
    args = parse_args(argv)
    if args.suite:
        return run_evidence(args)
    if args.protocol:
        run_protocol(args)
        return 0
    return Benchmark(args).run()


if __name__ == '__main__':
    sys.exit(main())

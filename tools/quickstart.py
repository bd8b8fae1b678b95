"""The quick start: a real distillation on Fashion-MNIST in minutes on CPU.

Distils from a strong teacher committed with the repository (the
fmnist-lowdata protocol's wrn_16_2, checked against its sha256; see
checkpoints/fmnist/README.md), the student alone and the student distilled
by each method at the protocol's presets (configs/fmnist_lowdata/), and
prints a table of test accuracies with each method's gain over the student
alone. Every run is an ordinary MMEngine run of an ordinary config: open the
configs to see what a method needs, and the work_dirs for logs and
checkpoints. One seed on a subset: a demonstration; the evidence (seeds,
held-out selection, intervals) is docs/results.md.

    python tools/quickstart.py [--train-size N] [--epochs E] [--only NAME ...]
                               [--teacher-ckpt PATH | --train-teacher]
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, REPO)
import relkd_mm  # noqa: E402,F401  (compat patches before mm* imports)
from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST  # noqa: E402
from relkd_mm.utils.console import RunProgress  # noqa: E402
from relkd_mm.utils.staged_run import StageConfigs, StagedRun  # noqa: E402
from tools.benchmarks import protocol  # noqa: E402
from tools.benchmarks.quick_runs import (  # noqa: E402
    TEACHER, budget_options, check_fashion_mnist, committed_teacher,
    config_paths, test_checkpoint)
from tools.benchmarks.report import markdown_table  # noqa: E402
# isort: on

#: The teacher committed with the repository (its sha256:
#: tools.benchmarks.quick_runs.QUICKSTART_TEACHER_SHA256).
QUICKSTART_TEACHER = osp.join(REPO, 'checkpoints', 'fmnist',
                              'wrn-16-2_fmnist-lowdata.pth')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=DEBIAN_FASHION_MNIST)
    parser.add_argument('--train-size', type=int, default=6000,
                        help='first N training images (default 6000)')
    parser.add_argument('--test-size', type=int, default=2000,
                        help='first N test images (default 2000)')
    parser.add_argument('--epochs', type=int, default=4,
                        help='student epochs; a two-stage method splits '
                        'them as the protocol does (default 4)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs',
                                                       'quickstart'))
    parser.add_argument('--only', nargs='+', metavar='NAME',
                        help='run only these rows (e.g. KD RRD); the student '
                        'alone always runs (the gains are against it)')
    teacher = parser.add_mutually_exclusive_group()
    teacher.add_argument(
        '--teacher-ckpt', default=QUICKSTART_TEACHER,
        help='the teacher to distil from (default: the committed '
        'fmnist-lowdata teacher, checked against its sha256)')
    teacher.add_argument(
        '--train-teacher', action='store_true',
        help='train a small teacher on the subset instead (cached), as '
        'earlier versions did: a weak teacher, little to distil')
    return parser.parse_args(argv)


def teacher_row(args, options, bar):
    """The teacher's result on the quick start's test images, and its
    checkpoint."""
    cfg = config_paths(TEACHER)[0]
    stem = osp.splitext(osp.basename(cfg))[0]
    if not args.train_teacher:
        ckpt = args.teacher_ckpt
        if osp.abspath(ckpt) == QUICKSTART_TEACHER:
            committed_teacher(ckpt)
        elif not osp.isfile(ckpt):
            sys.exit(f'--teacher-ckpt {ckpt}: no such file.')
        bar.progress.console.print(
            f'- {TEACHER.name}: {osp.relpath(ckpt, REPO)}')
        result = test_checkpoint(TEACHER.name, cfg, ckpt,
                                 osp.join(args.work_dir, stem), options,
                                 progress=bar)
        result['note'] = 'committed (checkpoints/fmnist/README.md)' if \
            osp.abspath(ckpt) == QUICKSTART_TEACHER else 'given'
        return result, ckpt
    # Cached: keyed by the config and the budget, trained once.
    key = hashlib.sha1((open(cfg).read() + json.dumps(
        options, sort_keys=True)).encode()).hexdigest()
    work_dir = osp.join(args.work_dir, f'{stem}-{key[:10]}')
    cache = osp.join(work_dir, 'result.json')
    if osp.isfile(cache):
        with open(cache) as f:
            result = json.load(f)
        bar.progress.console.print(f'- {TEACHER.name}: cached in {work_dir}')
    else:
        result = StagedRun(TEACHER.name, StageConfigs([cfg], options),
                           work_dir, progress=bar).train()
        with open(cache, 'w') as f:
            json.dump(result, f)
    result['note'] = 'trained on the subset'
    return result, osp.join(work_dir, f'epoch_{args.epochs}.pth')


def table(teacher, results):
    base = next(r for r in results if r['name'] == 'student alone')['top1']
    rows = []
    for r in [teacher] + results:
        gain = '' if r is teacher or r['name'] == 'student alone' else \
            f'{r["top1"] - base:+.2f}'
        epochs = '+'.join(str(e) for e in r.get('stage_epochs', ['-']))
        rows.append([r['name'], f'{r["top1"]:.2f}', gain, epochs,
                     f'{r["seconds"]:.0f}s', ', '.join(r['configs'])])
    # Padded: the table is read on the console as well.
    return markdown_table(
        ['run', 'top-1', 'vs alone', 'epochs', 'time', 'config'], rows,
        'lrrrrl', pad=True)


def main(argv=None):
    args = parse_args(argv)
    check_fashion_mnist(args.data_root)
    options = budget_options(args.train_size, args.test_size, args.epochs,
                             args.seed, args.data_root)
    print(f'Fashion-MNIST from {args.data_root}: first {args.train_size} '
          f'training images, first {args.test_size} test images, '
          f'{args.epochs} student epochs, seed {args.seed}, CPU '
          f'({os.cpu_count()} cores).', flush=True)
    arms = [a for a in protocol.ARMS
            if a.task == 'main' and a.name not in protocol.CONTROLS and (
                not args.only or not a.teacher or any(
                    o.lower() in a.name.lower() for o in args.only))]
    results = []
    # Each run's log file keeps every message; the console shows a bar per
    # run and what is worth reading.
    with RunProgress() as bar:
        teacher, teacher_ckpt = teacher_row(args, options, bar)
        bar.progress.console.print(
            f'  teacher top-1 {teacher["top1"]:.2f}')
        for arm in arms:
            stages = protocol.stage_epochs(arm, args.epochs)
            stage_options = [{'train_cfg.max_epochs': e,
                              'param_scheduler.T_max': e} for e in stages]
            cfgs = protocol.Protocol.config_paths(arm)
            stem = osp.splitext(osp.basename(cfgs[-1]))[0]
            configs = StageConfigs(
                cfgs, options, stage_options,
                teacher_ckpt=teacher_ckpt if arm.teacher else None)
            result = StagedRun(arm.name, configs,
                               osp.join(args.work_dir, stem),
                               progress=bar).train()
            result.update(note=arm.note, stage_epochs=stages)
            results.append(result)
            bar.progress.console.print(
                f'  {arm.name}: top-1 {result["top1"]:.2f} in '
                f'{result["seconds"]:.0f} s')

    print(f'\nFashion-MNIST test top-1 (%) on the first {args.test_size} '
          'test images; every student on the same subset, seed and number '
          'of epochs; "vs alone": the gain over the student alone '
          '(one seed: see docs/results.md for the intervals):')
    print(table(teacher, results), end='')


if __name__ == '__main__':
    main()

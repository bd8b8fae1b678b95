"""What do VRM's relations change in a student beyond KD on the same two
views? The diagnostic beside docs/results.md's "VRM+KD over KD@2B" tables.

For each finished fmnist-lowdata run of the rows named (the main pair;
seeds given), the student and its teacher see the validation split once
(real views, batches of the protocol's 64) and the student is measured on
what each loss asks of it:

* ``KL(T||S)``: KD's objective (temperature 4), mean per image;
* ``top-1 agreement``: how often the student's class is the teacher's;
* ``inter-sample`` / ``inter-class``: VRM's mean edge discrepancy of each
  graph (``VRMLoss.agreement``: the preset's z-scored logits, every edge,
  no pruning), the quantity VRM's loss minimises.

Then per row: mean +- std over seeds and, against the first row (KD@2B by
default), the paired difference with its 95% interval. Nothing is
trained, and the test set is not read::

    python tools/analysis/vrm_relations.py --seeds 0 1 2 \\
        [--rows KD@2B "VRM+KD: inter-sample graph" VRM+KD] \\
        [--work-dir work_dirs/benchmark/fmnist-lowdata] [--teacher-ckpt PATH]
"""
import argparse
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
import relkd_mm  # noqa: E402,F401 isort:skip
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402

from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST  # noqa: E402
from relkd_mm.models.losses import VRMLoss  # noqa: E402
from relkd_mm.runner.checkpoint import load_checkpoint_file  # noqa: E402
from tools.benchmarks import protocol  # noqa: E402
from tools.benchmarks import report  # noqa: E402

ROWS = ('KD@2B', 'VRM+KD: inter-sample graph', 'VRM+KD: inter-class graph',
        'VRM+KD', 'VRM')
#: (key, column, decimals)
METRICS = (('val_top1', 'val top-1', 2), ('kl', 'KL(T||S), T=4', 4),
           ('agree', 'top-1 agreement (%)', 2),
           ('is', 'inter-sample discrepancy', 4),
           ('ic', 'inter-class discrepancy', 4))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rows', nargs='+', default=list(ROWS),
                        help='protocol rows; the first is the reference')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--data-root', default=DEBIAN_FASHION_MNIST)
    parser.add_argument('--val-size', type=int, default=protocol.VAL_SIZE)
    parser.add_argument(
        '--work-dir',
        default=osp.join(REPO, 'work_dirs', 'benchmark', 'fmnist-lowdata'),
        help='the protocol\'s folder, with the finished runs')
    parser.add_argument(
        '--teacher-ckpt',
        help='the main teacher the runs were given (benchmark.py '
        '--teacher-ckpt), e.g. checkpoints/fmnist/wrn-16-2_fmnist-lowdata'
        '.pth; default the protocol\'s cached one')
    parser.add_argument('--out', help='Markdown file (default: in --work-dir)')
    return parser.parse_args(argv)


def relation_metrics(student, teacher, dataloader, preprocess, tau=4.0):
    """Means over ``dataloader`` of :data:`METRICS` (but the accuracy)
    of ``student`` against ``teacher`` (modules returning logits)."""
    graphs = VRMLoss(prune='none')
    sums = dict(kl=0.0, agree=0.0, is_=0.0, ic=0.0)
    images = batches = 0
    with torch.no_grad():
        for data in dataloader:
            inputs = preprocess(data, False)['inputs']
            logits_S = student(inputs, mode='tensor')
            logits_T = teacher(inputs, mode='tensor')
            sums['kl'] += float(F.kl_div(
                F.log_softmax(logits_S / tau, 1),
                F.log_softmax(logits_T / tau, 1), log_target=True,
                reduction='sum'))
            sums['agree'] += float(
                (logits_S.argmax(1) == logits_T.argmax(1)).sum())
            agreement = graphs.agreement(logits_S, logits_T)
            sums['is_'] += float(agreement['is_discrepancy'])
            sums['ic'] += float(agreement['ic_discrepancy'])
            images += len(inputs)
            batches += 1
    return dict(kl=sums['kl'] / images, agree=100.0 * sums['agree'] / images,
                is_=sums['is_'] / batches, ic=sums['ic'] / batches)


def measure(bench, arm, seed, teachers):
    """The metrics of one finished run, or None when it is not finished."""
    result = bench.finished(arm, seed, teachers)
    if result is None:
        return None
    cfg = Config.fromfile(bench.config_paths(arm)[-1])
    bench.prepare(cfg, False)
    cfg.model.teacher_ckpt = teachers[arm.teacher]['checkpoint']
    cfg.work_dir = osp.join(bench.work_dir, 'relations', protocol.slug(
        arm.name), f'seed{seed}')
    cfg.log_level = 'WARNING'
    runner = RUNNERS.build(cfg)
    model = runner.model
    state = load_checkpoint_file(result['checkpoint'], map_location='cpu')
    # The protocol's checkpoints leave the frozen teacher out
    # (TeacherCheckpointHook); it was loaded from teacher_ckpt above.
    missing, unexpected = model.load_state_dict(state['state_dict'],
                                                strict=False)
    if unexpected or any(not k.startswith('teacher.') for k in missing):
        raise RuntimeError(f'{result["checkpoint"]}: does not fit {arm.name}'
                           f' (missing {missing}, unexpected {unexpected}).')
    model.eval()
    out = relation_metrics(model.student, model.teacher,
                           runner.val_dataloader, model.data_preprocessor)
    out['val_top1'] = result['val_top1']
    out['is'] = out.pop('is_')
    return out


def table(measured, rows):
    """Markdown: per row, each metric's mean +- std and its paired
    difference against the first row."""
    reference = measured[rows[0]]
    out = []
    for name in rows:
        values = measured[name]
        if not values:
            continue
        cells = [name, len(values)]
        for key, _, digits in METRICS:
            per_seed = {s: v[key] for s, v in values.items()}
            stats = report.mean_std(per_seed.values())
            cell = f'{stats["mean"]:.{digits}f} +- {stats["std"]:.{digits}f}'
            if name != rows[0]:
                diff = report.paired_difference(
                    per_seed, {s: v[key] for s, v in reference.items()})
                cell += f'; {report.format_difference(diff, digits)}'
            cells.append(cell)
        out.append(cells)
    headers = ['row', 'seeds'] + [m[1] for m in METRICS]
    return report.markdown_table(headers, out, 'lr' + 'r' * len(METRICS))


def main(argv=None):
    args = parse_args(argv)
    bench = protocol.Protocol(args.work_dir, args.data_root,
                              val_size=args.val_size,
                              teacher_ckpt=args.teacher_ckpt)
    arms = protocol.arms_named(args.rows)
    teachers = {key: bench.teacher(key, train=False)
                for key in {a.teacher for a in arms}}
    measured = {}
    for arm in arms:
        measured[arm.name] = {}
        for seed in args.seeds:
            values = measure(bench, arm, seed, teachers)
            if values is None:
                print(f'{arm.name} seed {seed}: not run yet', flush=True)
                continue
            measured[arm.name][seed] = values
            print(f'{arm.name} seed {seed}: ' + ', '.join(
                f'{k} {v:.4g}' for k, v in values.items()), flush=True)
    head = ('What each student matches of its teacher on the validation '
            f'split ({args.val_size} images, real views, batches of 64), '
            'mean +- std over seeds; after ";": the paired difference '
            f'against {arms[0].name} [95% CI]. Lower is closer for the KL '
            'and the discrepancies.\n\n')
    text = head + table(measured, [a.name for a in arms])
    out = args.out or osp.join(args.work_dir, 'vrm_relations.md')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(text)
    with open(out[:-3] + '.json', 'w') as f:
        json.dump(measured, f, indent=1)
    print(text + f'\n(written to {out})')
    return measured


if __name__ == '__main__':
    main()

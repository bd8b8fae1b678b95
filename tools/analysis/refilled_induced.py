"""How good is the classifier a cross-task teacher's embedding induces on
the student's classes? REFILLED's stage 2 pulls the student towards it, so
it bounds what the teacher can give (docs/results.md, cross-task).

For each shift ``k`` of the fmnist-lowdata protocol's cross-task student
(classes ``k .. k+4``; the teacher knows 0-4, so ``5 - k`` classes
overlap), the teacher of classes 0-4 (the protocol's, trained once and
cached) embeds the student's training images; the class centers of those
embeddings (``RefilledCentersHook``, as stage 2 computes them) classify the
validation split by ``RefilledClassifierLoss.induced_logits``. Nothing is
trained but the cached teacher, and the test set is not read. Writes a
Markdown table and a plot of the induced classifier's validation accuracy
against the overlap::

    python tools/analysis/refilled_induced.py --shifts 0 1 2 3 4 5 \\
        [--train-size 5000] [--work-dir work_dirs/benchmark/fmnist-lowdata]
"""
import argparse
import os
import os.path as osp
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
import relkd_mm  # noqa: E402,F401 isort:skip
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402

from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST  # noqa: E402
from relkd_mm.engine.hooks import RefilledCentersHook  # noqa: E402
from relkd_mm.models.algorithms import teacher_forward  # noqa: E402
from tools.benchmarks import protocol  # noqa: E402
from tools.benchmarks.report import markdown_table  # noqa: E402

STAGE2 = 'refilled-s2_wrn-16-2_resnet8_1xb64_fmnist-lowdata-classes5-9.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--shifts', type=int, nargs='+',
                        default=list(range(6)))
    parser.add_argument('--train-size', type=int,
                        default=protocol.TRAIN_SIZE,
                        help='the students\' first N training images')
    parser.add_argument('--data-root', default=DEBIAN_FASHION_MNIST)
    parser.add_argument('--val-size', type=int, default=protocol.VAL_SIZE)
    parser.add_argument(
        '--work-dir',
        default=osp.join(REPO, 'work_dirs', 'benchmark', 'fmnist-lowdata'),
        help='the protocol\'s folder (its cached teacher of classes 0-4 '
        'is used, or trained there once)')
    parser.add_argument('--out', help='Markdown file (default: in --work-dir)')
    return parser.parse_args(argv)


@torch.no_grad()
def induced_accuracy(runner):
    """Centers from the runner's training data, then the induced
    classifier's top-1 on its validation data (%)."""
    model = runner.model
    RefilledCentersHook().before_train(runner)
    name, loss = next(iter(model.distiller.distill_losses.items()))
    mapping = model.distiller.loss_forward_mappings[name]['feats_T']
    correct = total = 0
    model.teacher.eval()
    for data in runner.val_dataloader:
        data = model.data_preprocessor(data, False)
        teacher_forward(model, data['inputs'], deliveries=False)
        labels = torch.cat([s.gt_label for s in data['data_samples']])
        feats = model.distiller.get_record(**mapping)
        logits, _ = loss.induced_logits(feats, labels, 'global')
        correct += int((logits.argmax(1) == labels).sum())
        total += len(labels)
    return 100.0 * correct / total


def main(argv=None):
    args = parse_args(argv)
    bench = protocol.Protocol(args.work_dir, args.data_root,
                              train_size=args.train_size,
                              val_size=args.val_size)
    teacher = bench.teacher('classes0-4')
    rows = []
    for shift in args.shifts:
        start = time.time()
        runner_protocol = protocol.Protocol(
            args.work_dir, args.data_root, train_size=args.train_size,
            val_size=args.val_size, shift=shift)
        cfg = Config.fromfile(osp.join(protocol.CFG_DIR, STAGE2))
        runner_protocol.prepare(cfg, False)
        cfg.model.teacher_ckpt = teacher['checkpoint']
        cfg.work_dir = osp.join(args.work_dir, 'induced', f'shift{shift}')
        cfg.log_level = 'WARNING'
        runner = RUNNERS.build(cfg)
        runner._train_loop = runner.build_train_loop(runner._train_loop)
        runner.model.eval()
        acc = induced_accuracy(runner)
        overlap = max(0, protocol.TASK_CLASSES - shift)
        rows.append([shift, f'{shift}-{shift + 4}', overlap, f'{acc:.2f}',
                     f'{time.time() - start:.0f}'])
        print(f'shift {shift}: induced classifier {acc:.2f}% on val',
              flush=True)
    table = markdown_table(
        ['k', 'student classes', 'classes the teacher knows',
         'induced classifier val top-1', 's'], rows, 'rlrrr')
    head = (f'Induced classifier of the teacher of classes 0-4 (val '
            f'{teacher["val_top1"]:.2f} on its own task), centers from the '
            f'students\' first {args.train_size} training images, on the '
            'validation split:\n\n')
    out = args.out or osp.join(args.work_dir, 'refilled_induced.md')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(head + table)
    plot(rows, out[:-3] + '.png')
    print(head + table + f'\n(written to {out})')
    return rows


def plot(rows, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    ax.plot([r[2] for r in rows], [float(r[3]) for r in rows], 'o-')
    ax.set_xlabel('student classes the teacher knows (5 - k)')
    ax.set_ylabel('induced classifier val top-1 (%)')
    ax.set_title('REFILLED cross-task: what the teacher can give',
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == '__main__':
    main()

# Cost of REFILLED's mining and losses next to one training step of the
# student, on this machine (CPU by default).
#
#   python tools/analysis/benchmark_refilled.py [--batch-sizes 64 256]
#       [--student wrn_16_2] [--device cpu] [--repeat 10]
#
# Rows: semi-hard mining alone (B x B, relkd_mm), the same triplets from the
# B x B x B cube that pytorch-metric-learning's get_all_triplets_indices
# builds (for comparison), the stage-1 and stage-2 losses (forward and
# backward), and a student SGD step (forward, backward, update).
import argparse
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
import relkd_mm  # noqa: E402,F401  (compat patches first)
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmpretrain.registry import MODELS  # noqa: E402

from relkd_mm.models.losses import (RefilledClassifierLoss,  # noqa: E402
                                    RefilledTupleLoss)
from relkd_mm.models.losses.refilled_tuple_loss import \
    mine_semihard_tuples  # noqa: E402
from relkd_mm.models.losses.relation import pairwise_distances  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def timeit(fn, repeat, device):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        if device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2] * 1e3


def cube_triplets(dist, labels, margin):
    same = labels[:, None] == labels[None, :]
    pos = same & ~torch.eye(len(labels), dtype=torch.bool,
                            device=labels.device)
    gap = dist[:, None, :] - dist[:, :, None]
    cube = pos[:, :, None] & ~same[:, None, :] & (gap > 0) & (gap <= margin)
    return cube.nonzero()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--batch-sizes', type=int, nargs='+',
                        default=[64, 256])
    parser.add_argument('--student', default='wrn_16_2')
    parser.add_argument('--num-classes', type=int, default=100)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeat', type=int, default=10)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)

    cfg = Config.fromfile(osp.join(
        ROOT, 'configs/_base_/models/cifar100', f'{args.student}.py'))
    student = MODELS.build(cfg.model).to(device).train()
    optim = torch.optim.SGD(student.parameters(), lr=0.01, momentum=0.9)
    teacher_dim = 128
    print(f'device {device}, {torch.get_num_threads()} threads, student '
          f'{args.student}, {args.num_classes} classes; median of '
          f'{args.repeat} runs, ms')
    header = ('B', 'tuples', 'mine BxB', 'mine BxBxB', 'stage-1 loss',
              'stage-2 loss', 'student step')
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for b in args.batch_sizes:
        labels = torch.randint(0, args.num_classes, (b, ), device=device)
        images = torch.randn(b, 3, 32, 32, device=device)
        # Embeddings taken from a real (random-init) student, so that the
        # tuple count is that of an early training step.
        with torch.no_grad():
            emb = student.extract_feat(images)[-1]
        emb_t = torch.randn(b, teacher_dim, device=device)
        dist = pairwise_distances(F.normalize(emb, dim=1))
        mined = mine_semihard_tuples(dist, labels, 0.2)
        tuples = 0 if mined is None else len(mined[0])

        tuple_loss = RefilledTupleLoss()
        cls_loss = RefilledClassifierLoss(args.num_classes, teacher_dim)
        cls_loss.set_centers(F.normalize(
            torch.randn(args.num_classes, teacher_dim), dim=1))
        cls_loss.to(device)
        logits = torch.randn(b, args.num_classes, device=device)

        def stage1():
            s = emb.clone().requires_grad_(True)
            tuple_loss(s, emb_t, labels).backward()

        def stage2():
            z = logits.clone().requires_grad_(True)
            cls_loss(z, emb_t, labels).backward()

        def step():
            optim.zero_grad()
            losses = student.loss(
                images, [_sample(int(y)) for y in labels.tolist()])
            sum(losses.values()).backward()
            optim.step()

        row = [
            b, tuples,
            timeit(lambda: mine_semihard_tuples(dist, labels, 0.2),
                   args.repeat, device),
            timeit(lambda: cube_triplets(dist, labels, 0.2), args.repeat,
                   device),
            timeit(stage1, args.repeat, device),
            timeit(stage2, args.repeat, device),
            timeit(step, max(3, args.repeat // 3), device),
        ]
        print('| ' + ' | '.join(
            f'{v:.2f}' if isinstance(v, float) else str(v)
            for v in row) + ' |')


def _sample(label):
    from mmpretrain.structures import DataSample
    return DataSample().set_gt_label(label)


if __name__ == '__main__':
    main()

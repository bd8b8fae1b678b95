"""Cost of RRD next to the student's own training step, measured in one run.

Times, alternately and after a warm-up, (a) the student's forward + CE +
backward on a batch of random images and (b) RRD's part of a step: both
embedding heads, ``RRDLoss`` (similarities to the whole memory, the soft
cross-entropy, the memory write) and its backward into the student's pooled
features. Both come from the same config; the ratio of the medians is
printed.

Example::

    python tools/analysis/rrd_cost.py            # resnet32x4 -> resnet8x4
    python tools/analysis/rrd_cost.py CONFIG --batch 64 --repeat 50
"""
import argparse
import os.path as osp
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
# Before any mm* import: relkd_mm applies the compat patches.
import relkd_mm  # noqa: E402,F401 isort:skip
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

DEFAULT = 'configs/rrd/rrd_resnet32x4_resnet8x4_1xb64_cifar100.py'


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--size', type=int, default=32, help='image side')
    parser.add_argument('--repeat', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(REPO, args.config) if not osp.isfile(
        args.config) else args.config)
    cfg.model.teacher_ckpt = None
    cfg.model.data_preprocessor = cfg.data_preprocessor
    algorithm = MODELS.build(cfg.model)
    algorithm.train()
    student = algorithm.student
    heads = algorithm.distiller.connectors
    loss = algorithm.distiller.distill_losses['loss_rrd']
    s_head, t_head = heads['loss_rrd_sfeat'], heads['loss_rrd_tfeat']

    images = torch.randn(args.batch, 3, args.size, args.size)
    samples = [DataSample().set_gt_label(i % 10) for i in range(args.batch)]
    feat_s = torch.randn(args.batch, s_head.dim_in, requires_grad=True)
    feat_t = torch.randn(args.batch, t_head.dim_in)

    def student_step():
        student.zero_grad(set_to_none=True)
        sum(student(images, samples, mode='loss').values()).backward()

    def rrd_step():
        feat_s.grad = None
        s_head.zero_grad(set_to_none=True)
        loss(s_head(feat_s), t_head(feat_t)).backward()

    for _ in range(args.warmup):
        student_step()
        rrd_step()
    times_student, times_rrd = [], []
    for _ in range(args.repeat):
        times_student.append(timed(student_step))
        times_rrd.append(timed(rrd_step))
    t_student = statistics.median(times_student)
    t_rrd = statistics.median(times_rrd)
    print(f'config: {args.config}')
    print(f'batch {args.batch}, {args.size}x{args.size} images, CPU, '
          f'{torch.get_num_threads()} threads, median of {args.repeat}')
    print(f'memory: {loss.queue_size} x {loss.embed_dim}; heads '
          f'{s_head.dim_in} / {t_head.dim_in} -> {loss.embed_dim}')
    print(f'student forward + CE + backward: {1e3 * t_student:8.2f} ms')
    print(f'RRD heads + loss + memory write, forward + backward: '
          f'{1e3 * t_rrd:8.2f} ms')
    print(f'ratio RRD / student step: {t_rrd / t_student:.3f}')


if __name__ == '__main__':
    main()

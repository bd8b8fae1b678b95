"""What DDP's ``find_unused_parameters`` costs per training step.

With it, DDP traverses the autograd graph after every forward pass to find
the parameters that will get no gradient. relkd_mm's configs set it only
where one really gets none (REFILLED stage 1,
``tests/test_configs/test_find_unused_parameters.py``); this measures what
the others save.

``--nprocs`` processes (two by default; gloo on CPU, NCCL with one GPU per
process on CUDA) build the
config's algorithm twice from the same seed and wrap one copy in
``MMDistributedDataParallel`` with ``find_unused_parameters=True``, the
other without, both as the runner does (``broadcast_buffers=False``). Each
round runs one training step (``train_step``: data preprocessor, teacher and
student passes, losses, backward with the gradient all-reduce, optimizer
step) of each, the order alternating, on the same synthetic batch; after
``--warmup`` rounds, ``--repeats`` rounds are timed. Reported by rank 0:
the median step time of each and the median over rounds of the per-round
difference (its inter-quartile range in brackets), so that a change of the
machine's load hits both alike.

Example (CPU, one thread per process)::

    python tools/analysis/ddp_unused_cost.py \\
        configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py \\
        --batch 64 --repeats 30 --threads 1
"""
import argparse
import datetime
import os
import os.path as osp
import socket
import statistics
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
# Before any mm* import: relkd_mm applies the compat patches.
import relkd_mm  # noqa: E402,F401 isort:skip
import torch  # noqa: E402
import torch.distributed as torch_dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.model import MMDistributedDataParallel  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from tools.benchmarks.profiling import quartiles, timed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='a distillation config')
    parser.add_argument('--batch', type=int, default=64,
                        help='images per process and step')
    parser.add_argument('--size', type=int, default=32,
                        help='image height and width')
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=1,
                        help='torch threads per process (CPU)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--nprocs', type=int, default=2,
                        help='DDP processes (1: this process alone, the '
                        'gradient all-reduce over a group of one)')
    parser.add_argument('--timeout', type=float, default=900,
                        help='seconds before the workers are stopped and '
                        'the run fails, naming the step each one reached')
    return parser.parse_args(argv)


def progress(rank, what):
    print(f'[rank {rank}] {what}', file=sys.stderr, flush=True)


def build(cfg, device):
    model_cfg = cfg.model.copy()
    model_cfg.teacher_ckpt = None
    if 'data_preprocessor' not in model_cfg and 'data_preprocessor' in cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    torch.manual_seed(0)
    model = MODELS.build(model_cfg).to(device)
    model.train()
    return model


def make_data(model, batch, size):
    """uint8 images (one tensor per view) and labels, as collated."""
    gen = torch.Generator().manual_seed(torch_dist.get_rank())
    conv = next(m for m in model.student.modules()
                if isinstance(m, torch.nn.Conv2d))
    views = 2 if type(model).__name__ == 'VRMDistill' else 1
    images = [torch.randint(0, 256, (batch, conv.in_channels, size, size),
                            generator=gen, dtype=torch.uint8)
              for _ in range(views)]
    classes = model.student.head.num_classes
    samples = [DataSample().set_gt_label(int(y)) for y in torch.randint(
        0, classes, (batch, ), generator=gen)]
    return dict(inputs=images[0] if views == 1 else images,
                data_samples=samples)


def worker(rank, args, port):
    torch.set_num_threads(args.threads)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    cuda = args.device == 'cuda'
    device = torch.device('cuda', rank) if cuda else torch.device('cpu')
    # A peer that never comes fails the run in minutes, not gloo's 30.
    progress(rank, 'joining the process group')
    torch_dist.init_process_group('nccl' if cuda else 'gloo', rank=rank,
                                  world_size=args.nprocs,
                                  timeout=datetime.timedelta(minutes=3))
    progress(rank, 'in the process group')
    try:
        cfg = Config.fromfile(args.config)
        steps = {}
        for unused in (True, False):
            model = build(cfg, device)
            ddp = MMDistributedDataParallel(
                module=model, device_ids=[rank] if cuda else None,
                broadcast_buffers=False, find_unused_parameters=unused)
            steps[unused] = (ddp, build_optim_wrapper(ddp, cfg.optim_wrapper))
        progress(rank, 'both variants built')
        data = make_data(steps[True][0].module, args.batch, args.size)
        times = {True: [], False: []}
        for r in range(args.warmup + args.repeats):
            for unused in ((True, False) if r % 2 else (False, True)):
                ddp, optim_wrapper = steps[unused]
                t = timed(lambda: ddp.train_step(data, optim_wrapper),
                          device)
                if r >= args.warmup:
                    times[unused].append(t)
            progress(rank, f'round {r + 1} stepped')
        if rank == 0:
            report(args, times)
        # Both DDP reducers go, and every rank reaches this point, before
        # the group does: a rank that left it while its peer still held a
        # reducer hung that peer at exit (1 run in 5 here).
        steps.clear()
        model = ddp = optim_wrapper = None
        torch_dist.barrier()
    finally:
        torch_dist.destroy_process_group()
    progress(rank, 'left the process group')


def report(args, times):
    diffs = [a - b for a, b in zip(times[True], times[False])]
    with_, without = (statistics.median(times[k]) for k in (True, False))
    low, saved, high = quartiles(diffs)
    print(f'{osp.relpath(args.config, REPO)}: {args.nprocs} processes x '
          f'{args.batch} images ({args.size} px), {args.device}, '
          f'{args.threads} thread(s) per process, {args.repeats} rounds')
    print('| find_unused_parameters | step (median, ms) |\n|---|---|')
    print(f'| True | {1e3 * with_:.1f} |\n| False | {1e3 * without:.1f} |')
    print(f'saved per step: {1e3 * saved:.2f} ms [{1e3 * low:.2f}, '
          f'{1e3 * high:.2f}] ({100 * saved / with_:.1f}% of the step)')


def main(argv=None):
    args = parse_args(argv)
    args.config = osp.abspath(args.config)
    if Config.fromfile(args.config).get('find_unused_parameters', False):
        sys.exit(f'{args.config} sets find_unused_parameters = True: a '
                 'parameter gets no gradient there, so DDP cannot run '
                 'without it. Measure a config that leaves it off.')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    if args.nprocs == 1:
        worker(0, args, port)
        return
    # spawn, never fork: a fork of this process (its imports start
    # threads) could leave a worker holding a lock it never releases, and
    # its peer waiting for it in init_process_group (seen in CI).
    context = mp.start_processes(worker, args=(args, port),
                                 nprocs=args.nprocs, start_method='spawn',
                                 join=False)
    deadline = time.monotonic() + args.timeout
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            alive = [r for r, p in enumerate(context.processes)
                     if p.is_alive()]
            for p in context.processes:
                p.kill()
            sys.exit(f'ddp_unused_cost: rank(s) {alive} still running after '
                     f'--timeout {args.timeout:g} s: stopped (their last '
                     '"[rank N]" line above says where they waited).')


if __name__ == '__main__':
    main()

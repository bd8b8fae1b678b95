"""Peak memory and time of VRMLoss's forward + backward: the Gram form that
relkd_mm ships against the naive form that materialises the edge tensors.

Each measurement runs in a fresh subprocess. On CUDA the peak is
``torch.cuda.max_memory_allocated`` above the inputs; on CPU, where torch has
no peak counter, it is the growth of the process's peak resident set size
(``ru_maxrss``) during the first forward + backward, which also counts
allocator overhead. The naive form is only run where its analytic size fits
in ``--max-naive-gb``; otherwise the estimate is reported.

Example::

    python tools/analysis/vrm_memory.py            # CIFAR and ImageNet scale
    python tools/analysis/vrm_memory.py --device cuda --repeat 20
"""
import argparse
import json
import resource
import subprocess
import sys
import time

SCALES = dict(cifar=(64, 100), imagenet=(256, 1000))
# Live edge-sized tensors in the naive form's forward + backward (edge
# differences, their unit vectors for both networks, the student-teacher
# difference and its square, and gradient buffers), per graph.
NAIVE_LIVE_TENSORS = 7


def naive_vrm(preds_s, preds_t, eps=1e-8, zscore_eps=1e-7):
    """VRMLoss's defaults (z-score, all pairs, no pruning: pruning does not
    change the memory) with the edge tensors materialised."""
    import torch

    def standardise(x):
        return (x - x.mean(1, keepdim=True)) / (
            x.std(1, keepdim=True) + zscore_eps)

    def term(vs, vt):
        ia, ib = torch.triu_indices(len(vs), len(vs), 1, device=vs.device)
        ds, dt = vs[ia] - vs[ib], vt[ia] - vt[ib]
        es = ds / ds.norm(dim=1, keepdim=True).clamp_min(eps)
        et = dt / dt.norm(dim=1, keepdim=True).clamp_min(eps)
        return (es - et).pow(2).sum(1).mean()

    vs, vt = standardise(preds_s.float()), standardise(preds_t.float())
    return term(vs, vt) + term(vs.t(), vt.t())


def naive_bytes(batch, num_classes):
    rows = 2 * batch
    edges = (rows * (rows - 1) // 2 * num_classes +
             num_classes * (num_classes - 1) // 2 * rows)
    return 4 * edges * NAIVE_LIVE_TENSORS


def worker(form, batch, num_classes, device, repeat):
    import torch

    import relkd_mm  # noqa: F401
    from relkd_mm.models.losses import VRMLoss

    torch.manual_seed(0)
    preds_s = torch.randn(2 * batch, num_classes, device=device)
    preds_t = torch.randn(2 * batch, num_classes, device=device)
    preds_s.requires_grad_()
    loss_fn = VRMLoss() if form == 'gram' else naive_vrm

    def step():
        loss_fn(preds_s, preds_t).backward()
        preds_s.grad = None

    cuda = device.startswith('cuda')
    if cuda:
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    step()
    if cuda:
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        peak = resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss * 1024 - base
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        if cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    print(json.dumps(dict(peak_mb=peak / 2**20,
                          ms=1000 * sorted(times)[len(times) // 2])))


def measure(form, batch, num_classes, args):
    cmd = [
        sys.executable, __file__, '--worker', form,
        str(batch),
        str(num_classes), '--device', args.device, '--repeat',
        str(args.repeat)
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--scales',
        nargs='+',
        default=list(SCALES),
        help='named scales (cifar, imagenet) or BxC, e.g. 128x100')
    parser.add_argument('--max-naive-gb', type=float, default=16.0)
    parser.add_argument('--worker', nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        form, batch, num_classes = args.worker
        worker(form, int(batch), int(num_classes), args.device, args.repeat)
        return
    print(f'VRMLoss forward + backward, device={args.device}, median of '
          f'{args.repeat}')
    print('| scale | B | C | form | peak MB | time ms |')
    print('|---|---|---|---|---|---|')
    for scale in args.scales:
        batch, num_classes = SCALES.get(scale) or map(int, scale.split('x'))
        for form in ('gram', 'naive'):
            estimate = naive_bytes(batch, num_classes) / 2**30
            if form == 'naive' and estimate > args.max_naive_gb:
                row = f'not run (about {estimate:.1f} GB) | -'
            else:
                res = measure(form, batch, num_classes, args)
                row = f'{res["peak_mb"]:.0f} | {res["ms"]:.1f}'
            print(f'| {scale} | {batch} | {num_classes} | {form} | {row} |')


if __name__ == '__main__':
    main()

"""Time and peak memory of the relational losses on synthetic tensors,
against the naive formulations that the tests check them with.

Cases (``--scale imagenet``, the default; ``cifar`` for CIFAR-100 sizes):

* ``vrm``: ``VRMLoss`` forward + backward on ``(2B, C)`` logits (B = 256,
  C = 1000), against the same loss with the edge tensors materialised
  (vectorised, float32) and the float64 loop reference of the tests
  (:mod:`relkd_mm.testing.reference`).
* ``rrd``: ``RRDLoss`` forward + backward (B = 256, 128-d, memory of 16384
  and 65536), against the plain formula in torch and the tests' scalar
  reference.
* ``refilled-mine``: semi-hard mining in ``B x B`` against the tests'
  ``B x B x B`` cube (B = 256 and 1024).
* ``refilled-s1`` / ``refilled-s2``: ``RefilledTupleLoss`` and
  ``RefilledClassifierLoss`` forward + backward against the tests' loop
  references (B = 256 and 1024).

Every measurement runs in a fresh subprocess: the time is the median (and
IQR) of ``--repeat`` runs after one warm-up, synchronised on CUDA; the peak
memory is ``torch.cuda.max_memory_allocated`` above the inputs on CUDA, and
on CPU the growth of the peak resident set size (reset before the first
run, Linux ``clear_refs``) during the warm-up run. A naive form whose
estimated size or Python work exceeds ``--max-naive-gb`` /
``--max-naive-ops`` is not run; the estimate is printed instead.
``--compile-check`` also reports, for each relkd_mm loss, how TorchDynamo
splits its forward (graphs and graph breaks, with the reasons).

Step-level costs (a loss inside its algorithm's training step, as a ratio
to KD) are ``tools/benchmark_cost.py``'s.

Example::

    python tools/analysis/loss_microbench.py --threads 1 \\
        --out-md work_dirs/bench/micro.md
    python tools/analysis/loss_microbench.py --device cuda --repeat 50
"""
import argparse
import json
import os.path as osp
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
import relkd_mm  # noqa: E402,F401
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from relkd_mm.models.losses import RefilledClassifierLoss  # noqa: E402
from relkd_mm.models.losses import RefilledTupleLoss  # noqa: E402
from relkd_mm.models.losses import RRDLoss, VRMLoss  # noqa: E402
from relkd_mm.models.losses.refilled_tuple_loss import \
    mine_semihard_tuples  # noqa: E402
from relkd_mm.testing import reference  # noqa: E402
from tools.benchmarks import profiling  # noqa: E402
from tools.benchmarks.report import markdown_table  # noqa: E402
# isort: on

SCALES = {
    'imagenet': dict(vrm=[(256, 1000)], rrd=[(256, 16384), (256, 65536)],
                     refilled=[(256, 1000), (1024, 1000)], feat=512),
    'cifar': dict(vrm=[(64, 100)], rrd=[(64, 16384)],
                  refilled=[(64, 100), (128, 100), (256, 100)], feat=128),
    'tiny': dict(vrm=[(8, 10)], rrd=[(8, 64)], refilled=[(16, 4)], feat=16),
}


def cases(scale):
    """(case, form, params) of one scale, relkd_mm's form first."""
    spec = SCALES[scale]
    out = []
    for b, c in spec['vrm']:
        for form in ('relkd_mm', 'materialised', 'tests'):
            out.append(('vrm', form, dict(b=b, c=c)))
    for b, k in spec['rrd']:
        for form in ('relkd_mm', 'plain', 'tests'):
            out.append(('rrd', form, dict(b=b, k=k, d=128)))
    for b, c in spec['refilled']:
        for form in ('relkd_mm', 'tests'):
            out.append(('refilled-mine', form, dict(b=b, c=c)))
        for form in ('relkd_mm', 'tests'):
            out.append(('refilled-s1', form,
                        dict(b=b, c=c, d=spec['feat'])))
        for form in ('relkd_mm', 'tests'):
            out.append(('refilled-s2', form,
                        dict(b=b, c=c, d=spec['feat'])))
    return out


def estimate(case, form, p):
    """(bytes, python ops) of a naive form, to skip what cannot run."""
    if form == 'relkd_mm':
        return 0, 0
    if case == 'vrm':
        rows = 2 * p['b']
        edges_is = rows * (rows - 1) // 2
        edges_ic = p['c'] * (p['c'] - 1) // 2
        size = edges_is * p['c'] + edges_ic * rows
        if form == 'materialised':
            return 4 * 7 * size, 0  # ~7 live edge-sized fp32 tensors
        return 8 * 4 * size, edges_is + edges_ic
    if case == 'rrd':
        if form == 'plain':
            return 4 * 6 * p['b'] * p['k'], 0
        return 0, 2 * p['b'] * p['k']
    b = p['b']
    cube = 6 * b**3  # a few boolean B^3 masks and the gap in float
    if case == 'refilled-mine':
        return cube + 8 * b**3, 0
    if case == 'refilled-s1':
        # About B^2 / C positive pairs, each a loop iteration.
        return cube + 8 * b**3, b * b // p['c'] * 4
    return 0, b * min(b, p['c'])  # stage 2: samples x present classes


def materialised_vrm(loss, preds_s, preds_t):
    """``loss`` (a VRMLoss, its own standardisation and ``eps``) without
    pruning (pruning changes neither time nor memory much) with the ``N^2 x
    D`` edge tensors built, float32."""

    def term(vs, vt):
        ia, ib = torch.triu_indices(len(vs), len(vs), 1, device=vs.device)
        ds, dt = vs[ia] - vs[ib], vt[ia] - vt[ib]
        es = ds / ds.norm(dim=1, keepdim=True).clamp_min(loss.eps)
        et = dt / dt.norm(dim=1, keepdim=True).clamp_min(loss.eps)
        return (es - et).pow(2).sum(1).mean()

    vs = loss.standardise(preds_s.float())
    vt = loss.standardise(preds_t.detach().float())
    return term(vs, vt) + term(vs.t(), vt.t())


def build(case, form, p, device):
    """A zero-argument function running one forward + backward."""
    gen = torch.Generator().manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=gen).to(device)

    if case == 'vrm':
        s = randn(2 * p['b'], p['c']).requires_grad_()
        t = randn(2 * p['b'], p['c'])
        loss = VRMLoss().to(device)
        if form == 'relkd_mm':
            fn = loss
        elif form == 'materialised':
            def fn(s, t):
                return materialised_vrm(loss, s, t)
        else:
            fn = reference.naive_vrm
        return _backward(lambda: fn(s, t), [s])
    if case == 'rrd':
        zs = F.normalize(randn(p['b'], p['d']), dim=1).requires_grad_()
        zt = F.normalize(randn(p['b'], p['d']), dim=1)
        loss = RRDLoss(queue_size=p['k'], embed_dim=p['d']).to(device)
        if form == 'relkd_mm':
            return _backward(lambda: loss(zs, zt), [zs])
        memory = loss.queue
        if form == 'plain':
            def plain():
                p_t = F.softmax(zt @ memory.t() / loss.tau_t, dim=1)
                log_p_s = F.log_softmax(zs @ memory.t() / loss.tau_s, dim=1)
                return -(p_t * log_p_s).sum(1).mean()
            return _backward(plain, [zs])
        ref = reference.reference_rrd_loss
        return lambda: ref(zs, zt, memory, loss.tau_s, loss.tau_t)
    labels = torch.randint(0, p['c'], (p['b'], ), generator=gen).to(device)
    if case == 'refilled-mine':
        emb = F.normalize(randn(p['b'], p['d'] if 'd' in p else 64), dim=1)
        dist = torch.cdist(emb, emb)
        if form == 'relkd_mm':
            return lambda: mine_semihard_tuples(dist, labels, 0.2)
        brute = reference.brute_triplets
        return lambda: brute(dist.cpu(), labels.cpu(), 0.2)
    if case == 'refilled-s1':
        s = randn(p['b'], p['d']).requires_grad_()
        t = randn(p['b'], p['d'])
        if form == 'relkd_mm':
            loss = RefilledTupleLoss()
            return _backward(lambda: loss(s, t, labels), [s])
        ref = reference.reference_tuple_loss
        return _backward(
            lambda: ref(s.cpu(), t.cpu(), labels.cpu(), 'pad')[0], [s])
    z = randn(p['b'], p['c']).requires_grad_()
    feats = randn(p['b'], p['d'])
    centers = F.normalize(randn(p['c'], p['d']), dim=1)
    if form == 'relkd_mm':
        loss = RefilledClassifierLoss(p['c'], p['d']).to(device)
        loss.set_centers(centers)
        return _backward(lambda: loss(z, feats, labels), [z])
    ref = reference.reference_classifier_loss
    return _backward(
        lambda: ref(z.cpu(), feats.cpu(), labels.cpu(), centers.double().cpu(),
                    2.0, True, False, None), [z])


def _backward(forward, leaves):
    def run():
        forward().backward()
        for x in leaves:
            x.grad = None
    return run


def worker(args):
    case, form, params = json.loads(args.worker)
    device = torch.device(args.device)
    fn = build(case, form, params, device)
    cuda = device.type == 'cuda'
    profiling.sync(device)
    if cuda:
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
    else:
        base = profiling.rss_reset_peak()
    fn()
    profiling.sync(device)
    if cuda:
        peak = torch.cuda.max_memory_allocated(device) - base
    else:
        peak = profiling.peak_rss() - base
    times = []
    for _ in range(args.repeat):
        times.append(profiling.timed(fn, device))
    q1, med, q3 = profiling.quartiles(times)
    print(json.dumps(dict(ms=1e3 * med, iqr_ms=1e3 * (q3 - q1),
                          peak_mb=peak / 2**20)))


def compile_check():
    """TorchDynamo's view of each loss's forward: graphs, graph breaks."""
    import torch._dynamo as dynamo
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 4, (32, ), generator=gen)
    checks = {
        'VRMLoss': (VRMLoss(), (torch.randn(16, 10), torch.randn(16, 10))),
        'RRDLoss': (RRDLoss(queue_size=256, embed_dim=16),
                    (F.normalize(torch.randn(8, 16), dim=1),
                     F.normalize(torch.randn(8, 16), dim=1))),
        'RefilledTupleLoss': (RefilledTupleLoss(),
                              (torch.randn(32, 16), torch.randn(32, 16),
                               labels)),
        'RefilledClassifierLoss': (_centered(RefilledClassifierLoss(4, 16)),
                                   (torch.randn(32, 4), torch.randn(32, 16),
                                    labels)),
    }
    rows = []
    for name, (module, inputs) in checks.items():
        dynamo.reset()
        info = dynamo.explain(module)(*inputs)
        reasons = sorted({str(b.reason).split('\n')[0][:90]
                          for b in info.break_reasons})
        rows.append((name, info.graph_count, info.graph_break_count,
                     '; '.join(reasons) or '-'))
    return rows


def _centered(loss):
    loss.set_centers(F.normalize(torch.randn(loss.centers.shape), dim=1))
    return loss


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--scale', choices=sorted(SCALES), nargs='+',
                        default=['imagenet'])
    parser.add_argument('--cases', nargs='+', help='only these cases')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--threads', type=int)
    parser.add_argument('--max-naive-gb', type=float, default=8.0)
    parser.add_argument('--max-naive-ops', type=float, default=2e5,
                        help='Python-level iterations a loop reference may '
                        'take')
    parser.add_argument('--compile-check', action='store_true')
    parser.add_argument('--out-md')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.worker:
        worker(args)
        return
    env = profiling.environment(args.device)
    header = (f'Loss micro-benchmarks, forward + backward (mining: forward), '
              f'{env["device"]}, {env["threads"]} threads, median (IQR) of '
              f'{args.repeat}, load average {env["loadavg_start"]:.1f}, '
              f'{env["date"]}, torch {env["PyTorch"]}.')
    print(header, flush=True)
    rows, fast = [], {}
    for scale in args.scale:
        for case, form, params in cases(scale):
            if args.cases and case not in args.cases:
                continue
            nbytes, ops = estimate(case, form, params)
            sizes = ' '.join(f'{k}={v}' for k, v in params.items())
            key = (case, sizes)
            if nbytes > args.max_naive_gb * 2**30 or \
                    ops > args.max_naive_ops:
                what = (f'~{nbytes / 2**30:.1f} GB' if nbytes > 2**30
                        else f'~{ops:.0e} Python iterations')
                cells = [f'not run ({what})', '-', '-']
            else:
                res = _measure(case, form, params, args)
                if form == 'relkd_mm':
                    fast[key] = res['ms']
                speed = (f'{res["ms"] / fast[key]:.1f}'
                         if key in fast else '-')
                cells = [f'{res["ms"]:.2f} ({res["iqr_ms"]:.2f})', speed,
                         f'{res["peak_mb"]:.1f}']
            rows.append([case, sizes, form, *cells])
            # A case can take minutes: its result as soon as it is known;
            # the table follows when every case is done.
            print(f'{case} ({sizes}), {form}: {cells[0]}', flush=True)
    text = header + '\n\n' + markdown_table(
        ['case', 'sizes', 'form', 'ms (IQR)', 'x relkd_mm', 'peak MB'], rows)
    if args.compile_check:
        text += ('\nTorchDynamo (`torch._dynamo.explain`) on each loss\'s '
                 'forward:\n\n' + markdown_table(
                     ['loss', 'graphs', 'graph breaks', 'reasons'],
                     compile_check()))
    print('\n' + text, end='')
    if args.out_md:
        profiling.write_text(args.out_md, text)
        print(f'wrote {args.out_md}')


def _measure(case, form, params, args):
    cmd = [sys.executable, osp.abspath(__file__), '--worker',
           json.dumps([case, form, params]), '--device', args.device,
           '--repeat', str(args.repeat)]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{case}/{form} {params} failed after '
                           f'{time.perf_counter() - start:.0f} s:\n'
                           f'{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


if __name__ == '__main__':
    main()

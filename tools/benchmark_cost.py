"""Cost of every distillation method's training step, measured in one run.

Each method is built from its real config (``Config.fromfile``, the
teacher/student pair and the connectors' and losses' dimensions swapped in
where the config is for another pair), with random weights, and timed
through ``algorithm.train_step(data, optim_wrapper)``: the runner's path,
data preprocessor, teacher and student passes, losses, backward and the
optimizer step. Inputs are synthetic uint8 images and labels, built once.

* Step time: ``--warmup`` rounds, then ``--repeats`` rounds; in each round
  every method runs one step, in an order rotated from round to round, so
  that a change of the machine's load hits every method alike. On CUDA each
  step is synchronised. Reported: median and inter-quartile range (IQR),
  and the ratio to KD as the median over rounds of the per-round ratio
  (both measured within the same round).
* A method on two views per sample (VRM) sees ``2B`` images per step; its
  ratio is to KD on the same ``2B`` images (the row ``kd@2B``, measured
  automatically), and its loss fraction to the student alone on ``2B``.
* Loss time: the distiller's ``compute_distill_losses()`` and the backward
  of their sum, on the tensors its recorders captured in a real step, the
  student-side ones as leaves (so the backward stops at the recorded
  features and covers the connectors and the losses only). Interleaved as
  above. Reported as a fraction of the method's step and of the student's
  step alone (the target of docs/benchmarks.md).
* ``--loss-balance``: the cost of :class:`LossBalanceHook` (on in every
  config through ``configs/_base_/default_runtime.py``). The hook of each
  distillation method's config (its ``custom_hooks`` entry, else the
  default) is attached to the method's model as the runner would, and every
  round times one step of that model with the hook's measurement (the
  gradient of each term at the student's features) besides the step
  without it (``NAME+balance``, interleaved with the other rows). Reported:
  the measurement's extra time as a multiple of a step (the median over
  rounds of the per-round ratio, minus one), the number of iterations the
  hook measures among the first N of a schedule (``--balance-iters``,
  counted by the hook's own ``before_train_iter``) and the amortised cost,
  extra x measurements / N: the target is under 1% of a step.
* Peak memory: one subprocess per method that builds only that method and
  runs ``--warmup`` steps. CUDA: ``torch.cuda.max_memory_allocated()``.
  CPU (no peak counter in torch): the growth of the process's peak resident
  set size (``ru_maxrss``) from just before the algorithm is built, so it
  covers weights, buffers (memories), gradients, optimizer state and
  activations, plus allocator overhead.

Methods are names of the table below or ``NAME=CONFIG`` for any other
distillation config (a later method is benchmarked by naming its config):
two views are detected from the algorithm (VRMDistill), CRD's sample
indices from the loss (CRDLoss), global class centers from the loss
(``set_centers``: random unit centers, as the hook would fill before
training).

Example::

    python tools/benchmark_cost.py --pair cifar-resnet32x4-resnet8x4 \\
        --batch 64 --repeats 10 --threads 1 \\
        --out-md work_dirs/bench/cifar.md --out-png work_dirs/bench/cifar.png
    python tools/benchmark_cost.py --pair in1k-resnet34-resnet18 \\
        --batch 256 --device cuda --amp
    python tools/benchmark_cost.py --methods kd rrd vrm --loss-balance \\
        --memory none --no-loss-time --repeats 20 --threads 1
"""
import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
# Before any mm* import: relkd_mm applies the compat patches.
import relkd_mm  # noqa: E402,F401 isort:skip
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.hub import get_config  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmpretrain.registry import MODELS as CLS_MODELS  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from tools.benchmarks.methods import METHODS as METHOD_TABLE  # noqa: E402
from tools.benchmarks.profiling import (environment, interleaved,  # noqa
                                        peak_rss, quartiles, ratio_stats,
                                        rss_reset_peak, sync, write_text)
from tools.benchmarks.report import markdown_table  # noqa: E402

#: name -> (config, description), the method table's rows in its order.
#: ``student`` is the KD config's student trained alone.
METHODS = {name: (cost.config, cost.desc) for m in METHOD_TABLE
           for name, cost in m.cost.items()}
DEFAULT_METHODS = list(METHODS)

#: Teacher -> student pairs: model configs, image side, classes, training
#: set size (CRD's memory). ``tiny`` is for the test suite.
PAIRS = {
    'cifar-resnet32x4-resnet8x4': dict(
        teacher='relkd_mm::_base_/models/cifar100/resnet32x4.py',
        student='relkd_mm::_base_/models/cifar100/resnet8x4.py',
        size=32, num_classes=100, num_train=50000),
    'cifar-wrn-40-2-wrn-16-2': dict(
        teacher='relkd_mm::_base_/models/cifar100/wrn_40_2.py',
        student='relkd_mm::_base_/models/cifar100/wrn_16_2.py',
        size=32, num_classes=100, num_train=50000),
    'in1k-resnet34-resnet18': dict(
        teacher='mmpretrain::resnet/resnet34_8xb32_in1k.py',
        student='mmpretrain::resnet/resnet18_8xb32_in1k.py',
        size=224, num_classes=1000, num_train=1281167),
    # The KD literature's "ResNet50 -> MobileNetV2" (a MobileNet-V1).
    'in1k-resnet50-mobilenetv1': dict(
        teacher='mmpretrain::resnet/resnet50_8xb32_in1k.py',
        student='relkd_mm::_base_/models/imagenet/mobilenet_v1.py',
        size=224, num_classes=1000, num_train=1281167),
    'in1k-resnet50-mobilenetv2': dict(
        teacher='mmpretrain::resnet/resnet50_8xb32_in1k.py',
        student='mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
        size=224, num_classes=1000, num_train=1281167),
    'tiny': dict(
        teacher='relkd_mm::_base_/models/cifar100/resnet8.py',
        student='relkd_mm::_base_/models/cifar100/resnet8.py',
        size=16, num_classes=100, num_train=1000),
}

#: Targets of docs/benchmarks.md: step time / KD's (same images), from the
#: method table, and the loss's forward + backward / the student's step.
STEP_TARGETS = {name: cost.step_target for m in METHOD_TABLE
                for name, cost in m.cost.items() if cost.step_target}
LOSS_TARGET = 0.05
#: Target of LossBalanceHook's amortised cost, as a fraction of a step.
BALANCE_TARGET = 0.01
BALANCE = '+balance'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n', 1)[1])
    parser.add_argument('--pair', default='cifar-resnet32x4-resnet8x4',
                        help=f'one of {sorted(PAIRS)}, or '
                        'TEACHER_CFG,STUDENT_CFG,SIZE,CLASSES')
    parser.add_argument('--methods', nargs='+', default=DEFAULT_METHODS,
                        help='names or NAME=CONFIG; default: all of '
                        f'{DEFAULT_METHODS}')
    parser.add_argument('--batch', type=int, default=64,
                        help='samples per step (per view)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--amp', action='store_true',
                        help='bf16 autocast (AmpOptimWrapper, CUDA only)')
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch.set_num_threads (CPU)')
    parser.add_argument('--memory', choices=['auto', 'none'],
                        default='auto', help='peak memory per method in '
                        'a subprocess each (none: skip)')
    parser.add_argument('--no-loss-time', action='store_true')
    parser.add_argument('--loss-balance', action='store_true',
                        help="time each distillation method's step with "
                        "and without LossBalanceHook's measurement")
    parser.add_argument('--balance-iters', type=int, nargs='+',
                        default=[1000, 10000],
                        help='schedule lengths the hook\'s cost is '
                        'amortised over (default: 1000 10000)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-md', help='write the table as markdown')
    parser.add_argument('--out-png', help='write a bar chart')
    parser.add_argument('--out-json', help='write every measurement')
    parser.add_argument('--memory-worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.amp and not args.device.startswith('cuda'):
        parser.error('--amp needs --device cuda: MMEngine\'s AmpOptimWrapper '
                     'does not run on CPU.')
    if any(n < 1 for n in args.balance_iters):
        parser.error('--balance-iters: schedule lengths are >= 1.')
    if args.batch < 2:
        parser.error(f'--batch {args.batch}: the relational losses need at '
                     'least 2 samples.')
    return args


def resolve_pair(spec):
    if spec in PAIRS:
        return dict(PAIRS[spec], name=spec)
    parts = spec.split(',')
    if len(parts) != 4:
        raise SystemExit(f'--pair {spec!r}: not one of {sorted(PAIRS)} nor '
                         'TEACHER_CFG,STUDENT_CFG,SIZE,CLASSES.')
    teacher, student, size, classes = parts
    return dict(teacher=teacher, student=student, size=int(size),
                num_classes=int(classes), num_train=50000, name=spec)


def resolve_methods(names):
    methods = {}
    for name in names:
        if '=' in name:
            name, config = name.split('=', 1)
            methods[name] = (config, config)
        elif name in METHODS:
            methods[name] = METHODS[name]
        else:
            raise SystemExit(f'--methods: unknown {name!r}; use one of '
                             f'{DEFAULT_METHODS} or NAME=CONFIG.')
    return methods


def feat_dim(model_cfg_path):
    """Input dimension of the classifier's fc: the pooled feature."""
    head = get_config(model_cfg_path).model.head
    return head['in_channels']


def adapt(cfg, pair, dims):
    """Put the pair into a method's config: models, connectors' input
    dimensions, class counts and feature sizes of the losses."""
    model = cfg.model
    model.architecture = dict(cfg_path=pair['student'], pretrained=False)
    model.teacher = dict(cfg_path=pair['teacher'], pretrained=False)
    model.teacher_ckpt = None
    if 'data_preprocessor' not in model and 'data_preprocessor' in cfg:
        model.data_preprocessor = cfg.data_preprocessor
    distiller = model.get('distiller', {})
    connectors = distiller.get('connectors', {}) or {}
    for mapping in (distiller.get('loss_forward_mappings', {}) or
                    {}).values():
        for item in mapping.values():
            name = item.get('connector')
            if name and name in connectors \
                    and 'dim_in' in connectors[name]:
                side = 'student' if item.get('from_student') else 'teacher'
                connectors[name].dim_in = dims[side]
    for loss in (distiller.get('distill_losses', {}) or {}).values():
        if 'num_classes' in loss:
            loss.num_classes = pair['num_classes']
        if 'feat_dim' in loss:
            loss.feat_dim = dims['teacher']
        if 'sample_n' in loss:
            loss.sample_n = pair['num_train']
    return cfg


class Bench:
    """One method, built and ready to step."""

    def __init__(self, name, config, desc, pair, dims, args, batch):
        self.name, self.desc, self.batch = name, desc, batch
        self.config = config
        cfg = Config.fromfile(osp.join(REPO, config) if not osp.isfile(
            config) else config)
        cfg = adapt(cfg, pair, dims)
        self.cfg = cfg
        self.balance = None
        device = torch.device(args.device)
        if name.split('@')[0] == 'student':
            model_cfg = get_config(pair['student']).model
            model_cfg.data_preprocessor = cfg.model.data_preprocessor
            self.model = CLS_MODELS.build(model_cfg)
            self.distiller = None
        else:
            self.model = MODELS.build(cfg.model)
            self.distiller = self.model.distiller
        self.model.to(device).train()
        optim_cfg = dict(cfg.optim_wrapper)
        if args.amp:
            optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16')
        self.optim_wrapper = build_optim_wrapper(self.model, optim_cfg)
        self.views = 2 if type(self.model).__name__ == 'VRMDistill' else 1
        self.images = self.views * batch
        self.device = device
        self.data = make_data(self, pair, batch, args.seed)
        self._fill_centers(dims)
        self.saved = None

    def _fill_centers(self, dims):
        if self.distiller is None:
            return
        gen = torch.Generator().manual_seed(0)
        for loss in self.distiller.distill_losses.values():
            if hasattr(loss, 'set_centers') and \
                    getattr(loss, 'center_mode', 'global') == 'global':
                centers = torch.randn(loss.centers.shape, generator=gen)
                loss.set_centers(F.normalize(centers, dim=1).to(self.device))

    def needs_indices(self):
        return self.distiller is not None and any(
            _is_crd(loss) for loss in self.distiller.distill_losses.values())

    def step(self):
        self.model.train_step(self.data, self.optim_wrapper)

    def snapshot(self):
        """Keep the tensors the recorders captured in the last step, the
        student's as leaves, to time the losses alone."""
        saved = []
        for manager in (self.distiller.student_recorders,
                        self.distiller.teacher_recorders):
            for recorder in manager.recorders.values():
                saved.append((recorder, [_leaf(x)
                                         for x in recorder.data_buffer]))
        self.saved = saved

    def loss_step(self):
        for recorder, buffer in self.saved:
            recorder._data_buffer = list(buffer)
        with self.optim_wrapper.optim_context(self.model):
            losses = self.distiller.compute_distill_losses()
        total = sum(v.sum() for v in losses.values())
        total.backward()
        self.model.zero_grad(set_to_none=True)
        for _, buffer in self.saved:
            for x in _tensors(buffer):
                x.grad = None


class _Runner:
    """What LossBalanceHook reads of a runner, outside a runner."""

    def __init__(self, model, hooks):
        self.model, self.hooks, self.iter = model, hooks, 0


def balance_hook_cfg(cfg):
    """The LossBalanceHook entry of ``cfg.custom_hooks`` (its arguments),
    or None when the config has none."""
    for hook in cfg.get('custom_hooks', None) or []:
        if str(hook.get('type', '')).split('.')[-1] == 'LossBalanceHook':
            return {k: v for k, v in hook.items() if k != 'type'}
    return None


class BalanceBench:
    """A distillation method's step with LossBalanceHook's measurement:
    the hook of the method's config attached to the method's model (the
    same model, optimizer and data as the row without it), measuring at
    every step timed here; the row without it has the hook attached but not
    due, as on the iterations the hook skips in training."""

    def __init__(self, bench):
        from relkd_mm.engine.hooks import LossBalanceHook
        kwargs = balance_hook_cfg(bench.cfg)
        self.in_config = kwargs is not None
        self.hook = LossBalanceHook(**(kwargs or {}))
        self.runner = _Runner(bench.model, [self.hook])
        self.hook.before_train(self.runner)
        if not self.hook._active:
            raise SystemExit(
                f'--loss-balance: LossBalanceHook is inactive on {bench.name}'
                f' (no student {self.hook.feature!r} module).')
        # Warned once per term in training: the warnings of random weights
        # are not what is timed.
        self.hook._warned = _Everything()
        # Counted, so that a step timed here is known to have measured.
        self.measurements = 0
        measure = self.hook._measure

        def counted(runner, losses):
            self.measurements += 1
            return measure(runner, losses)

        self.hook._measure = counted
        self.bench = bench
        self.name = bench.name + BALANCE
        bench.balance = self

    def step(self):
        hook = self.hook
        hook._due, hook._feat = True, None
        before = self.measurements
        try:
            self.bench.step()
        finally:
            hook._due, hook._feat = False, None
        if self.measurements != before + 1:
            raise RuntimeError(f'{self.name}: the step did not go through '
                               "LossBalanceHook's measurement.")

    def measured_iters(self, num_iters):
        """How many of the first ``num_iters`` iterations the hook
        measures, by its own schedule (``before_train_iter``)."""
        count = 0
        for i in range(num_iters):
            self.runner.iter = i
            self.hook.before_train_iter(self.runner, i)
            count += bool(self.hook._due)
        self.hook._due, self.hook._feat = False, None
        return count


class _Everything(set):
    def __contains__(self, item):
        return True


def _is_crd(loss):
    """MMRazor's CRDLoss or a subclass (relkd_mm's WeightedCRDLoss of the
    CRD config): it needs the samples' dataset indices."""
    return any(klass.__name__ == 'CRDLoss' for klass in type(loss).__mro__)


def _leaf(x):
    if isinstance(x, torch.Tensor):
        return x.detach().clone().requires_grad_(x.requires_grad)
    if isinstance(x, (tuple, list)):
        return type(x)(_leaf(y) for y in x)
    return x


def _tensors(x):
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, (tuple, list)):
        for y in x:
            yield from _tensors(y)


def make_data(bench, pair, batch, seed):
    """A collated batch as the dataloader would give it: uint8 images (one
    tensor per view) and data samples with labels (and CRD's indices)."""
    gen = torch.Generator().manual_seed(seed)
    size = pair['size']
    views = [torch.randint(0, 256, (batch, 3, size, size), generator=gen,
                           dtype=torch.uint8) for _ in range(bench.views)]
    labels = torch.randint(0, pair['num_classes'], (batch, ), generator=gen)
    samples = [DataSample().set_gt_label(int(y)) for y in labels]
    if bench.needs_indices():
        # CRDDataset's 'exact' mode: the sample's own index first, then
        # neg_num indices of other samples (uniform here).
        loss = next(loss for loss in bench.distiller.distill_losses.values()
                    if _is_crd(loss))
        for i, sample in enumerate(samples):
            neg = torch.randint(0, pair['num_train'],
                                (loss.contrast.neg_sample, ), generator=gen)
            sample.set_data(dict(
                sample_idx=torch.tensor(i),
                contrast_sample_idxs=torch.cat([torch.tensor([i]), neg])))
    return dict(inputs=views[0] if bench.views == 1 else views,
                data_samples=samples)


def memory_worker(args):
    """Peak memory of one method's steps, in this fresh process."""
    name = args.memory_worker
    pair = resolve_pair(args.pair)
    dims = dict(teacher=feat_dim(pair['teacher']),
                student=feat_dim(pair['student']))
    config, desc = resolve_methods(args.methods)[name.split('@')[0]]
    batch = args.batch * (2 if name.endswith('@2B') else 1)
    device = torch.device(args.device)
    cuda = device.type == 'cuda'
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    before = rss_reset_peak()
    bench = Bench(name, config, desc, pair, dims, args, batch)
    for _ in range(max(args.warmup, 1) + 1):
        bench.step()
    sync(device)
    if cuda:
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = peak_rss() - before
    print(json.dumps(dict(peak_mb=peak / 2**20)))


def measure_memory(name, args):
    cmd = [sys.executable, osp.abspath(__file__), '--memory-worker', name,
           '--pair', args.pair, '--batch', str(args.batch), '--device',
           args.device, '--warmup', str(args.warmup), '--seed',
           str(args.seed), '--methods', *args.methods]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    if args.amp:
        cmd += ['--amp']
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f'memory worker for {name} failed:\n'
                           f'{proc.stderr[-3000:]}')
    return json.loads(proc.stdout.strip().splitlines()[-1])['peak_mb']


def run(args):
    torch.manual_seed(args.seed)
    pair = resolve_pair(args.pair)
    dims = dict(teacher=feat_dim(pair['teacher']),
                student=feat_dim(pair['student']))
    methods = resolve_methods(args.methods)
    env = environment(args.device)
    benches = []
    for name, (config, desc) in methods.items():
        benches.append(Bench(name, config, desc, pair, dims, args,
                             args.batch))
    # Two-view methods are compared with KD and the student on the same
    # number of images.
    if any(b.views == 2 for b in benches):
        for base in ('student', 'kd'):
            if base in methods:
                config, desc = methods[base]
                benches.append(Bench(f'{base}@2B', config,
                                     f'{desc}, batch 2B', pair, dims, args,
                                     2 * args.batch))
    device = torch.device(args.device)
    print(f'{len(benches)} rows on {env["device"]}, {env["threads"]} '
          f'threads, pair {pair["name"]}, batch {args.batch}; '
          f'{args.warmup} warm-up + {args.repeats} rounds', flush=True)
    balanced = []
    if args.loss_balance:
        # Not the @2B reference rows: the hook's cost on VRM is its own.
        balanced = [BalanceBench(b) for b in benches
                    if b.distiller is not None and '@' not in b.name]
    step_times = interleaved(benches + balanced, _step, args.repeats,
                             args.warmup, device)
    loss_times = {}
    if not args.no_loss_time:
        with_loss = [b for b in benches if b.distiller is not None]
        for bench in with_loss:
            bench.step()
            sync(device)
            bench.snapshot()
        loss_times = interleaved(with_loss, Bench.loss_step, args.repeats,
                                 args.warmup, device)
    memory = {}
    if args.memory != 'none':
        for bench in benches:
            memory[bench.name] = measure_memory(bench.name, args)
    env['loadavg_end'] = os.getloadavg()[0]
    rows = summarise(benches, step_times, loss_times, memory,
                     args.balance_iters)
    return dict(args=vars(args), pair=pair, env=env, rows=rows,
                step_times=step_times, loss_times=loss_times)


def _step(bench):
    bench.step()


def reference(bench, benches, base):
    """The row ``base`` (or ``base@2B``) that saw as many images."""
    for other in benches:
        if other.name.split('@')[0] == base and \
                other.images == bench.images:
            return other.name
    return None


def balance_cost(extra, measured, num_iters):
    """LossBalanceHook's cost averaged over the first ``num_iters``
    iterations, as a fraction of a step: ``extra`` (one measurement's time
    / a step's) times the ``measured`` iterations among them."""
    return extra * measured / num_iters


def balance_row(bench, step_times, balance_iters):
    """The fields of ``bench``'s row for LossBalanceHook's cost."""
    balance = bench.balance
    with_ = step_times[balance.name]
    q1, med, q3 = ratio_stats(with_, step_times[bench.name])
    measured = {n: balance.measured_iters(n) for n in balance_iters}
    return dict(
        balance_step_ms=1e3 * statistics.median(with_),
        balance_steps_measured=balance.measurements,
        balance_extra=(q1 - 1, med - 1, q3 - 1),
        balance_hook=dict(in_config=balance.in_config,
                          check_iters=sorted(balance.hook.check_iters),
                          interval=balance.hook.interval),
        balance_measured={n: measured[n] for n in balance_iters},
        balance_amortised={n: balance_cost(med - 1, measured[n], n)
                           for n in balance_iters})


def summarise(benches, step_times, loss_times, memory, balance_iters=()):
    rows = []
    for bench in benches:
        q1, med, q3 = quartiles(step_times[bench.name])
        row = dict(name=bench.name, desc=bench.desc, config=bench.config,
                   images=bench.images, step_ms=1e3 * med,
                   step_iqr_ms=1e3 * (q3 - q1))
        kd = reference(bench, benches, 'kd')
        if kd:
            row['kd_ref'] = kd
            row['step_vs_kd'] = ratio_stats(step_times[bench.name],
                                            step_times[kd])
        if bench.name in loss_times:
            lq1, lmed, lq3 = quartiles(loss_times[bench.name])
            row['loss_ms'] = 1e3 * lmed
            row['loss_iqr_ms'] = 1e3 * (lq3 - lq1)
            row['loss_of_step'] = lmed / med
            student = reference(bench, benches, 'student')
            if student:
                row['student_ref'] = student
                row['loss_of_student'] = lmed / statistics.median(
                    step_times[student])
        if bench.balance is not None:
            row.update(balance_row(bench, step_times, balance_iters))
        if bench.name in memory:
            row['peak_mb'] = memory[bench.name]
            if kd and memory.get(kd):
                row['mem_vs_kd'] = memory[bench.name] / memory[kd]
        target = STEP_TARGETS.get(bench.name)
        if target:
            verdicts = []
            if 'step_vs_kd' in row:
                ok = row['step_vs_kd'][1] <= target
                verdicts.append(f'step {"ok" if ok else "MISSED"} '
                                f'(<= {target:.2f})')
            if 'loss_of_student' in row:
                ok = row['loss_of_student'] <= LOSS_TARGET
                verdicts.append(f'loss {"ok" if ok else "MISSED"} '
                                f'(<= {LOSS_TARGET:.0%})')
            row['verdict'] = ', '.join(verdicts)
        rows.append(row)
    return rows


def markdown(result):
    env, pair, args = result['env'], result['pair'], result['args']
    header = (
        f'Pair `{pair["name"]}` ({pair["teacher"]} -> {pair["student"]}, '
        f'{pair["size"]}x{pair["size"]} images, {pair["num_classes"]} '
        f'classes), batch {args["batch"]} per view, device {args["device"]}'
        f'{" (bf16 AMP)" if args["amp"] else ""}; {env["device"]}, '
        f'{env["cpus"]} CPUs, {env["threads"]} torch threads; '
        f'{args["warmup"]} warm-up + {args["repeats"]} interleaved rounds; '
        f'load average {env["loadavg_start"]:.1f} at start, '
        f'{env["loadavg_end"]:.1f} at end; {env["date"]}; torch '
        f'{env["PyTorch"]}, mmengine {env["MMEngine"]}, mmpretrain '
        f'{env["MMPreTrain"]}, mmrazor {env["MMRazor"]}.')

    def fmt(row, key, spec, default='-'):
        return format(row[key], spec) if key in row else default

    cells = []
    for row in result['rows']:
        ratio = '-'
        if 'step_vs_kd' in row:
            q1, med, q3 = row['step_vs_kd']
            ratio = f'{med:.3f} ({q1:.3f}-{q3:.3f})'
            if row['kd_ref'] != 'kd' and row['name'] != row['kd_ref']:
                ratio += f' vs {row["kd_ref"]}'
        loss = '-'
        if 'loss_ms' in row:
            loss = f'{row["loss_ms"]:.2f} ({row["loss_iqr_ms"]:.2f})'
        cells.append([
            row['name'], row['images'],
            f'{row["step_ms"]:.1f} ({row["step_iqr_ms"]:.1f})', ratio, loss,
            fmt(row, 'loss_of_step', '.1%'),
            fmt(row, 'loss_of_student', '.1%'), fmt(row, 'peak_mb', '.0f'),
            fmt(row, 'mem_vs_kd', '.2f'), row.get('verdict', '')])
    table = header + '\n\n' + markdown_table(
        ['method', 'images/step', 'step ms (IQR)', 'step / KD (IQR)',
         'loss fwd+bwd ms', 'loss / own step', 'loss / student step',
         'peak MB', 'memory / KD', 'target'], cells)
    balance = balance_markdown(result['rows'])
    return table + ('\n\n' + balance if balance else '')


def balance_markdown(rows):
    """LossBalanceHook's cost, one line per distillation method, or ''
    without ``--loss-balance``."""
    rows = [r for r in rows if 'balance_extra' in r]
    if not rows:
        return ''
    iters = list(rows[0]['balance_amortised'])
    cells = []
    for row in rows:
        q1, med, q3 = row['balance_extra']
        amortised = [row['balance_amortised'][n] for n in iters]
        ok = all(a <= BALANCE_TARGET for a in amortised)
        hook = row['balance_hook']
        cells.append([
            row['name'], f'{row["step_ms"]:.1f}',
            f'{row["balance_step_ms"]:.1f}',
            f'{med:.3f} ({q1:.3f}-{q3:.3f})',
            *(f'{row["balance_measured"][n]} -> {a:.3%}'
              for n, a in zip(iters, amortised)),
            f'{"ok" if ok else "MISSED"} (<= {BALANCE_TARGET:.0%})',
            f'{hook["check_iters"]}, every {hook["interval"]}' +
            ('' if hook['in_config'] else ' (not in the config: default)')])
    return ('LossBalanceHook: a step with its measurement against the same '
            'step without it, same model and data, interleaved; its extra '
            'time as a multiple of a step (median of per-round ratios - 1, '
            'IQR), and averaged over the first N iterations '
            '(measurements -> extra x measurements / N).\n\n' +
            markdown_table(
                ['method', 'step ms', 'measured step ms',
                 'measurement / step (IQR)',
                 *(f'first {n} iterations' for n in iters), 'target',
                 'hook schedule'], cells))


def bar_chart(result, path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    rows = [r for r in result['rows'] if 'step_vs_kd' in r]
    names = [r['name'] for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(rows) + 1.6))
    med = [r['step_vs_kd'][1] for r in rows]
    err = [[m - r['step_vs_kd'][0] for m, r in zip(med, rows)],
           [r['step_vs_kd'][2] - m for m, r in zip(med, rows)]]
    axes[0].barh(names, med, xerr=err, color='tab:blue')
    axes[0].set_xlabel('step time / KD step (median, IQR)')
    mem = [r.get('mem_vs_kd', 0) for r in rows]
    axes[1].barh(names, mem, color='tab:orange')
    axes[1].set_xlabel('peak memory / KD')
    for ax in axes:
        ax.axvline(1.0, color='k', lw=0.8)
        ax.invert_yaxis()
    fig.suptitle(f'{result["pair"]["name"]}, batch {result["args"]["batch"]}'
                 f', {result["env"]["device"]}', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_worker:
        memory_worker(args)
        return
    result = run(args)
    table = markdown(result)
    print(table)
    for path, write in ((args.out_md, lambda p: write_text(p, table)),
                        (args.out_json, lambda p: write_text(
                            p, json.dumps(result, indent=1, default=str))),
                        (args.out_png, lambda p: bar_chart(result, p))):
        if path:
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            write(path)
            print(f'wrote {path}')


if __name__ == '__main__':
    main()

"""Timing and memory measurement shared by the benchmarks.

``tools/benchmark_cost.py`` (training-step cost) and
``tools/analysis/loss_microbench.py`` (loss forward + backward) time and
measure with these, so that both report the same quantities: wall time
synchronised on CUDA, medians and quartiles, and on CPU the growth of the
peak resident set size (Linux ``clear_refs``, since the imports' transient
peak would otherwise hide a method's).
"""
import datetime
import os
import platform
import resource
import statistics
import sys
import time

import torch


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn, device):
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def interleaved(benches, fn, rounds, warmup, device):
    """``fn(bench)`` for every bench, ``warmup + rounds`` rounds, the order
    rotated each round; the times of the last ``rounds``."""
    times = {b.name: [] for b in benches}
    for r in range(warmup + rounds):
        k = r % len(benches)
        for bench in benches[k:] + benches[:k]:
            t = timed(lambda: fn(bench), device)
            if r >= warmup:
                times[bench.name].append(t)
        print(f'  round {r + 1}/{warmup + rounds} done', file=sys.stderr,
              flush=True)
    return times


def quartiles(values):
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method='inclusive')
    return q1, q2, q3


def ratio_stats(num, den):
    """Median and IQR of the per-round ratios."""
    return quartiles([a / b for a, b in zip(num, den)])


def _status_kb(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def rss_reset_peak():
    """Current resident set size, after resetting the peak to it (Linux
    ``clear_refs`` 5) so that the imports' transient peak does not hide the
    method's; falls back to ``ru_maxrss``."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return _status_kb('VmRSS')
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_rss():
    try:
        return _status_kb('VmHWM')
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def environment(device):
    """Where and with what a measurement ran: MMEngine's ``collect_env()``
    (Python, PyTorch and its build, CUDA and the GPUs, compilers, OpenCV,
    MMEngine), plus what it lacks: the measured device by name (on CPU the
    model name), the CPU count, torch's threads, MMPreTrain's and MMRazor's
    versions, the date and the load average at the start."""
    import mmpretrain
    import mmrazor
    from mmengine.utils.dl_utils import collect_env
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next(line.split(':', 1)[1].strip() for line in f
                       if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    env = dict(collect_env())
    env.update(
        date=datetime.datetime.now().astimezone().isoformat(
            timespec='seconds'),
        device=(torch.cuda.get_device_name(device)
                if str(device).startswith('cuda') else f'CPU: {cpu}'),
        cpus=os.cpu_count(), threads=torch.get_num_threads(),
        MMPreTrain=mmpretrain.__version__, MMRazor=mmrazor.__version__,
        loadavg_start=os.getloadavg()[0])
    return env


def write_text(path, text):
    with open(path, 'w') as f:
        f.write(text)

"""Summarise DistillDiagnosticsHook's logs of finished runs.

For each run folder (an MMEngine work dir, or a protocol run's
``seed<k>/``; stages in ``stage<k>/``), prints per distillation term the
ratio of its gradient norm to the cross-entropy's at the student's
features over the first epoch and over the last one, and the validation
agreement metrics of the last validation::

    python tools/analysis/summarize_diagnostics.py work_dirs/benchmark/\\
        fmnist-lowdata/vrm-*/seed0 [...]
"""
import argparse
import glob
import json
import os.path as osp
from collections import defaultdict
from statistics import fmean


def rows(work_dir):
    paths = sorted(glob.glob(osp.join(work_dir, '**', 'vis_data',
                                      'scalars.json'), recursive=True))
    out = []
    for path in paths:
        with open(path) as f:
            out += [json.loads(line) for line in f]
    return out


def summarise(work_dir):
    data = rows(work_dir)
    train = [r for r in data if 'lr' in r]
    val = [r for r in data if 'accuracy/top1' in r]
    if not train:
        return {}
    first, last = train[0]['epoch'], train[-1]['epoch']
    summary = defaultdict(dict)
    for key in sorted({k for r in train for k in r
                       if k.startswith('diag/ratio.')}):
        for name, epoch in (('first epoch', first), ('last epoch', last)):
            values = [r[key] for r in train if r['epoch'] == epoch and
                      key in r]
            if values:
                summary[key[len('diag/ratio.'):]][name] = fmean(values)
    if val:
        for key, value in val[-1].items():
            if key.startswith('diag/'):
                summary['validation'][key[len('diag/'):]] = value
    return dict(summary)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+')
    args = parser.parse_args()
    for work_dir in args.work_dirs:
        print(work_dir)
        for group, values in summarise(work_dir).items():
            text = ', '.join(f'{k} {v:.3g}' for k, v in values.items())
            print(f'  {group}: {text}')


if __name__ == '__main__':
    main()

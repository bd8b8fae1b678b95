"""The quick start: a real distillation on Fashion-MNIST in minutes on CPU.

Trains a small teacher once (cached under work_dirs/quickstart/), then the
student alone and the student distilled by each method of
configs/quickstart/, and prints a table of test accuracies. Every run is an
ordinary MMEngine run of an ordinary config: open the configs to see what a
method needs, and the work_dirs for logs and checkpoints.

    python tools/quickstart.py [--train-size N] [--epochs E] [--only NAME ...]
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, REPO)
import relkd_mm  # noqa: E402,F401  (compat patches before mm* imports)
from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST  # noqa: E402
from relkd_mm.utils.quick_runs import (  # noqa: E402
    RUNS, TEACHER, budget_options, config_paths, ensure_fashion_mnist,
    missing_configs, train_and_test)
# isort: on


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--data-root', default=DEBIAN_FASHION_MNIST)
    parser.add_argument('--train-size', type=int, default=6000,
                        help='first N training images (default 6000)')
    parser.add_argument('--test-size', type=int, default=2000,
                        help='first N test images (default 2000)')
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs',
                                                       'quickstart'))
    parser.add_argument('--only', nargs='+', metavar='NAME',
                        help='run only these rows (e.g. KD RRD)')
    args = parser.parse_args()

    ensure_fashion_mnist(args.data_root)
    options = budget_options(args.train_size, args.test_size, args.epochs,
                             args.seed, args.data_root)
    print(f'Fashion-MNIST from {args.data_root}: first {args.train_size} '
          f'training images, first {args.test_size} test images, '
          f'{args.epochs} epochs, seed {args.seed}, CPU '
          f'({os.cpu_count()} cores).', flush=True)

    results = []
    teacher_ckpt = None
    for method in [TEACHER, *RUNS]:
        name, is_teacher = method.name, method is TEACHER
        if args.only and not is_teacher and not any(
                o.lower() in name.lower() for o in args.only):
            continue
        missing = missing_configs(method)
        if missing:
            print(f'- {name}: {osp.relpath(missing[0], REPO)} does not '
                  'exist yet, skipped.', flush=True)
            continue
        cfgs = config_paths(method)
        stem = osp.splitext(osp.basename(cfgs[-1]))[0]
        if is_teacher:
            # Cached: keyed by the config and the budget, trained once.
            key = hashlib.sha1(
                (open(cfgs[0]).read() +
                 json.dumps(options, sort_keys=True)).encode()).hexdigest()
            work_dir = osp.join(args.work_dir, f'{stem}-{key[:10]}')
            cache = osp.join(work_dir, 'result.json')
            if osp.isfile(cache):
                with open(cache) as f:
                    result = json.load(f)
                print(f'- {name}: cached in {work_dir}', flush=True)
            else:
                print(f'- {name}: training...', flush=True)
                result = train_and_test(name, cfgs, work_dir, options)
                with open(cache, 'w') as f:
                    json.dump(result, f)
            teacher_ckpt = osp.join(work_dir, f'epoch_{args.epochs}.pth')
        else:
            print(f'- {name}: training...', flush=True)
            result = train_and_test(name, cfgs, osp.join(args.work_dir, stem),
                                    options, teacher_ckpt=teacher_ckpt)
        result['note'] = method.note
        results.append(result)
        print(f'  top-1 {result["top1"]:.2f} in {result["seconds"]:.0f} s',
              flush=True)

    print('\nFashion-MNIST test top-1 (%), same subset, schedule and seed:')
    print(f'| {"run":<26} | {"top-1":>6} | {"time":>6} | config')
    print(f'|{"-" * 28}|{"-" * 8}|{"-" * 8}|{"-" * 8}')
    for r in results:
        print(f'| {r["name"]:<26} | {r["top1"]:6.2f} | '
              f'{r["seconds"]:5.0f}s | {", ".join(r["configs"])}')


if __name__ == '__main__':
    main()

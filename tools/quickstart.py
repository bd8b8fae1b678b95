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
import shutil
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, REPO)
import relkd_mm  # noqa: E402,F401  (compat patches before mm* imports)
from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST  # noqa: E402
# isort: on

CFG_DIR = osp.join(REPO, 'configs', 'quickstart')
#: (row name, config file, what it shows). Methods join the table by adding
#: a config here; a missing config is reported, not silently skipped.
RUNS = [
    ('teacher (wrn_16_2)', 'teacher_wrn-16-2_fmnist.py', 'the teacher'),
    ('student alone (resnet8)', 'student_resnet8_fmnist.py', 'baseline'),
    ('KD', 'kd_wrn-16-2_resnet8_fmnist.py', 'MMRazor KLDivergence, T=4'),
    ('RRD', 'rrd_wrn-16-2_resnet8_fmnist.py', 'relkd_mm RRDLoss'),
    ('VRM', 'vrm_wrn-16-2_resnet8_fmnist.py', 'relkd_mm VRMLoss'),
    ('REFILLED', 'refilled_wrn-16-2_resnet8_fmnist.py',
     'relkd_mm stage 1 + stage 2'),
]


def ensure_fashion_mnist(data_root):
    files = [f'{p}-{k}-ubyte.gz' for p in ('train', 't10k')
             for k in ('images-idx3', 'labels-idx1')]
    if all(osp.isfile(osp.join(data_root, f)) or
           osp.isfile(osp.join(data_root, f[:-3])) for f in files):
        return
    if data_root == DEBIAN_FASHION_MNIST and shutil.which('apt-get') and \
            os.geteuid() == 0:
        print('Fashion-MNIST is missing: installing the Debian package '
              '`dataset-fashion-mnist`...', flush=True)
        ok = subprocess.run(['apt-get', 'install', '-y', '-q',
                             'dataset-fashion-mnist']).returncode == 0
        if not ok:
            subprocess.run(['apt-get', 'update', '-q'])
            ok = subprocess.run(['apt-get', 'install', '-y', '-q',
                                 'dataset-fashion-mnist']).returncode == 0
        if ok:
            return
    sys.exit(f'Fashion-MNIST not found in {data_root}. Install it with '
             '`sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), '
             'or put train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, '
             't10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz in a '
             'folder and pass --data-root.')


def budget_options(args):
    """The subset and schedule, as --cfg-options a user could also pass."""
    return {
        'train_dataloader.dataset.indices': args.train_size,
        'val_dataloader.dataset.indices': args.test_size,
        'test_dataloader.dataset.indices': args.test_size,
        'train_dataloader.dataset.data_root': args.data_root,
        'val_dataloader.dataset.data_root': args.data_root,
        'test_dataloader.dataset.data_root': args.data_root,
        'train_cfg.max_epochs': args.epochs,
        'param_scheduler.T_max': args.epochs,
        'randomness.seed': args.seed,
    }


def run(name, cfg_file, work_dir, options, teacher_ckpt=None):
    cfg = Config.fromfile(osp.join(CFG_DIR, cfg_file))
    cfg.merge_from_dict(options)
    if teacher_ckpt is not None:
        cfg.model.teacher_ckpt = teacher_ckpt
    cfg.work_dir = work_dir
    cfg.experiment_name = f'{osp.basename(work_dir)}_{time.time_ns()}'
    cfg.log_level = 'WARNING'
    start = time.time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()
    return dict(name=name, config=f'configs/quickstart/{cfg_file}',
                top1=float(metrics['accuracy/top1']),
                seconds=time.time() - start)


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
    options = budget_options(args)
    print(f'Fashion-MNIST from {args.data_root}: first {args.train_size} '
          f'training images, first {args.test_size} test images, '
          f'{args.epochs} epochs, seed {args.seed}, CPU '
          f'({os.cpu_count()} cores).', flush=True)

    results = []
    teacher_ckpt = None
    for name, cfg_file, note in RUNS:
        is_teacher = cfg_file.startswith('teacher_')
        if args.only and not is_teacher and not any(
                o.lower() in name.lower() for o in args.only):
            continue
        if not osp.isfile(osp.join(CFG_DIR, cfg_file)):
            print(f'- {name}: configs/quickstart/{cfg_file} does not exist '
                  'yet, skipped.', flush=True)
            continue
        stem = osp.splitext(cfg_file)[0]
        if is_teacher:
            # Cached: keyed by the config and the budget, trained once.
            key = hashlib.sha1(
                (open(osp.join(CFG_DIR, cfg_file)).read() +
                 json.dumps(options, sort_keys=True)).encode()).hexdigest()
            work_dir = osp.join(args.work_dir, f'{stem}-{key[:10]}')
            cache = osp.join(work_dir, 'result.json')
            if osp.isfile(cache):
                with open(cache) as f:
                    result = json.load(f)
                print(f'- {name}: cached in {work_dir}', flush=True)
            else:
                print(f'- {name}: training...', flush=True)
                result = run(name, cfg_file, work_dir, options)
                with open(cache, 'w') as f:
                    json.dump(result, f)
            teacher_ckpt = osp.join(work_dir, f'epoch_{args.epochs}.pth')
        else:
            print(f'- {name}: training...', flush=True)
            result = run(name, cfg_file, osp.join(args.work_dir, stem),
                         options, teacher_ckpt=None if 'alone' in name
                         else teacher_ckpt)
        result['note'] = note
        results.append(result)
        print(f'  top-1 {result["top1"]:.2f} in {result["seconds"]:.0f} s',
              flush=True)

    print('\nFashion-MNIST test top-1 (%), same subset, schedule and seed:')
    print(f'| {"run":<26} | {"top-1":>6} | {"time":>6} | config')
    print(f'|{"-" * 28}|{"-" * 8}|{"-" * 8}|{"-" * 8}')
    for r in results:
        print(f'| {r["name"]:<26} | {r["top1"]:6.2f} | '
              f'{r["seconds"]:5.0f}s | {r["config"]}')


if __name__ == '__main__':
    main()

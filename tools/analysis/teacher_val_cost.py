"""Time of one validation of a distillation config, with the frozen
teacher's metrics reused (relkd_mm's ``TeacherCachedDistillValLoop``) and
evaluated each time (``val_cfg.teacher_cache=False``, upstream MMRazor's
behaviour).

Each config's model is built from the real config (random weights, no
teacher checkpoint) and validated by ``TeacherCachedDistillValLoop``
(MMRazor's ``SingleTeacherDistillValLoop`` subclassed) on synthetic uint8
images of the config's size, in batches of the config's
``val_dataloader.batch_size``. Rounds
alternate the two variants (order rotated per round), so that a change of
the machine's load hits both; the ratio is the median of the per-round
ratios (both measured in the same round).

Example::

    python tools/analysis/teacher_val_cost.py --images 512 64 --rounds 3 \\
        --out-md work_dirs/bench/teacher_val.md
"""
import argparse
import os
import os.path as osp
import statistics
import sys
import time
from types import SimpleNamespace

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
import relkd_mm  # noqa: E402,F401 isort:skip
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.dataset import pseudo_collate  # noqa: E402
from mmengine.evaluator import Evaluator  # noqa: E402
from mmpretrain.structures import DataSample  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from relkd_mm.engine.loops import TeacherCachedDistillValLoop  # noqa: E402
from tools.benchmarks.report import markdown_table  # noqa: E402

#: name -> (config, image size, classes).
CONFIGS = {
    'cifar100 resnet32x4 -> resnet8x4 (KD)': (
        'configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py', 32, 100),
    'cifar100 wrn-40-2 -> wrn-16-2 (RRD+KD)': (
        'configs/rrd/rrd-kd_wrn-40-2_wrn-16-2_1xb64_cifar100.py', 32, 100),
    'in1k resnet34 -> resnet18 (KD)': (
        'configs/kd/kd_resnet34_resnet18_8xb32_in1k.py', 224, 1000),
    'in1k resnet50 -> mobilenetv2 (VRM)': (
        'configs/vrm/vrm_resnet50_mobilenetv2_8xb32_in1k.py', 224, 1000),
}


class Synthetic(torch.utils.data.Dataset):

    def __init__(self, n, size, classes, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.images = torch.randint(0, 256, (n, 3, size, size),
                                    generator=gen, dtype=torch.uint8)
        self.labels = torch.randint(0, classes, (n, ), generator=gen)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return dict(inputs=self.images[i],
                    data_samples=DataSample().set_gt_label(
                        int(self.labels[i])))


def build_loop(config, size, classes, images, teacher_cache):
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.model.teacher_ckpt = None
    cfg.model.allow_random_teacher = True
    if 'data_preprocessor' not in cfg.model and 'data_preprocessor' in cfg:
        cfg.model.data_preprocessor = cfg.data_preprocessor
    model = MODELS.build(cfg.model)
    model.init_weights()
    loader = torch.utils.data.DataLoader(
        Synthetic(images, size, classes),
        batch_size=cfg.val_dataloader.batch_size, shuffle=False,
        collate_fn=pseudo_collate)
    evaluator = Evaluator(dict(type='mmpretrain.Accuracy', topk=(1, )))
    runner = SimpleNamespace(
        model=model, distributed=False, call_hook=lambda *a, **k: None,
        logger=SimpleNamespace(info=lambda *a, **k: None))
    return TeacherCachedDistillValLoop(runner, loader, evaluator,
                                       teacher_cache=teacher_cache)


def timed(loop):
    start = time.perf_counter()
    loop.run()
    return time.perf_counter() - start


def measure(name, config, size, classes, images, rounds):
    every = build_loop(config, size, classes, images, teacher_cache=False)
    once = build_loop(config, size, classes, images, teacher_cache=True)
    once.runner.model.load_state_dict(every.runner.model.state_dict())
    first = timed(once)  # the first validation evaluates the teacher too
    times = {'each': [], 'once': []}
    for r in range(rounds):
        order = [('each', every), ('once', once)]
        for key, loop in (order if r % 2 == 0 else order[::-1]):
            times[key].append(timed(loop))
    assert once.teacher_evaluations == 1
    assert every.teacher_evaluations == rounds
    ratios = [o / e for o, e in zip(times['once'], times['each'])]
    return dict(name=name, config=config, images=images, size=size,
                batch=once.dataloader.batch_size, first=first,
                each=statistics.median(times['each']),
                once=statistics.median(times['once']),
                ratio=statistics.median(ratios), rounds=rounds)


def markdown(rows, threads):
    cells = [[f'{r["name"]}: `{r["config"]}`',
              f'{r["images"]} ({r["size"]}x{r["size"]}, {r["batch"]})',
              f'{r["each"]:.2f}', f'{r["once"]:.2f}', f'{r["ratio"]:.2f}',
              f'{100 * (1 - r["ratio"]):.0f}%'] for r in rows]
    return (f'CPU, {threads} thread(s), torch {torch.__version__}; median '
            f'of {rows[0]["rounds"]} interleaved rounds.\n\n' +
            markdown_table(
                ['config', 'images (size, batch)',
                 'validation, teacher each time (s)',
                 'validation, teacher reused (s)', 'ratio', 'saved'], cells))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, nargs=2, default=[512, 64],
                        metavar=('CIFAR', 'IMAGENET'),
                        help='validation images per CIFAR / ImageNet config')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None)
    parser.add_argument('--only', nargs='*', default=None,
                        help='substrings of the config names to measure')
    parser.add_argument('--out-md', default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for name, (config, size, classes) in CONFIGS.items():
        if args.only and not any(s in name for s in args.only):
            continue
        images = args.images[0] if size == 32 else args.images[1]
        with torch.no_grad():
            row = measure(name, config, size, classes, images, args.rounds)
        print(f'{name}: each {row["each"]:.2f}s, reused {row["once"]:.2f}s, '
              f'ratio {row["ratio"]:.2f}', flush=True)
        rows.append(row)
    text = markdown(rows, torch.get_num_threads())
    print(text)
    if args.out_md:
        os.makedirs(osp.dirname(osp.abspath(args.out_md)), exist_ok=True)
        with open(args.out_md, 'w') as f:
            f.write(text)
    return rows


if __name__ == '__main__':
    main()

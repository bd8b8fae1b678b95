"""Training-step time of VRM against KD on the same 2B images.

VRM (configs/vrm/vrm_resnet32x4_resnet8x4_1xb64_cifar100.py) gets B samples
in two views; KD (configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py) gets
2B single images. Both run one forward of teacher and student and the
student's backward on 2B images; the difference is VRMLoss against KD's KL
divergence, and VRM's CE on B rows. Random weights and inputs.

Example::

    python tools/analysis/vrm_step_time.py --batch 64 --repeat 5
"""
import argparse
import time

import torch

import relkd_mm  # noqa: F401  (compat patches before any mm* import)

CONFIGS = dict(
    vrm='configs/vrm/vrm_resnet32x4_resnet8x4_1xb64_cifar100.py',
    kd='configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py')


def build(path):
    from mmengine.config import Config
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(path)
    model = dict(cfg.model, teacher_ckpt=None)
    model.setdefault('data_preprocessor', cfg.data_preprocessor)
    return MODELS.build(model)


def step_time(name, batch, repeat, device):
    from mmpretrain.structures import DataSample
    algo = build(CONFIGS[name])
    algo.to(device)
    algo.train()
    optim = torch.optim.SGD(algo.student.parameters(), lr=0.01)
    images = torch.randn(2 * batch, 3, 32, 32, device=device)
    if name == 'vrm':
        inputs = [images[:batch], images[batch:]]
        samples = [DataSample().set_gt_label(i % 100) for i in range(batch)]
    else:
        inputs = images
        samples = [
            DataSample().set_gt_label(i % 100) for i in range(2 * batch)
        ]
    times = []
    for _ in range(repeat + 1):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = sum(v for k, v in algo.loss(inputs, samples).items()
                   if 'loss' in k)
        optim.zero_grad()
        loss.backward()
        optim.step()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[repeat // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch', type=int, default=64, help='B')
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    print(f'resnet32x4 -> resnet8x4, 2B = {2 * args.batch} images per step, '
          f'device={args.device}, median of {args.repeat}')
    for name in ('kd', 'vrm'):
        ms = 1000 * step_time(name, args.batch, args.repeat, args.device)
        print(f'{name}: {ms:.0f} ms per step')


if __name__ == '__main__':
    main()

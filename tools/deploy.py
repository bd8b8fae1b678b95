"""Deploy an MMPretrain classifier (e.g. an exported student) with mmdeploy:
convert it to ONNX and check onnxruntime's predictions against PyTorch's.

    python tools/deploy.py MODEL_CONFIG CHECKPOINT WORK_DIR \\
        [--deploy-cfg configs/deploy/classification_onnxruntime_dynamic.py] \\
        [--num-images 64] [--img IMG ...]

Needs the ``deploy`` extra (``pip install -e .[deploy]``: mmdeploy 1.3.1,
onnx, onnxruntime). Writes ``WORK_DIR/end2end.onnx`` (mmdeploy's
``torch2onnx``, the same call as mmdeploy's own ``tools/deploy.py``) and
``WORK_DIR/deploy_check.json``: the largest absolute difference between the
class scores of PyTorch and onnxruntime, and whether their top-1 agree, on
the first ``--num-images`` images of the config's test set (or on
``--img`` files). The exit status is 1 when top-1 differs anywhere or the
scores differ by more than ``--atol``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, ROOT)
import relkd_mm  # noqa: E402,F401  (applies the compat patches first)
import torch  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.utils import ProgressBar  # noqa: E402

from relkd_mm.compat import patch_onnx_export_default  # noqa: E402
# isort: on

DEFAULT_DEPLOY_CFG = osp.join(ROOT, 'configs', 'deploy',
                              'classification_onnxruntime_dynamic.py')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Convert an MMPretrain classifier to ONNX with mmdeploy '
        'and check onnxruntime against PyTorch.')
    parser.add_argument('model_cfg', help='MMPretrain model config')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('work_dir', help='where end2end.onnx is written')
    parser.add_argument('--deploy-cfg', default=DEFAULT_DEPLOY_CFG,
                        help='mmdeploy deploy config (default: '
                        'configs/deploy/classification_onnxruntime_dynamic'
                        '.py)')
    parser.add_argument('--img', nargs='+',
                        help='image files to check on (default: the first '
                        '--num-images of the test set)')
    parser.add_argument('--num-images', type=int, default=64)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest accepted |score difference| '
                        '(default 1e-4)')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def require_mmdeploy():
    try:
        import mmdeploy  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as exc:
        sys.exit(f'{exc.name} is not installed: pip install -e ".[deploy]" '
                 '(mmdeploy 1.3.1, onnx, onnxruntime; see docs/deploy.md).')


def test_images(model_cfg, num_images):
    """The first ``num_images`` raw images of the config's test set."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    dataset_cfg = dict(model_cfg.test_dataloader.dataset)
    # Raw images: mmdeploy applies the test pipeline itself.
    dataset_cfg.update(pipeline=[], indices=num_images)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(dataset_cfg)
    images = []
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        images.append(info['img'] if 'img' in info else info['img_path'])
    return images


def scores(model, task_processor, images, batch_size, progress):
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        data, _ = task_processor.create_input(batch, None)
        with torch.no_grad():
            results = model.test_step(data)
        out += [r.pred_score.float().cpu() for r in results]
        progress.update(len(batch))
    return torch.stack(out)


def require_classifier_config(model_cfg_path):
    """mmdeploy converts MMPretrain classifiers; a distillation config
    (teacher + student + distiller) fails deep inside it."""
    from mmengine.config import Config
    model = Config.fromfile(model_cfg_path).get('model', {}) or {}
    kind = str(model.get('type', ''))
    if 'architecture' in model and ('teacher' in model or
                                    kind.endswith('Distill')):
        raise SystemExit(
            f'{model_cfg_path} is a distillation config (model.type='
            f'{kind!r}): mmdeploy converts the student alone. Export the '
            'student first (tools/export_student.py): python '
            f'tools/export_student.py {model_cfg_path} CHECKPOINT OUT_DIR, '
            'then deploy OUT_DIR/<name>.py with OUT_DIR/<name>.pth.')


def deploy(model_cfg_path, checkpoint, work_dir, deploy_cfg_path=None,
           imgs=None, num_images=64, batch_size=16, device='cpu'):
    """Convert with mmdeploy and compare; returns the check as a dict."""
    require_classifier_config(model_cfg_path)
    require_mmdeploy()
    patch_onnx_export_default()
    from mmdeploy.apis import torch2onnx
    from mmdeploy.apis.utils import build_task_processor
    from mmdeploy.utils import get_onnx_config, load_config

    deploy_cfg_path = deploy_cfg_path or DEFAULT_DEPLOY_CFG
    deploy_cfg, model_cfg = load_config(deploy_cfg_path, model_cfg_path)
    images = imgs or test_images(model_cfg, num_images)
    if not images:
        raise ValueError('No image to check on: pass --img or a config '
                         'whose test set is not empty.')
    os.makedirs(work_dir, exist_ok=True)
    save_file = get_onnx_config(deploy_cfg)['save_file']
    onnx_file = osp.join(work_dir, save_file)

    start = time.time()
    torch2onnx(images[0], work_dir, save_file, deploy_cfg_path,
               model_cfg_path, checkpoint, device)
    export_s = time.time() - start
    print_log(f'ONNX model written to {onnx_file} in {export_s:.1f} s.',
              logger='current')

    task_processor = build_task_processor(model_cfg, deploy_cfg, device)
    torch_model = task_processor.build_pytorch_model(checkpoint)
    backend_model = task_processor.build_backend_model(
        [onnx_file], task_processor.update_data_preprocessor)
    print_log(f'Comparing PyTorch and onnxruntime on {len(images)} images',
              logger='current')
    progress = ProgressBar(2 * len(images))
    ref = scores(torch_model, task_processor, images, batch_size, progress)
    got = scores(backend_model, task_processor, images, batch_size,
                 progress)
    progress.file.write('\n')
    same = ref.argmax(1) == got.argmax(1)
    check = dict(
        onnx_file=onnx_file, deploy_cfg=deploy_cfg_path,
        model_cfg=model_cfg_path, checkpoint=checkpoint,
        num_images=len(images), export_seconds=round(export_s, 2),
        max_abs_score_diff=float((ref - got).abs().max()),
        top1_identical=bool(same.all()),
        top1_mismatches=int((~same).sum()),
        torch_version=torch.__version__)
    with open(osp.join(work_dir, 'deploy_check.json'), 'w') as f:
        json.dump(check, f, indent=1)
    return check


def main():
    args = parse_args()
    check = deploy(args.model_cfg, args.checkpoint, args.work_dir,
                   args.deploy_cfg, args.img, args.num_images,
                   args.batch_size, args.device)
    ok = check['top1_identical'] and \
        check['max_abs_score_diff'] <= args.atol
    print_log(
        f'onnxruntime vs PyTorch on {check["num_images"]} images: max '
        f'|score diff| {check["max_abs_score_diff"]:.2e} (atol '
        f'{args.atol:g}), top-1 identical: {check["top1_identical"]}'
        f'{"" if ok else " -- MISMATCH"}', logger='current')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())

# Convert a RepDistiller / mdistiller checkpoint into an MMPretrain
# ImageClassifier checkpoint built from configs/_base_/models/.
#
#   python tools/convert_repdistiller_teacher.py \
#       resnet32x4_vanilla/ckpt_epoch_240.pth \
#       checkpoints/cifar100/resnet32x4.pth --arch resnet32x4
#
# Key mapping (every arch): the final linear layer of the source
# (`fc`, `linear`, `classifier` or `classifier.0`) becomes `head.fc`, every
# other key gets the prefix `backbone.`; in addition `shortcut` ->
# `downsample` for ResNet50 (mmpretrain's ResNet_CIFAR) and `model.` ->
# `layers.` for mdistiller's ImageNet MobileNetV1. The result is verified by
# loading it strictly into the model of the arch's base config.
import argparse
import os
import os.path as osp
import pickle
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
# Before any mm* import: relkd_mm applies the compat patches.
import relkd_mm  # noqa: E402,F401 isort:skip
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402

from relkd_mm.models.utils import CheckpointMismatchError  # noqa: E402
from relkd_mm.models.utils.strict_loading import SHOWN  # noqa: E402
from relkd_mm.models.utils.strict_loading import load_strictly  # noqa: E402
from relkd_mm.runner.checkpoint import load_checkpoint_file  # noqa: E402

CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '_base_',
    'models')

# lower-cased arch -> (config under CONFIG_ROOT, source classifier prefix,
# extra (old, new) substring renames of the backbone keys)
ARCHS = {
    **{
        name: ('cifar100', 'fc', ())
        for name in ('resnet8', 'resnet14', 'resnet20', 'resnet32',
                     'resnet44', 'resnet56', 'resnet110', 'resnet8x4',
                     'resnet32x4', 'wrn_16_1', 'wrn_16_2', 'wrn_40_1',
                     'wrn_40_2')
    },
    **{
        f'vgg{depth}': ('cifar100', 'classifier', ())
        for depth in (8, 11, 13, 16, 19)
    },
    'mobilenetv2': ('cifar100', 'classifier.0', ()),
    'shufflev1': ('cifar100', 'linear', ()),
    'shufflev2': ('cifar100', 'linear', ()),
    'resnet50': ('cifar100', 'linear', (('.shortcut.', '.downsample.'), )),
    'mobilenetv1': ('imagenet', 'fc', (('model.', 'layers.'), )),
}
CONFIG_NAMES = {'mobilenetv1': 'mobilenet_v1'}


def config_path(arch):
    """Base model config of ``arch`` (any case, RepDistiller spelling)."""
    key = arch.lower()
    if key not in ARCHS:
        raise KeyError(f'unknown --arch {arch!r}; choose one of '
                       f'{sorted(ARCHS)} (any case).')
    name = CONFIG_NAMES.get(key, key)
    return osp.join(CONFIG_ROOT, ARCHS[key][0], f'{name}.py')


def extract_state_dict(checkpoint):
    """The model weights of a RepDistiller / mdistiller file.

    Accepts ``{'model': state_dict, ...}`` (RepDistiller, mdistiller's
    teachers and ``student_*`` files), ``{'state_dict': ...}`` and a bare
    state dict. A ``module.`` prefix (DataParallel) is removed; in
    mdistiller's full training checkpoints (``student.*`` and
    ``teacher.*`` keys) the trained model is the student, so its keys are
    kept and the teacher's dropped.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointMismatchError(
            f'expected a dict, got {type(checkpoint).__name__}.')
    state = checkpoint
    for key in ('model', 'state_dict'):
        if isinstance(checkpoint.get(key), dict):
            state = checkpoint[key]
            break
    not_tensors = [k for k, v in state.items() if not torch.is_tensor(v)]
    if not_tensors:
        raise CheckpointMismatchError(
            "no state dict found: expected {'model': state_dict}, "
            "{'state_dict': state_dict} or a bare state dict; these entries "
            f'are not tensors: {not_tensors[:SHOWN]}.')
    state = {
        k[len('module.'):] if k.startswith('module.') else k: v
        for k, v in state.items()
    }
    if any(k.startswith('student.') for k in state):
        state = {
            k[len('student.'):]: v
            for k, v in state.items() if k.startswith('student.')
        }
    return state


def map_keys(state, arch):
    """Rename source keys to ImageClassifier keys (see the module
    header); floating tensors become float32."""
    _, head, renames = ARCHS[arch.lower()]
    converted = {}
    for key, value in state.items():
        if key.startswith(head + '.'):
            new_key = 'head.fc.' + key[len(head) + 1:]
        else:
            new_key = key
            for old, new in renames:
                new_key = new_key.replace(old, new)
            new_key = 'backbone.' + new_key
        if value.is_floating_point():
            value = value.float()
        converted[new_key] = value
    return converted


def build_model(arch):
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config_path(arch))
    return MODELS.build(cfg.model)


def check_and_load(model, state, arch, source):
    """Load ``state`` strictly into ``model``; raise
    :class:`CheckpointMismatchError` naming every kind of mismatch
    (:func:`relkd_mm.models.utils.strict_loading.load_strictly`)."""
    load_strictly(
        model, state, source, 'convert_repdistiller_teacher',
        'Is it the checkpoint of another architecture? Key names are after '
        'the mapping (backbone.*, head.fc.*).',
        target=f'--arch {arch} ({config_path(arch)})')


def convert(src, arch):
    """Return ``(model, checkpoint)``: the model with the converted weights
    and the dict to save."""
    config_path(arch)  # fail on an unknown arch before reading the file
    source = load_checkpoint_file(src, map_location='cpu')
    state = map_keys(extract_state_dict(source), arch)
    model = build_model(arch)
    check_and_load(model, state, arch, src)
    meta = dict(source=str(src), arch=arch, converter='relkd_mm')
    if isinstance(source, dict) and isinstance(source.get('epoch'), int):
        meta['epoch'] = source['epoch']
    weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
    return model, dict(state_dict=weights, meta=meta)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a RepDistiller/mdistiller checkpoint into an '
        'MMPretrain ImageClassifier checkpoint (verified strictly).')
    parser.add_argument('src', help='RepDistiller/mdistiller checkpoint')
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument(
        '--arch',
        required=True,
        help='model name as RepDistiller/mdistiller spell it (any case): '
        + ', '.join(sorted(ARCHS)))
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    model, checkpoint = convert(args.src, args.arch)
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save(checkpoint, args.dst)
    num_params = sum(p.numel() for p in model.parameters())
    print(f'{args.src} -> {args.dst}\n'
          f'  arch {args.arch}, config {config_path(args.arch)}\n'
          f'  {len(checkpoint["state_dict"])} tensors, {num_params:,} '
          'parameters, loaded strictly')
    return args.dst


if __name__ == '__main__':
    try:
        main()
    except (CheckpointMismatchError, KeyError, FileNotFoundError,
            pickle.UnpicklingError) as exc:
        sys.exit(f'error: {exc.args[0] if exc.args else exc}')

"""Export the student of a distillation checkpoint as a plain MMPretrain
model: a student-only checkpoint and a standalone config.

    python tools/export_student.py CONFIG CHECKPOINT OUT_DIR [--name NAME]

writes ``OUT_DIR/NAME.py`` and ``OUT_DIR/NAME.pth`` (NAME defaults to the
config's name with ``_student``). The config holds the student's model (with
its data preprocessor), the test pipeline, dataloader and evaluator of the
distillation config, ``default_scope='mmpretrain'`` and, when the student
uses relkd_mm's backbones, ``custom_imports = dict(imports=['relkd_mm'])``;
nothing of MMRazor. The pair works with MMPretrain's ``get_model`` /
``init_model`` / ``ImageClassificationInferencer``, ``tools/test.py`` and
mmdeploy. The student's weights are checked to load with ``strict=True``
before anything is written.
"""
import argparse
import copy
import os
import os.path as osp
import sys

# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import relkd_mm  # noqa: E402,F401  (applies the compat patches first)
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.hub import get_config  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from relkd_mm.models.utils.strict_loading import load_strictly  # noqa: E402
from relkd_mm.runner.checkpoint import load_checkpoint_file  # noqa: E402
from relkd_mm.utils import register_all_modules  # noqa: E402
from relkd_mm.utils.cli import DictAction  # noqa: E402
# isort: on

PREFIX = 'architecture.'
#: Keys of the distillation config copied into the standalone one.
COPIED = ('test_dataloader', 'test_evaluator', 'default_hooks', 'env_cfg',
          'vis_backends', 'visualizer', 'log_level', 'test_pipeline')
#: What mmdeploy's and MMEngine's test tools need when the source lacks it.
DEFAULTS = dict(
    test_cfg=dict(),
    default_hooks=dict(
        timer=dict(type='IterTimerHook'),
        logger=dict(type='LoggerHook', interval=100),
        param_scheduler=dict(type='ParamSchedulerHook'),
        checkpoint=dict(type='CheckpointHook', interval=1),
        sampler_seed=dict(type='DistSamplerSeedHook'),
        visualization=dict(type='VisualizationHook', enable=False)),
    env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='nccl')),
    vis_backends=[dict(type='LocalVisBackend')],
    visualizer=dict(type='UniversalVisualizer',
                    vis_backends=[dict(type='LocalVisBackend')]),
    log_level='INFO')


def parse_args():
    parser = argparse.ArgumentParser(
        description='Export the student of a distillation checkpoint as an '
        'MMPretrain config + student-only checkpoint.')
    parser.add_argument('config', help='the distillation config')
    parser.add_argument('checkpoint', help='the distillation checkpoint')
    parser.add_argument('out_dir', help='folder for NAME.py and NAME.pth')
    parser.add_argument(
        '--name', help='file name stem; default: <config name>_student')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='overrides of the distillation config (key=value), e.g. the '
        "test set's data_root")
    return parser.parse_args()


def student_model_cfg(cfg):
    """The student's model dict, with its data preprocessor, in MMPretrain's
    scope."""
    model = cfg.get('model')
    if model is None or 'architecture' not in model:
        raise ValueError(
            f"model.architecture: {cfg.filename} has no "
            "'model.architecture'. Pass a distillation config (an MMRazor "
            'algorithm such as SingleTeacherDistill), not a plain model.')
    arch = copy.deepcopy(model.architecture)
    if 'cfg_path' in arch:
        student = copy.deepcopy(get_config(arch.cfg_path).model)
        if arch.get('pretrained', False):
            print_log(f'architecture.pretrained={arch.pretrained!r} is '
                      'ignored: the weights come from the checkpoint.',
                      logger='current')
    else:
        student = arch
    if student.get('_scope_') == 'mmpretrain':
        del student['_scope_']
    preprocessor = model.get('data_preprocessor') or cfg.get(
        'data_preprocessor')
    if student.get('data_preprocessor') is None and preprocessor:
        student['data_preprocessor'] = plain_preprocessor(preprocessor)
    return student


def plain_preprocessor(preprocessor):
    """The test-time equivalent of the distiller's data preprocessor:
    MMPretrain's ``ClsDataPreprocessor`` with the same normalisation."""
    keep = ('mean', 'std', 'to_rgb', 'pad_size_divisor', 'pad_value',
            'num_classes', 'to_onehot')
    out = dict(type='ClsDataPreprocessor')
    out.update({k: copy.deepcopy(v) for k, v in preprocessor.items()
                if k in keep})
    return out


def uses_relkd_mm(model_cfg):
    """Whether any component named in the model dict is relkd_mm's."""
    from mmpretrain.registry import MODELS
    found = []

    def walk(node):
        if isinstance(node, dict):
            kind = node.get('type')
            if isinstance(kind, str):
                cls = MODELS.get(kind)
                if cls is not None and cls.__module__.startswith('relkd_mm'):
                    found.append(kind)
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        walk(model_cfg)
    return bool(found)


def student_state_dict(checkpoint, filename):
    state = checkpoint.get('state_dict', checkpoint)
    student = {k[len(PREFIX):]: v for k, v in state.items()
               if k.startswith(PREFIX)}
    if not student:
        sample = ', '.join(list(state)[:5])
        raise KeyError(
            f'{filename}: no key starts with {PREFIX!r} (first keys: '
            f'{sample}). Pass the checkpoint of a distillation run '
            '(SingleTeacherDistill or a subclass), whose student weights '
            'are under model.architecture.')
    return student


def check_strict(model_cfg, state_dict, source='the student weights'):
    """Build the student and load ``state_dict`` strictly
    (:func:`relkd_mm.models.utils.strict_loading.load_strictly`)."""
    from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(copy.deepcopy(model_cfg))
    load_strictly(model, state_dict, source, 'export_student',
                  'Is the checkpoint from this config?',
                  target='the student model')


def standalone_config(cfg, model_cfg):
    out = dict(default_scope='mmpretrain', model=model_cfg)
    if model_cfg.get('data_preprocessor'):
        # MMPretrain configs keep it top-level too; mmdeploy reads it there.
        out['data_preprocessor'] = copy.deepcopy(
            model_cfg['data_preprocessor'])
    if uses_relkd_mm(model_cfg):
        out['custom_imports'] = dict(imports=['relkd_mm'],
                                     allow_failed_imports=False)
    for key in COPIED:
        if key in cfg:
            out[key] = copy.deepcopy(cfg[key])
    plain_checkpoint_hook(out.get('default_hooks'))
    for key, value in DEFAULTS.items():
        out.setdefault(key, copy.deepcopy(value))
    if 'test_dataloader' not in out:
        raise ValueError(f'test_dataloader: {cfg.filename} has none; the '
                         'exported config needs its test pipeline.')
    if grey_pipeline(out['test_dataloader'], model_cfg):
        out['custom_imports'] = dict(imports=['relkd_mm'],
                                     allow_failed_imports=False)
    # Validation runs the test set, as a plain MMPretrain config would.
    out['val_dataloader'] = copy.deepcopy(out['test_dataloader'])
    out['val_evaluator'] = copy.deepcopy(out.get('test_evaluator'))
    out['val_cfg'] = dict()
    out['test_cfg'] = dict()
    return Config(out)


def plain_checkpoint_hook(default_hooks):
    """MMEngine's ``CheckpointHook`` (same arguments) for relkd_mm's
    subclass in ``default_hooks``: the exported config is a plain MMPretrain
    one, which nothing of MMRazor's scope or relkd_mm's runtime builds."""
    from mmengine.hooks import CheckpointHook
    from mmrazor.registry import HOOKS
    hook = (default_hooks or {}).get('checkpoint')
    kind = hook.get('type') if isinstance(hook, dict) else None
    if isinstance(kind, str):
        cls = HOOKS.get(kind)
        if cls is not CheckpointHook and isinstance(cls, type) and \
                issubclass(cls, CheckpointHook):
            hook['type'] = 'CheckpointHook'


def input_channels(model_cfg):
    """The channels the student's input has: its data preprocessor's
    ``mean`` length, else its backbone's ``in_channels``, else 3."""
    mean = (model_cfg.get('data_preprocessor') or {}).get('mean')
    if mean is not None:
        return len(mean)
    return (model_cfg.get('backbone') or {}).get('in_channels', 3)


def grey_pipeline(dataloader, model_cfg):
    """Make the test pipeline of a grey student read images in grey.

    MMPretrain's ``ImageClassificationInferencer`` drops
    ``LoadImageFromFile`` and reads files in colour itself, so the
    pipeline starts with relkd_mm's ``ConvertColorType`` (a no-op on grey
    arrays, e.g. the Fashion-MNIST test set), and a ``LoadImageFromFile``
    reads in grey. Returns whether the pipeline was changed."""
    if input_channels(model_cfg) != 1:
        return False
    dataset = dataloader.get('dataset') or {}
    while 'pipeline' not in dataset and isinstance(
            dataset.get('dataset'), dict):  # a wrapper: ClassSubsetDataset
        dataset = dataset['dataset']
    pipeline = list(dataset.get('pipeline') or [])
    if any(t.get('type') == 'ConvertColorType' for t in pipeline):
        return False
    at = 0
    for k, transform in enumerate(pipeline):
        if transform.get('type') in ('LoadImageFromFile',
                                     'mmpretrain.LoadImageFromFile'):
            transform['color_type'] = 'grayscale'
            at = k + 1
    pipeline.insert(at, dict(type='ConvertColorType',
                             color_type='grayscale'))
    dataset['pipeline'] = pipeline
    return True


def plain_meta(meta):
    """The checkpoint meta MMPretrain reads (classes), as plain types, so
    that the student checkpoint loads with ``weights_only=True``."""
    dataset_meta = (meta or {}).get('dataset_meta') or {}
    classes = dataset_meta.get('classes')
    out = {}
    if classes is not None:
        out['dataset_meta'] = dict(classes=[str(c) for c in classes])
    return out


def _same_file(a, b):
    if osp.exists(a) and osp.exists(b):
        return osp.samefile(a, b)
    return osp.realpath(a) == osp.realpath(b)


def refuse_overwriting_inputs(outputs, inputs):
    """Raise before anything is read or written when an output file is one
    of the inputs (``OUT_DIR`` the run's folder and ``--name`` the
    checkpoint's stem): the distillation checkpoint (its optimizer state,
    hence ``--resume``) or the source config would be replaced by the
    export."""
    for out in outputs:
        for source in inputs:
            if _same_file(out, source):
                raise FileExistsError(
                    f'tools/export_student.py would overwrite its own input '
                    f'{source} with the exported {osp.basename(out)} '
                    '(OUT_DIR and --name name the input file): the '
                    'distillation checkpoint or config would be lost. Pass '
                    'another OUT_DIR or --name, e.g. --name '
                    f'{osp.splitext(osp.basename(out))[0]}_student.')


def export(config, checkpoint, out_dir, name=None, cfg_options=None):
    """Write ``out_dir/name.py`` and ``out_dir/name.pth``; return both."""
    name = name or osp.splitext(osp.basename(config))[0] + '_student'
    cfg_out = osp.join(out_dir, name + '.py')
    ckpt_out = osp.join(out_dir, name + '.pth')
    refuse_overwriting_inputs(
        {cfg_out: config, ckpt_out: checkpoint}, [config, checkpoint])
    register_all_modules(False)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model_cfg = student_model_cfg(cfg)
    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state_dict = student_state_dict(ckpt, checkpoint)
    check_strict(model_cfg, state_dict, checkpoint)

    os.makedirs(out_dir, exist_ok=True)
    text = standalone_config(cfg, model_cfg).pretty_text
    with open(cfg_out, 'w') as f:
        f.write(f'# The student of {osp.basename(config)}, exported by '
                'tools/export_student.py\n# with its weights in '
                f'{osp.basename(ckpt_out)} (an MMPretrain model: no '
                'distillation part).\n' + text)
    meta = plain_meta(ckpt.get('meta'))
    meta['relkd_mm'] = dict(
        exported_from=dict(config=osp.abspath(config),
                           checkpoint=osp.abspath(checkpoint)))
    torch.save(dict(meta=meta, state_dict=state_dict), ckpt_out)
    print_log(f'Student ({len(state_dict)} tensors, '
              f'{sum(v.numel() for v in state_dict.values()):,} values) '
              f'written to {ckpt_out}, its config to {cfg_out}.',
              logger='current')
    return cfg_out, ckpt_out


def main():
    args = parse_args()
    export(args.config, args.checkpoint, args.out_dir, args.name,
           args.cfg_options)


if __name__ == '__main__':
    main()

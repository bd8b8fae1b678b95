"""Size of a distillation checkpoint with the teacher (MMRazor's, and
``TeacherCheckpointHook(save_teacher=True)``) and without it (relkd_mm's
default: :mod:`relkd_mm.runner.teacher_checkpoint`).

Each config's model is built from the real config (random weights, no
teacher checkpoint), its optimizer from the config's ``optim_wrapper``,
stepped once with zero gradients so that its state (SGD's momentum) exists
as in a training checkpoint. Both files are written with ``torch.save``
into a temporary folder, the student-only one after
:func:`~relkd_mm.runner.teacher_checkpoint.strip_teacher` (the teacher's
weights written to a teacher file first, which the record names); the
sizes are those of the files. The message hub and the random states,
which a real checkpoint adds, are a few KiB.

Example::

    python tools/analysis/checkpoint_size.py \\
        configs/vrm/r50_mbv2_imagenet.py \\
        configs/vrm/vrm_resnet50_mobilenetv2_1xb64_cifar100.py
"""
import argparse
import copy
import os.path as osp
import sys
import tempfile

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
import relkd_mm  # noqa: E402,F401 isort:skip
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from relkd_mm.runner.teacher_checkpoint import strip_teacher  # noqa: E402

MIB = 2**20


def build(config):
    cfg = Config.fromfile(config)
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg['teacher_ckpt'] = None  # random weights: sizes only
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmrazor')):
        model = MODELS.build(model_cfg)
        wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    for param in model.parameters():
        if param.requires_grad:
            param.grad = torch.zeros_like(param)
    wrapper.step()
    return model, wrapper


def measure(config):
    """Sizes in bytes: ``teacher`` (its tensors), ``full`` and
    ``student_only`` (the files)."""
    model, wrapper = build(config)
    state = model.state_dict()
    with tempfile.TemporaryDirectory() as tmp:
        teacher_path = osp.join(tmp, 'teacher.pth')
        torch.save(dict(state_dict=model.teacher.state_dict()), teacher_path)

        def write(name, checkpoint):
            path = osp.join(tmp, name)
            torch.save(checkpoint, path)
            return osp.getsize(path)

        checkpoint = dict(meta=dict(epoch=1), state_dict=dict(state),
                          optimizer=wrapper.state_dict())
        full = write('full.pth', checkpoint)
        teacher = strip_teacher(checkpoint, teacher_path)
        student_only = write('student_only.pth', checkpoint)
    return dict(teacher=teacher, full=full, student_only=student_only)


def table(rows):
    lines = ['| config | teacher tensors (MiB) | checkpoint with the teacher '
             '(MiB) | student-only (MiB) | saved |', '|---|---|---|---|---|']
    for config, size in rows:
        saved = 1 - size['student_only'] / size['full']
        lines.append(f'| `{config}` | {size["teacher"] / MIB:.1f} | '
                     f'{size["full"] / MIB:.1f} | '
                     f'{size["student_only"] / MIB:.1f} | {saved:.0%} |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='+', help='distillation configs')
    args = parser.parse_args(argv)
    print(table([(c, measure(c)) for c in args.configs]))


if __name__ == '__main__':
    main()

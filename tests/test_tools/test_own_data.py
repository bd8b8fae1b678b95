"""docs/own_data.md end to end: its config files, written into a folder
outside the repository, on a generated ImageNet-style image folder; the
teacher trained by tools/train.py as a subprocess, then the RRD + KD
distiller, tools/test.py, tools/export_student.py and the exported pair
(in this process)."""
import glob
import os
import os.path as osp
import re

import numpy as np
import pytest

from tests.train_utils import REPO, log_text, run_inprocess

DOC = osp.join(REPO, 'docs', 'own_data.md')
CLASSES = ('circle', 'square', 'stripes')


def doc_files():
    """``{name: text}`` of the doc's ``# my_project/<name>`` blocks."""
    with open(DOC) as f:
        text = f.read()
    blocks = re.findall(r'```python\n# my_project/(\S+)\n(.*?)```', text,
                        re.S)
    return {name: body for name, body in blocks}


def make_image_folder(root, per_class=8, size=32, seed=0):
    """``root/{train,val}/<class>/*.png|jpg``: a bright pattern per class
    on noise."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    for split in ('train', 'val'):
        for label, name in enumerate(CLASSES):
            folder = osp.join(root, split, name)
            os.makedirs(folder)
            for i in range(per_class):
                img = rng.integers(0, 80, (size, size, 3))
                if label == 0:
                    img[8:24, 8:24, 0] = 250
                elif label == 1:
                    img[2:10, 2:30, 1] = 250
                else:
                    img[:, ::4, 2] = 250
                ext = 'png' if i % 2 else 'jpg'
                Image.fromarray(img.astype(np.uint8)).save(
                    osp.join(folder, f'{i}.{ext}'))
    return root


def top1(text, prefix=''):
    found = re.findall(re.escape(prefix) + r'accuracy/top1: ([\d.]+)', text)
    assert found, text[-3000:]
    return float(found[-1])


def options(data, tag):
    loaders = ('train_dataloader', 'val_dataloader', 'test_dataloader')
    return [*(f'{d}.dataset.data_root={data}' for d in loaders),
            *(f'{d}.num_workers=0' for d in loaders),
            'train_dataloader.batch_size=8', 'train_cfg.max_epochs=2',
            'param_scheduler.T_max=2', 'default_hooks.logger.interval=1',
            'randomness.seed=0', f'experiment_name=own_data_{tag}']


def test_own_data_walkthrough(tmp_path, tool):
    files = doc_files()
    assert set(files) == {'common.py', 'teacher.py', 'rrd_kd.py'}
    project = tmp_path / 'my_project'
    project.mkdir()
    for name, body in files.items():
        (project / name).write_text(body)
    assert not str(project).startswith(REPO)
    data = make_image_folder(str(project / 'data' / 'my_dataset'))
    work = project / 'work_dirs'

    # The teacher, by the real command line.
    tool('train.py', project / 'teacher.py', '--work-dir', work / 'teacher',
         '--cfg-options', *options(data, 'teacher'))
    teacher_ckpt = work / 'teacher' / 'epoch_2.pth'
    assert teacher_ckpt.is_file()
    assert 0 <= top1(log_text(work / 'teacher')) <= 100

    run_inprocess('train.py', project / 'rrd_kd.py', '--work-dir',
                  work / 'rrd_kd', '--cfg-options', *options(data, 'rrd'),
                  f'model.teacher_ckpt={teacher_ckpt}')
    ckpt = work / 'rrd_kd' / 'epoch_2.pth'
    assert ckpt.is_file()
    train_log = log_text(work / 'rrd_kd')
    assert 'loss_rrd' in train_log and 'loss_kd' in train_log
    assert 0 <= top1(train_log, 'teacher.') <= 100

    test_opts = [f'test_dataloader.dataset.data_root={data}',
                 'test_dataloader.num_workers=0',
                 f'model.teacher_ckpt={teacher_ckpt}']
    run_inprocess('test.py', project / 'rrd_kd.py', ckpt, '--work-dir',
                  work / 'test', '--cfg-options', *test_opts,
                  'experiment_name=own_data_test')
    student = top1(log_text(work / 'test'))

    run_inprocess('export_student.py', project / 'rrd_kd.py', ckpt,
                  work / 'student', '--cfg-options', *test_opts)
    cfg = work / 'student' / 'rrd_kd_student.py'
    pth = work / 'student' / 'rrd_kd_student.pth'
    assert cfg.is_file() and pth.is_file()
    assert 'relkd_mm' in cfg.read_text()  # custom_imports kept
    run_inprocess('test.py', cfg, pth, '--work-dir', work / 'test_export',
                  '--cfg-options', 'experiment_name=own_data_export')
    assert top1(log_text(work / 'test_export')) == pytest.approx(student)
    assert glob.glob(str(work / 'test_export' / '*' / '*.json'))

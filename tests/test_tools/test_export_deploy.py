"""The student leaves the distiller: tools/export_student.py writes a
student-only checkpoint and a plain MMPretrain config that MMPretrain's APIs
load strictly and that tests to exactly the student's accuracy;
tools/deploy.py takes it through mmdeploy to onnxruntime."""
import contextlib
import io
import json
import os.path as osp
import re

import pytest
import torch

from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import run_inprocess

KD_CFG = 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py'


def _data_opts(root):
    return [f'{loader}.dataset.data_root={root}' for loader in (
        'train_dataloader', 'val_dataloader', 'test_dataloader')]


def _top1(proc):
    found = re.findall(r'accuracy/top1: ([0-9.]+)', proc.stdout + proc.stderr)
    assert found, proc.stdout[-2000:] + proc.stderr[-2000:]
    return float(found[-1])


@pytest.fixture(scope='module')
def exported(tmp_path_factory, tool):
    tmp = tmp_path_factory.mktemp('export')
    root = make_fashion_mnist(str(tmp / 'fmnist'))
    work = str(tmp / 'kd')
    # Training in this process (train.py's CLI is tested in
    # test_train_e2e.py); test.py and export_student.py as a user runs them.
    run_inprocess('train.py', KD_CFG, '--work-dir', work, '--cfg-options',
                  *_data_opts(root), 'train_cfg.max_epochs=1',
                  'randomness.seed=0', 'train_dataloader.batch_size=32',
                  'model.allow_random_teacher=True',
                  'experiment_name=export_kd')
    ckpt = osp.join(work, 'epoch_1.pth')
    distill_top1 = _top1(tool('test.py', KD_CFG, ckpt, '--work-dir',
                              str(tmp / 'test_kd'), '--cfg-options',
                              *_data_opts(root)))
    out = str(tmp / 'student')
    tool('export_student.py', KD_CFG, ckpt, out, '--cfg-options',
         *_data_opts(root))
    name = 'kd_wrn-16-2_resnet8_fmnist_student'
    return dict(cfg=osp.join(out, name + '.py'),
                ckpt=osp.join(out, name + '.pth'), distill_ckpt=ckpt,
                distill_top1=distill_top1, root=root, tmp=tmp)


def test_student_only_checkpoint(exported):
    ckpt = torch.load(exported['ckpt'], weights_only=True)  # plain types
    full = torch.load(exported['distill_ckpt'], weights_only=False)
    student = {k[len('architecture.'):]: v
               for k, v in full['state_dict'].items()
               if k.startswith('architecture.')}
    assert set(ckpt['state_dict']) == set(student)
    for key, value in student.items():
        assert torch.equal(ckpt['state_dict'][key], value), key
    assert not any(k.startswith(('teacher', 'distiller'))
                   for k in ckpt['state_dict'])
    assert len(ckpt['meta']['dataset_meta']['classes']) == 10


def test_standalone_config(exported):
    from mmengine.config import Config
    text = open(exported['cfg']).read()
    for foreign in ('mmrazor', 'SingleTeacherDistill', 'teacher',
                    'distiller', 'RandomStateHook'):
        assert foreign not in text, foreign
    cfg = Config.fromfile(exported['cfg'])
    assert cfg.default_scope == 'mmpretrain'
    assert cfg.custom_imports.imports == ['relkd_mm']
    assert cfg.model.type == 'ImageClassifier'
    assert cfg.model.data_preprocessor.type == 'ClsDataPreprocessor'
    for key in ('visualizer', 'default_hooks', 'test_cfg', 'test_pipeline',
                'test_dataloader', 'test_evaluator', 'data_preprocessor'):
        assert key in cfg, key


def _assert_loaded(model, exported):
    state = torch.load(exported['ckpt'], weights_only=True)['state_dict']
    got = model.state_dict()
    assert set(got) == set(state)  # strict: nothing missing, nothing extra
    for key, value in state.items():
        assert torch.equal(got[key].cpu(), value), key


def test_mmpretrain_apis_load_strictly(exported):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain import ImageClassificationInferencer, get_model, init_model
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(exported['cfg'])
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.load_state_dict(torch.load(
        exported['ckpt'], weights_only=True)['state_dict'], strict=True)
    model.eval()

    _assert_loaded(init_model(exported['cfg'], exported['ckpt']), exported)
    _assert_loaded(get_model(exported['cfg'], exported['ckpt']), exported)
    inferencer = ImageClassificationInferencer(
        exported['cfg'], pretrained=exported['ckpt'], device='cpu')
    _assert_loaded(inferencer.model, exported)

    from relkd_mm.datasets import LocalFashionMNIST
    data = LocalFashionMNIST(exported['root'], split='test', pipeline=[])
    img = data.get_data_info(0)['img']
    result = inferencer(img)[0]
    with torch.no_grad():
        batch = model.data_preprocessor(dict(
            inputs=[torch.from_numpy(img)[None]]), False)
        logits = model(batch['inputs'], mode='tensor')
    assert result['pred_label'] == int(logits.argmax())
    assert result['pred_class'] == data.METAINFO['classes'][
        result['pred_label']]


def test_test_py_reproduces_student_accuracy(exported):
    top1 = _top1(run_inprocess(
        'test.py', exported['cfg'], exported['ckpt'], '--work-dir',
        str(exported['tmp'] / 'test_student')))
    assert top1 == exported['distill_top1']


def test_export_refuses_a_plain_checkpoint(exported, tmp_path):
    proc = run_inprocess('export_student.py', KD_CFG, exported['ckpt'],
                         str(tmp_path), check=False)
    assert proc.returncode != 0
    assert "no key starts with 'architecture.'" in proc.stderr


def test_deploy_chain_onnxruntime(exported, tool, tmp_path):
    pytest.importorskip('mmdeploy')
    pytest.importorskip('onnxruntime')
    work = tmp_path / 'onnx'
    tool('deploy.py', exported['cfg'], exported['ckpt'], work,
         '--num-images', 16)
    with open(work / 'deploy_check.json') as f:
        check = json.load(f)
    assert osp.isfile(work / 'end2end.onnx')
    assert check['num_images'] == 16
    assert check['top1_identical']
    assert check['max_abs_score_diff'] < 1e-4
    import onnx
    model = onnx.load(str(work / 'end2end.onnx'))
    assert model.opset_import[0].version == 11  # TorchScript exporter


def _doc_python_snippet():
    """docs/deploy.md's Python example, as written."""
    with open(osp.join(osp.dirname(osp.dirname(osp.dirname(
            osp.abspath(__file__)))), 'docs', 'deploy.md')) as f:
        text = f.read()
    blocks = re.findall(r'```python\n(.*?)```', text, re.S)
    snippet = next(b for b in blocks if 'ImageClassificationInferencer' in b)
    return snippet


@pytest.mark.parametrize('colour', [False, True], ids=['grey', 'colour'])
def test_deploy_doc_example_on_a_png_of_a_grey_student(exported, tmp_path,
                                                       colour, monkeypatch):
    """The exported grey Fashion-MNIST student reads image files in grey:
    ImageClassificationInferencer reads files in colour itself, and failed
    with 'expected input[1, 3, 28, 28] to have 1 channels'."""
    import cv2
    import numpy as np
    img = np.zeros((28, 28), np.uint8)
    img[4:12, 2:6] = 250  # class 0 of the generated data
    if colour:
        img = np.repeat(img[..., None], 3, axis=2)
    work = tmp_path / 'work_dirs' / 'student'
    work.mkdir(parents=True)
    for key in ('cfg', 'ckpt'):
        src = exported[key]
        (work / ('NAME_student' + osp.splitext(src)[1])).write_bytes(
            open(src, 'rb').read())
    assert cv2.imwrite(str(tmp_path / 'demo.png'), img)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_doc_python_snippet(), 'docs/deploy.md', 'exec'), {})
    # The inferencer's own progress bar may precede the printed class.
    last = out.getvalue().strip().splitlines()[-1]
    assert any(last.endswith(name) for name in (
        'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
        'Shirt', 'Sneaker', 'Bag', 'Ankle boot')), last


def test_exported_grey_pipeline(exported):
    from mmengine.config import Config
    cfg = Config.fromfile(exported['cfg'])
    pipeline = cfg.test_dataloader.dataset.pipeline
    assert pipeline[0] == dict(type='ConvertColorType',
                               color_type='grayscale')
    assert 'relkd_mm' in cfg.custom_imports.imports

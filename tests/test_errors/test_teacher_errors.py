"""A teacher that can not help: NaN weights (named with their checkpoint at
load, not blamed on the learning rate at iteration 1), a zoo URL that a
machine without internet can not fetch (named, with the local-file fix,
before any data is read), ImageNet missing (the layout and the key)."""
import urllib.error

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import DATASETS

from relkd_mm.models.utils import NonFiniteTeacherError
from relkd_mm.runner import CheckpointDownloadError
from relkd_mm.runner.checkpoint import load_checkpoint_file
from tests.test_runner.test_strict_loading import distill, save_classifier
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import KD, REPO, fmnist_options, log_text, train

VRM_IMAGENET = 'configs/vrm/vrm_resnet50_mobilenetv2_8xb32_in1k.py'


def test_nan_teacher_checkpoint_is_named_at_load(tmp_path):
    path = str(tmp_path / 'diverged.pth')
    save_classifier(path)
    ckpt = torch.load(path)
    ckpt['state_dict']['backbone.conv1.weight'][0, 0, 0, 0] = float('nan')
    torch.save(ckpt, path)
    with pytest.raises(NonFiniteTeacherError) as info:
        distill(teacher_ckpt=path)
    msg = str(info.value)
    assert f'teacher_ckpt={path!r}' in msg and 'NaN or inf' in msg
    assert 'backbone.conv1.weight' in msg and 'outputs are not finite' in msg


def test_nan_teacher_from_load_from_is_named_before_training(tmp_path):
    root = make_fashion_mnist(str(tmp_path / 'fmnist'), num_train=16,
                              num_test=8)
    first = tmp_path / 'first'
    train(KD, first, options=fmnist_options(root)
          + ['model.allow_random_teacher=True'])
    path = str(first / 'epoch_1.pth')
    ckpt = load_checkpoint_file(path)
    key = next(k for k in ckpt['state_dict'] if k.startswith('teacher.'))
    ckpt['state_dict'][key].fill_(float('inf'))
    torch.save(ckpt, path)
    work = tmp_path / 'second'
    with pytest.raises(NonFiniteTeacherError, match=f'load_from.*{path}'):
        train(KD, work, options=fmnist_options(root)
              + [f'load_from={path}'])
    assert 'Epoch(train)' not in log_text(work)


def test_offline_zoo_teacher_is_named_before_the_data(tmp_path,
                                                      monkeypatch):
    """The README's command on a cluster node without internet access."""
    def offline(url, *args, **kwargs):
        raise urllib.error.URLError('[Errno -3] Temporary failure in name '
                                    'resolution')

    built = []
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file', offline)
    monkeypatch.setattr(DATASETS, 'build',
                        lambda *a, **k: built.append(a) or 1 / 0)
    url = Config.fromfile(f'{REPO}/{VRM_IMAGENET}').model.teacher_ckpt
    with pytest.raises(CheckpointDownloadError) as info:
        train(VRM_IMAGENET, tmp_path / 'work')
    msg = str(info.value)
    assert url in msg and 'name resolution' in msg
    assert '--cfg-options model.teacher_ckpt=PATH' in msg
    assert str(tmp_path / 'torch_home') in msg  # where it is looked up
    assert not built  # no data set was built before the teacher failed


def test_missing_imagenet_names_the_layout_and_the_key(tmp_path):
    from mmengine.registry import DefaultScope

    from relkd_mm.runner.relkd_runner import RelKDRunner
    cfg = Config.fromfile(f'{REPO}/{VRM_IMAGENET}')
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'imagenet')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        with pytest.raises(FileNotFoundError) as info:
            RelKDRunner.build_dataloader(cfg.train_dataloader)
    msg = str(info.value)
    assert str(tmp_path / 'imagenet' / 'train') in msg
    assert '/train/<class>/*.JPEG' in msg and 'meta/train.txt' in msg
    assert 'train_dataloader.dataset.data_root' in msg

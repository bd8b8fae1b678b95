"""Checkpoints are loaded without running code whatever the environment
and the torch version: ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1``, torch
2.1-2.5 (``weights_only=False`` by default) and model-zoo URLs included.
Only ``--trust-checkpoint FILE`` unpickles fully, and it is logged."""
import builtins
import collections
import logging
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MMLogger
from mmrazor.registry import MODELS

from relkd_mm import compat
from relkd_mm.runner import UnsafeCheckpointError
from relkd_mm.runner import checkpoint as relkd_checkpoint
from tests.conftest import run_tool
from tests.test_runner.test_strict_loading import classifier, distill


class _Evals:
    """What a crafted checkpoint does: ``builtins.eval`` on load."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return (builtins.eval, (f'open({self.sentinel!r}, "w").close()', ))


@pytest.fixture
def evil(tmp_path):
    sentinel = tmp_path / 'code_ran'
    path = tmp_path / 'EVIL.pth'
    state = MODELS.build(classifier()).state_dict()
    torch.save({'state_dict': state, 'meta': {'x': _Evals(str(sentinel))}},
               str(path))
    return str(path), sentinel


@pytest.fixture
def unpatched_loaders():
    """MMEngine's own loaders back in place for the test (as on a fresh
    import); relkd_mm's are restored afterwards."""
    import mmengine.runner.checkpoint as mmengine_checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader
    schemes = dict(CheckpointLoader._schemes)
    http = mmengine_checkpoint.load_from_http
    applied = list(compat.APPLIED)
    load_from_http = getattr(compat, '_UNPATCHED', {}).get(
        'load_from_http', mmengine_checkpoint.load_from_http)
    originals = {
        '': mmengine_checkpoint.load_from_local,
        'http://': load_from_http,
        'https://': load_from_http,
        'open-mmlab://': mmengine_checkpoint.load_from_openmmlab,
        'openmmlab://': mmengine_checkpoint.load_from_openmmlab,
    }
    CheckpointLoader._schemes.update(originals)
    mmengine_checkpoint.load_from_http = load_from_http
    compat.APPLIED[:] = [a for a in applied
                         if a != 'mmengine_checkpoint_loading']
    yield
    CheckpointLoader._schemes.clear()
    CheckpointLoader._schemes.update(schemes)
    mmengine_checkpoint.load_from_http = http
    compat.APPLIED[:] = applied


def _refused(evil, attempt):
    path, sentinel = evil
    with pytest.raises(UnsafeCheckpointError, match='allow-list'):
        attempt(path)
    assert not sentinel.exists(), 'the crafted checkpoint ran its code'


def test_env_force_no_weights_only_does_not_switch_it_off(
        evil, unpatched_loaders, monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    compat.patch_mmengine_checkpoint_loading()  # what `import relkd_mm` does
    assert 'mmengine_checkpoint_loading' in compat.APPLIED
    _refused(evil, lambda path: distill(teacher_ckpt=path))


def test_torch_before_2_6_is_safe_too(evil, unpatched_loaders, monkeypatch):
    """torch 2.1-2.5: ``weights_only=False`` by default and no allow-list
    API; the restricted unpickler enforces the same allow-list."""
    load = torch.load

    def torch_2_5_load(*args, weights_only=False, **kwargs):
        return load(*args, weights_only=weights_only, **kwargs)

    monkeypatch.setattr(torch, '__version__', '2.5.1')
    monkeypatch.setattr(torch, 'load', torch_2_5_load)
    monkeypatch.setattr(relkd_checkpoint, 'USE_TORCH_ALLOW_LIST', False,
                        raising=False)
    compat.patch_mmengine_checkpoint_loading()
    _refused(evil, lambda path: distill(teacher_ckpt=path))


def test_restricted_unpickler_loads_what_mmengine_writes(tmp_path,
                                                         monkeypatch):
    """Message hub, numpy random state and scalars, MultiStepLR's Counter:
    everything a resume needs loads through the torch < 2.6 path."""
    monkeypatch.setattr(relkd_checkpoint, 'USE_TORCH_ALLOW_LIST', False,
                        raising=False)
    path = str(tmp_path / 'run.pth')
    saved = {
        'state_dict': collections.OrderedDict(w=torch.ones(2)),
        'message_hub': {'log_scalars': {
            'train/loss': HistoryBuffer([1.0, 2.0], [1, 1])}},
        'param_schedulers': [{'milestones': collections.Counter([3, 5])}],
        'random_states': {'numpy': np.random.get_state()},
        'meta': {'seed': np.int64(3), 'acc': np.float64(0.5)},
    }
    torch.save(saved, path)
    loaded = relkd_checkpoint.load_checkpoint_file(path)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == 1.5
    assert loaded['param_schedulers'][0]['milestones'] == {3: 1, 5: 1}
    assert np.array_equal(loaded['random_states']['numpy'][1],
                          saved['random_states']['numpy'][1])
    assert loaded['meta']['acc'] == 0.5


def test_zoo_url_is_loaded_safely(evil, unpatched_loaders, tmp_path,
                                  monkeypatch):
    """MMEngine downloads with torch.hub.load_state_dict_from_url, which
    unpickles fully (``weights_only=False`` by default)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    monkeypatch.setattr(torch.hub, 'download_url_to_file',
                        lambda url, dst, *a, **k: shutil.copy(evil[0], dst))
    compat.patch_mmengine_checkpoint_loading()
    _refused(evil, lambda path: distill(
        teacher_ckpt='https://download.example.org/zoo/evil.pth'))


def test_trust_checkpoint_is_the_only_opt_out_and_is_logged(evil):
    path, sentinel = evil
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        with relkd_checkpoint.trusted_checkpoints(path):
            relkd_checkpoint.load_checkpoint_file(path)
    finally:
        logger.removeHandler(handler)
        relkd_checkpoint._ANNOUNCED.discard(relkd_checkpoint._key(path))
    assert sentinel.exists()
    said = [r for r in records if 'full unpickling' in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    assert '--trust-checkpoint' in said[0].getMessage()


def test_train_py_refuses_a_crafted_teacher_despite_env(evil, tmp_path,
                                                        monkeypatch):
    """The issue's command: the crafted teacher is refused before any data
    is read, and nothing runs."""
    path, sentinel = evil
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    proc = run_tool('train.py',
                    'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py',
                    '--work-dir', tmp_path / 'work', '--cfg-options',
                    f'model.teacher_ckpt={path}', check=False)
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError' in proc.stderr, proc.stderr[-3000:]
    assert osp.basename(path) in proc.stderr
    assert not sentinel.exists()

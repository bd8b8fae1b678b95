"""Every training config keeps the reliability hooks of default_runtime.py:
a config that sets its own ``custom_hooks`` replaces the whole list, and
silently loses exact resume (RandomStateHook), the NaN guard
(NonFiniteLossHook), the set-up checks (TrainCheckHook) and the loss-balance
warning (LossBalanceHook)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
REQUIRED = {'mmrazor.RandomStateHook', 'mmrazor.NonFiniteLossHook',
            'mmrazor.TrainCheckHook', 'mmrazor.LossBalanceHook'}
CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True)
    if '_base_' not in p.split(osp.sep) and not osp.basename(p).startswith(
        '_') and 'deploy' not in p.split(osp.sep))


def test_configs_found():
    assert len(CONFIGS) > 50


@pytest.mark.parametrize('path', CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in CONFIGS])
def test_config_keeps_reliability_hooks(path):
    cfg = Config.fromfile(path)
    if 'train_dataloader' not in cfg:
        pytest.skip('not a training config')
    types = {h['type'] for h in cfg.get('custom_hooks', [])}
    assert REQUIRED <= types, (
        f'{osp.relpath(path, REPO)}: custom_hooks lacks '
        f'{sorted(REQUIRED - types)}; list them beside your own hooks')

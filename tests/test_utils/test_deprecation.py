"""Renamed arguments: the old name works, and its DeprecationWarning is
shown under Python's default warning filters (users' configs, not code run
as ``__main__``, use the old names)."""
import os
import subprocess
import sys

import pytest

from relkd_mm.utils.deprecation import renamed_argument
from tests.train_utils import REPO


def test_renamed_argument():
    assert renamed_argument('Owner', 'old', 'new', None, 3) == 3
    assert renamed_argument('Owner', 'old', 'new', None, None) is None
    with pytest.warns(DeprecationWarning,
                      match='Owner: `old` is deprecated .* rename it to '
                      '`new`'):
        assert renamed_argument('Owner', 'old', 'new', 2, None) == 2
    with pytest.raises(ValueError, match='both `old` and `new`'):
        renamed_argument('Owner', 'old', 'new', 2, 2)


def test_shown_under_default_filters():
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}
    code = ('import relkd_mm\n'
            'from mmrazor.registry import MODELS\n'
            "MODELS.build(dict(type='RefilledClassifierLoss', num_classes=3,"
            " feat_dim=4, centers='batch'))\n")
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, env=dict(
        env, PYTHONPATH=REPO, OMP_NUM_THREADS='1'), capture_output=True,
        text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'DeprecationWarning: RefilledClassifierLoss: `centers` is ' \
        'deprecated' in proc.stderr
    assert 'rename it to `center_mode`' in proc.stderr

"""tools/quickstart.py on a generated Fashion-MNIST: it distils from the
committed teacher (checked against its sha256, refused when changed), runs
the student alone beside the chosen methods at the protocol's presets and
prints each method's gain over the student alone."""
import os.path as osp
import re
import runpy
import shutil
import subprocess

import pytest

from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO
from tools.benchmarks.quick_runs import (FASHION_MNIST_FILES,
                                         QUICKSTART_TEACHER_SHA256,
                                         check_fashion_mnist,
                                         committed_teacher)

#: The committed teacher's path is the tool's (a file of the repository).
QUICKSTART_TEACHER = runpy.run_path(
    osp.join(REPO, 'tools', 'quickstart.py'),
    run_name='tool')['QUICKSTART_TEACHER']


def args(tmp, *extra):
    root = osp.join(tmp, 'fmnist')
    if not osp.isdir(root):
        make_fashion_mnist(root, num_train=64, num_test=32)
    return ('quickstart.py', '--data-root', root, '--train-size', 64,
            '--test-size', 32, '--epochs', 2, '--work-dir',
            osp.join(tmp, 'work'), *extra)


def test_committed_teacher_matches_its_record():
    import hashlib
    with open(QUICKSTART_TEACHER, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest() == \
            QUICKSTART_TEACHER_SHA256


def test_quickstart_table_has_the_gain_over_the_student_alone(
        tmp_path, tool):
    proc = tool(*args(str(tmp_path), '--only', 'REFILLED'))
    out = proc.stdout
    rows = {m.group(1).strip(): m for m in re.finditer(
        r'^\| ([^|]+) \| +([\d.]+) \| +([+-][\d.]+)? *\| +([\d+-]+) \|',
        out, re.M)}
    assert set(rows) == {'teacher (wrn_16_2)', 'student alone', 'REFILLED'}
    alone = float(rows['student alone'].group(2))
    refilled = float(rows['REFILLED'].group(2))
    assert float(rows['REFILLED'].group(3)) == pytest.approx(
        refilled - alone, abs=0.006)
    assert rows['REFILLED'].group(4) == '1+1'  # the stages share 2 epochs
    assert 'checkpoints/fmnist/wrn-16-2_fmnist-lowdata.pth' in out


def test_a_changed_committed_teacher_is_refused(tmp_path):
    bad = osp.join(str(tmp_path), 'teacher.pth')
    shutil.copy(QUICKSTART_TEACHER, bad)
    assert committed_teacher(bad) == bad
    with open(bad, 'ab') as f:
        f.write(b'\0')
    with pytest.raises(SystemExit, match='does not match its recorded'):
        committed_teacher(bad)
    with pytest.raises(SystemExit, match='is missing'):
        committed_teacher(bad + '.gone')


def test_missing_fashion_mnist_names_the_installer(tmp_path):
    # The package only checks; the error names the files and the command.
    with pytest.raises(SystemExit) as exc:
        check_fashion_mnist(str(tmp_path))
    message = str(exc.value)
    assert str(tmp_path) in message and 'train-images-idx3-ubyte.gz' in \
        message and 'sudo bash tools/fetch_fashion_mnist.sh' in message
    root = make_fashion_mnist(str(tmp_path / 'fmnist'), num_train=8,
                              num_test=8)
    check_fashion_mnist(root)  # all four files: nothing to say


@pytest.mark.skipif(
    not all(osp.isfile(osp.join(DEBIAN_FASHION_MNIST, f))
            for f in FASHION_MNIST_FILES),
    reason=f'Debian\'s dataset-fashion-mnist is not in {DEBIAN_FASHION_MNIST}'
    ' (the script would install it)')
def test_fetch_script_leaves_an_installed_copy_alone():
    proc = subprocess.run(['bash', 'tools/fetch_fashion_mnist.sh'], cwd=REPO,
                          capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, '', '')

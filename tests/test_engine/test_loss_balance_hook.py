"""LossBalanceHook, on in every config, warns once per term when a
distillation term's gradient at the student's features drowns the CE's or
vanishes beside it, naming the term, the ratio and the knobs.

The issue's case, VRM + MMRazor's DKD at DKD's CIFAR-100 settings without
its warm-up, gives DKD 8-10x the CE's gradient on real Fashion-MNIST
(iterations 10-50; VRM 0.5-1.3x, KD 2-3x, RRD <= 3x by iteration 10): the
default bound, 5x, sits between. On the generated data of the tests (bright
squares, which the committed teacher was not trained on) DKD's ratio is
only 4-5x and KD's 0.5x, so the generated-data test sets the bound to 3x;
the real-data test runs the issue's case at the default bound where the
data set is installed (tools/fetch_fashion_mnist.sh)."""
import os.path as osp
import re

import pytest

from relkd_mm.datasets.local import DEBIAN_FASHION_MNIST
from tests.test_tools.fmnist_utils import make_fashion_mnist
from tests.train_utils import REPO, fmnist_options, log_text, train

KD = osp.join(REPO, 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py')
VRM = osp.join(REPO, 'configs/quickstart/vrm_wrn-16-2_resnet8_fmnist.py')
DKD = osp.join(REPO, 'configs/_base_/distill/dkd_logits.py')
TEACHER = osp.join(REPO, 'checkpoints', 'fmnist',
                   'wrn-16-2_fmnist-lowdata.pth')
HOOKS = '''custom_hooks = [
    dict(type='mmrazor.RandomStateHook'),
    dict(type='mmrazor.NonFiniteLossHook'),
    dict(type='mmrazor.TrainCheckHook'),
    dict(type='mmrazor.LossBalanceHook', high=3, check_iters=(4, 8)),
    {extra}]
'''


@pytest.fixture(scope='module')
def fmnist(tmp_path_factory):
    return make_fashion_mnist(str(tmp_path_factory.mktemp('fmnist')),
                              num_train=128, num_test=8)


def run(tmp_path, root, text, batch=16, options=()):
    config = tmp_path / 'cfg.py'
    config.write_text(text)
    work = tmp_path / 'work'
    train(str(config), work, options=fmnist_options(
        root, epochs=1, batch=batch) + [f'model.teacher_ckpt={TEACHER}',
                                        *options])
    return re.findall(r'LossBalanceHook: .*', log_text(work))


def test_a_drowning_and_a_vanishing_term_are_named_once(tmp_path, fmnist):
    warnings = run(tmp_path, fmnist, f'''
_base_ = [{KD!r}, {DKD!r}]
model = dict(distiller=dict(
    _base_.dkd_logits,
    distill_losses=dict(_base_.dkd_logits.distill_losses,
                        loss_kd=dict(loss_weight=0.001))))
''' + HOOKS.format(extra=''))
    assert len(warnings) == 2, warnings  # once per term, two checks
    dkd, kd = sorted(warnings, key=lambda w: "loss_kd's" in w)
    found = re.match(
        r"LossBalanceHook: at iteration 4, distill\.loss_dkd's gradient at "
        r"the student's neck is ([0-9.]+)x the cross-entropy's \(above 3x: "
        r'it drowns the cross-entropy and the other terms; '
        r'distill\.loss_kd [0-9.e+-]+x\)\. To balance it, lower '
        r'model\.distiller\.distill_losses\.loss_dkd\.loss_weight \(now 1; '
        r"[0-9.]+ gives the CE's pull\), or ramp it in with "
        r"dict\(type='mmrazor\.DistillWarmupHook', warmup_epochs=N, "
        r"losses=\['loss_dkd'\]\) in custom_hooks\.", dkd)
    assert found, dkd
    assert float(found.group(1)) > 3
    assert re.match(
        r"LossBalanceHook: at iteration 4, distill\.loss_kd's gradient at "
        r"the student's neck is [0-9.e-]+x the cross-entropy's \(under "
        r'0\.01x: it barely moves the student; distill\.loss_dkd [0-9.]+x\)'
        r'\. To balance it, raise model\.distiller\.distill_losses\.loss_kd'
        r'\.loss_weight \(now 0\.001\)\.', kd), kd


def test_a_term_under_warmup_is_not_judged(tmp_path, fmnist):
    # The fragment's ramp, longer than the run: DKD never reaches its
    # configured weight, so it is not judged (KD, within bounds, neither).
    assert run(tmp_path, fmnist, f'''
_base_ = [{KD!r}, {DKD!r}]
model = dict(distiller=_base_.dkd_logits)
''' + HOOKS.format(extra='dict(_base_.dkd_warmup, warmup_epochs=None, '
                   'warmup_iters=100)')) == []


@pytest.mark.skipif(
    not osp.isfile(osp.join(DEBIAN_FASHION_MNIST,
                            'train-images-idx3-ubyte.gz')),
    reason='Fashion-MNIST is not installed (tools/fetch_fashion_mnist.sh)')
def test_dkd_beside_vrm_on_fashion_mnist_at_the_default_bound(tmp_path):
    warnings = run(tmp_path, DEBIAN_FASHION_MNIST, f'''
_base_ = [{VRM!r}, {DKD!r}]
model = dict(distiller=_base_.dkd_logits)
''', batch=64, options=['train_dataloader.dataset.indices=1280',
                        'val_dataloader.dataset.indices=64',
                        'test_dataloader.dataset.indices=64'])
    assert len(warnings) == 1, warnings
    assert re.match(r"LossBalanceHook: at iteration 20, distill\.loss_dkd's "
                    r'gradient at the student\'s neck is ([0-9.]+)x the '
                    r"cross-entropy's \(above 5x", warnings[0]), warnings


def test_bounds_are_checked():
    from relkd_mm.engine.hooks import LossBalanceHook
    with pytest.raises(ValueError, match='low=1, high=0.5'):
        LossBalanceHook(high=0.5, low=1)
    with pytest.raises(ValueError, match='check_iters'):
        LossBalanceHook(check_iters=(0, ))


def not_learning(tmp_path, root, lr, epochs, batch=16, options=()):
    tmp_path.mkdir(exist_ok=True)
    config = tmp_path / 'cfg.py'
    config.write_text(f'_base_ = [{KD!r}]\n' + HOOKS.format(extra=''))
    work = tmp_path / 'work'
    train(str(config), work, options=fmnist_options(
        root, epochs=epochs, batch=batch, t_max=epochs) + [
            f'model.teacher_ckpt={TEACHER}',
            f'optim_wrapper.optimizer.lr={lr}', *options])
    return re.findall(r'LossBalanceHook: the student is not learning.*',
                      log_text(work))


def test_a_student_at_chance_after_its_first_epoch_is_named(tmp_path,
                                                            fmnist):
    # lr 1e-9: the student keeps its random weights, so its CE stays near
    # ln 10 = 2.303 (the distillation term within its bounds: only the
    # new check can see it). The first epoch is never judged.
    warnings = not_learning(tmp_path, fmnist, lr=1e-9, epochs=2)
    assert len(warnings) == 1, warnings
    found = re.match(
        r'LossBalanceHook: the student is not learning its labels: its '
        r'cross-entropy averaged ([0-9.]+) over epoch 2, at chance level '
        r'\(ln 10 = 2\.303; warned at 0\.9x that\)\. .*lower '
        r'optim_wrapper\.optimizer\.lr or the terms\' loss_weight',
        warnings[0])
    assert found, warnings[0]
    assert float(found.group(1)) >= 0.9 * 2.303
    assert not_learning(tmp_path / 'one', fmnist, lr=1e-9, epochs=1) == []


@pytest.mark.skipif(
    not osp.isfile(osp.join(DEBIAN_FASHION_MNIST,
                            'train-images-idx3-ubyte.gz')),
    reason='Fashion-MNIST is not installed (tools/fetch_fashion_mnist.sh)')
def test_a_learning_student_is_not_named(tmp_path):
    # Real images the teacher knows (on the generated squares its KD pulls
    # the student off the labels: CE 3.0 in epoch 2, rightly named): at the
    # config's lr the second epoch's CE is about 1.3, well under 2.07.
    assert not_learning(tmp_path, DEBIAN_FASHION_MNIST, lr=0.05, epochs=2,
                        batch=64, options=[
                            'train_dataloader.dataset.indices=1280',
                            'val_dataloader.dataset.indices=64',
                            'test_dataloader.dataset.indices=64']) == []


def test_chance_level_is_checked():
    from relkd_mm.engine.hooks import LossBalanceHook
    for chance in (0, 1.5, True, '0.9'):
        with pytest.raises(ValueError, match='chance='):
            LossBalanceHook(chance=chance)

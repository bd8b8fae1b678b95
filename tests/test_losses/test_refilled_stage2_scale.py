"""REFILLED stage 2 must not drown the student's cross-entropy.

With the 2021 code's settings (KL weight 100, tau 2, the student's logits
divided by tau too) the KL's gradient at the student's logits is 13-18
times the CE's in training on Fashion-MNIST (DistillDiagnosticsHook), and
the cross-task student fell to 53-66% against 93% alone: it copied an
induced classifier that is itself only 61% right on classes the teacher
never saw. This test shows that mechanism on tiny data, at the start of
stage 2 (a fresh classifier: tiny logits), where it is decided: the 2021
settings pull more than 10 times as hard as the CE. How hard a preset may
pull depends on what the induced classifier is worth. Across label spaces
(61% right) the fmnist-lowdata preset pulls at most as hard as the CE. On
the ten classes (the induced classifier 91% right) the weight chosen on the
validation split (10, docs/tuning.md round 3) pulls harder than the CE, as
KD does, but less than a third as hard as the 2021 settings (in training:
6.3x the CE's gradient at the pooled features, falling to 3.0x, against
13-18x).

Why the bounds hold: per sample, the KL's gradient at the logits is
``w (p_S - p_T) / t`` (``t`` the student's temperature) and the CE's is
``p_S - y``. ``|p_S - p_T| <= sqrt(2)`` and, with near-uniform ``p_S`` over
K = 5 classes, ``|p_S - y| ~ sqrt(1 - 1/K) = 0.89``: the ratio is at most
``1.6 w / t`` and, with a confident teacher, close to it.
"""
import os.path as osp

import torch
import torch.nn.functional as F
from mmengine.config import Config

from relkd_mm.models.losses import RefilledClassifierLoss
from tools.benchmarks.protocol import CFG_DIR

PRESETS = ('refilled-s2_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
           'refilled-s2_wrn-16-2_resnet8_1xb64_fmnist-lowdata-classes5-9.py')
SETTINGS_2021 = dict(loss_weight=100.0, tau=2.0, student_tau=True)


def grad_ratio(num_classes, **settings):
    """|d KL / d logits| / |d CE / d logits| at a fresh classifier."""
    gen = torch.Generator().manual_seed(0)
    batch, dim = 64, 128
    labels = torch.arange(batch) % num_classes
    # Teacher features: ReLU-like, with a class direction of its own.
    directions = torch.rand(num_classes, dim, generator=gen)
    feats = (directions[labels] * 4 +
             torch.rand(batch, dim, generator=gen)).clamp_min(0)
    loss = RefilledClassifierLoss(num_classes, dim, **settings)
    loss.set_centers(F.normalize(directions, dim=1))
    # MMPretrain's LinearClsHead starts at std 0.01: tiny logits.
    logits = (0.01 * torch.randn(batch, num_classes, generator=gen)
              ).requires_grad_()
    (kl_grad, ) = torch.autograd.grad(loss(logits, feats, labels), logits)
    (ce_grad, ) = torch.autograd.grad(F.cross_entropy(logits, labels),
                                      logits)
    return float(kl_grad.norm() / ce_grad.norm())


def preset_ratio(preset):
    cfg = Config.fromfile(osp.join(CFG_DIR, preset))
    settings = dict(cfg.model.distiller.distill_losses.loss_refilled)
    num_classes = settings.pop('num_classes')
    settings.pop('feat_dim')
    settings.pop('type')
    ratio = grad_ratio(num_classes, **settings)
    assert 0 < ratio <= 1.6 * settings['loss_weight'], (preset, ratio)
    return ratio, num_classes


def test_cross_task_preset_does_not_drown_the_cross_entropy():
    ratio, _ = preset_ratio(PRESETS[1])
    assert ratio <= 1.0, ratio


def test_ten_class_preset_pulls_far_less_than_the_2021_settings():
    ratio, num_classes = preset_ratio(PRESETS[0])
    assert ratio < grad_ratio(num_classes, **SETTINGS_2021) / 3, ratio


def test_2021_settings_drown_it():
    assert grad_ratio(5, **SETTINGS_2021) > 10

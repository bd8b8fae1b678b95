"""tools/analysis/refilled_induced.py on a generated Fashion-MNIST: per
shift, the induced classifier's validation accuracy equals an independent
nearest-center computation on the teacher's pooled features."""
import torch
import torch.nn.functional as F

from tests.test_tools.fmnist_utils import make_fashion_mnist


def test_induced_accuracy_matches_nearest_center(tmp_path, monkeypatch):
    import tools.analysis.refilled_induced as tool
    root = make_fashion_mnist(str(tmp_path / 'fmnist'), num_train=200,
                              num_test=16)
    seen = {}
    original = tool.induced_accuracy

    def checked(runner):
        # Centers come from the training pipeline (random crops and
        # flips), as stage 2's: the same seeds give both passes the same
        # augmented images.
        seed_all()
        acc = original(runner)
        seed_all()
        seen[len(seen)] = (acc, independent(runner))
        return acc

    monkeypatch.setattr(tool, 'induced_accuracy', checked)
    rows = tool.main([
        '--shifts', '0', '5', '--train-size', '100', '--val-size', '100',
        '--data-root', root, '--work-dir', str(tmp_path / 'work')])
    assert [r[0] for r in rows] == [0, 5]
    assert [r[2] for r in rows] == [5, 0]  # classes the teacher knows
    for acc, (expected, images) in seen.values():
        # The tool computes in float32, this in float64: an argmax may flip
        # on a near-tie, at most one image here (never seen), no more.
        assert abs(acc - expected) <= 100.0 / images + 1e-9
    assert (tmp_path / 'work' / 'refilled_induced.png').is_file()


def seed_all():
    import random

    import numpy as np
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


@torch.no_grad()
def independent(runner):
    """Normalised mean teacher feature per class over the training data;
    each validation image takes its most similar center's class."""
    teacher = runner.model.teacher.eval()
    prep = runner.model.data_preprocessor

    def feats_labels(loader):
        feats, labels = [], []
        for data in loader:
            data = prep(data, False)
            feats.append(teacher.extract_feat(data['inputs'])[-1])
            labels.append(torch.cat([s.gt_label
                                     for s in data['data_samples']]))
        return torch.cat(feats).double(), torch.cat(labels)

    train_f, train_y = feats_labels(runner.train_dataloader)
    centers = torch.stack([train_f[train_y == k].mean(0)
                           for k in range(int(train_y.max()) + 1)])
    centers = F.normalize(centers, dim=1)
    val_f, val_y = feats_labels(runner.val_dataloader)
    pred = (val_f @ centers.t()).argmax(1)
    return 100.0 * float((pred == val_y).double().mean()), len(val_y)

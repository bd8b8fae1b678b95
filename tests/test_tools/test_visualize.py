"""tools/visualize_relations.py and tools/plot_curves.py on tiny data:
distillers of the real configs with random weights, generated CIFAR-100
files, a fake work_dir."""
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from tests.data_utils import make_cifar100

sys.path.insert(0, osp.join(osp.dirname(__file__), '..', '..', 'tools'))
import plot_curves  # noqa: E402
import visualize_relations as vis  # noqa: E402

VRM = 'configs/vrm/vrm_resnet56_resnet20_1xb64_cifar100.py'
RRD_KD = 'configs/rrd/rrd-kd_resnet56_resnet20_1xb64_cifar100.py'
S1 = 'configs/refilled/refilled-s1_wrn-40-2_wrn-16-1_1xb128_cifar100.py'
S2 = 'configs/refilled/refilled-s2_wrn-40-2_wrn-16-1_1xb128_cifar100.py'


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    # 8 classes, so that a small batch has same-class pairs (tuples).
    return make_cifar100(
        str(tmp_path_factory.mktemp('cifar8')), num_test=32, num_classes=8)


def roots(root):
    return [f'{d}.dataset.data_root={root}'
            for d in ('train_dataloader', 'val_dataloader')]


def save_checkpoint(repo_root, config, path, prepare=None):
    """A training checkpoint (MMEngine layout) of ``config``'s distiller
    with random weights."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    cfg = Config.fromfile(osp.join(repo_root, config))
    model_cfg = dict(cfg.model, teacher_ckpt=None)
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
    if prepare is not None:
        prepare(model)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, str(path))
    return str(path)


def assert_png(path, min_size=(900, 600)):
    assert osp.isfile(path), path
    assert osp.getsize(path) > 30_000
    with Image.open(path) as img:
        assert img.size[0] >= min_size[0] and img.size[1] >= min_size[1]
        pixels = np.asarray(img.convert('L'), dtype=np.float32)
    assert pixels.std() > 10  # drawn on, not a blank page


def test_vrm_subprocess(repo_root, data_root, tool, tmp_path):
    ckpt = save_checkpoint(repo_root, VRM, tmp_path / 'vrm.pth')
    out = tmp_path / 'out'
    tool('visualize_relations.py', VRM, ckpt, '--out-dir', out,
         '--num-val', 8, '--cfg-options', *roots(data_root))
    assert_png(str(out / 'vrm_loss_vrm.png'))


@pytest.mark.parametrize('is_pairs', ['all', 'cross'])
@pytest.mark.parametrize('prune', ['discrepancy', 'entropy', 'none'])
def test_vrm_edges_match_the_loss(prune, is_pairs):
    """The drawn maps and masks, the loss's own edges and pruning mask
    (no second implementation), give exactly the loss's value, and the
    number of pruned edges the loss prunes."""
    from relkd_mm.models.losses import VRMLoss
    torch.manual_seed(1)
    loss = VRMLoss(prune=prune, prune_ratio=0.2, is_pairs=is_pairs,
                   is_weight=0.7, ic_weight=1.3, loss_weight=2.0)
    s, t = torch.randn(12, 7), torch.randn(12, 7) * 3
    edges = vis.vrm_edges(loss, s, t)
    assert edges['value'] == pytest.approx(float(loss(s, t)), rel=1e-5)
    for key in ('is', 'ic'):
        disc, kept, pruned = edges[key]
        assert not (pruned & ~kept).any()
        expected = 0 if prune == 'none' else int(0.2 * int(kept.sum()))
        assert int(pruned.sum()) == expected
        if prune == 'discrepancy' and expected:
            assert disc[pruned].min() >= disc[kept & ~pruned].max()
    assert int(edges['is'][1].sum()) == (36 if is_pairs == 'cross' else 66)


def test_rrd_with_kd_and_images(repo_root, data_root, tmp_path,
                                kept_figures):
    """RRD mixed with MMRazor's KD: one PNG, for RRD; --images without
    labels; the memory in the checkpoint is drawn and left unchanged."""
    ckpt = save_checkpoint(repo_root, RRD_KD, tmp_path / 'rrd.pth')
    images = []
    rng = np.random.default_rng(0)
    for i in range(4):
        images.append(str(tmp_path / f'img{i}.png'))
        Image.fromarray(rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)) \
            .save(images[-1])
    out = tmp_path / 'out'
    saved = vis.main([RRD_KD, ckpt, '--out-dir', str(out), '--images',
                      *images, '--cfg-options', *roots(data_root)])
    assert list(saved) == [str(out / 'rrd_loss_rrd.png')]
    assert sorted(p.name for p in out.iterdir()) == ['rrd_loss_rrd.png']
    assert_png(str(out / 'rrd_loss_rrd.png'))
    assert np.isfinite(list(saved.values())).all()
    (fig, ) = kept_figures
    assert_readable(fig)
    assert_rrd_panels(fig, tau_t=0.1, tau_s=0.04)


def assert_rrd_panels(fig, tau_t, tau_s):
    """Teacher and student share one colour scale, the temperatures are
    the loss's, and the softer/sharper words follow them."""
    images = heatmaps(fig)
    (teacher, ) = [t for t in images if t.startswith('teacher')]
    (student, ) = [t for t in images if t.startswith('student')]
    assert images[teacher].get_clim() == images[student].get_clim()
    vmax = images[teacher].get_clim()[1]
    for title in (teacher, student):
        assert images[title].get_array().max() <= vmax + 1e-7
    assert f'/ {tau_t})' in teacher and f'/ {tau_s})' in student
    softer = 'teacher' if tau_t > tau_s else 'student'
    sharper = 'student' if softer == 'teacher' else 'teacher'
    assert f'tau_t {tau_t}' in teacher and f'tau_s {tau_s}' in student
    assert 'softer' in (teacher if softer == 'teacher' else student)
    assert 'sharper' in (teacher if sharper == 'teacher' else student)
    # The ratio panel: log10(p_s / p_t) of the same cells, centred at 0.
    (ratio, ) = [t for t in images if 'log10' in t]
    lo, hi = images[ratio].get_clim()
    assert lo == -hi and hi > 0


def test_rrd_2025_preset_figure(repo_root, data_root, tmp_path,
                                kept_figures):
    """The 2025 preset's temperatures (teacher 0.02, the sharper), read
    from the loss, not from the figure's code."""
    ckpt = save_checkpoint(repo_root, RRD_KD, tmp_path / 'rrd.pth')
    vis.main([RRD_KD, ckpt, '--out-dir', str(tmp_path / 'out'),
              '--num-val', '6', '--cfg-options', *roots(data_root),
              'model.distiller.distill_losses.loss_rrd.preset=2025'])
    (fig, ) = kept_figures
    assert_readable(fig)
    assert_rrd_panels(fig, tau_t=0.02, tau_s=0.1)


def test_refilled_stages(repo_root, data_root, tmp_path, kept_figures):
    s1 = save_checkpoint(repo_root, S1, tmp_path / 's1.pth')
    saved = vis.main([S1, s1, '--out-dir', str(tmp_path / 'out'),
                      '--num-val', '12', '--cfg-options', *roots(data_root)])
    path = str(tmp_path / 'out' / 'refilled-tuple_loss_refilled.png')
    assert list(saved) == [path]
    assert_png(path)
    assert_readable(kept_figures[-1])

    def centers(model):
        loss = model.distiller.distill_losses['loss_refilled']
        loss.set_centers(torch.nn.functional.normalize(
            torch.randn(loss.num_classes, loss.feat_dim), dim=1))

    s2 = save_checkpoint(repo_root, S2, tmp_path / 's2.pth', centers)
    saved = vis.main([S2, s2, '--out-dir', str(tmp_path / 'out'),
                      '--num-val', '8', '--cfg-options', *roots(data_root)])
    path = str(tmp_path / 'out' / 'refilled-classifier_loss_refilled.png')
    assert_png(path)
    assert saved[path] is not None and saved[path] > 0
    assert len(kept_figures) == 2
    assert_readable(kept_figures[-1])


def test_vrm_figure_is_readable(repo_root, data_root, tmp_path,
                                kept_figures):
    """No title clipped at the figure's edge or running into a
    colourbar; teacher and student edge lengths on one scale."""
    ckpt = save_checkpoint(repo_root, VRM, tmp_path / 'vrm.pth')
    vis.main([VRM, ckpt, '--out-dir', str(tmp_path / 'out'), '--num-val',
              '8', '--cfg-options', *roots(data_root)])
    (fig, ) = kept_figures
    assert_readable(fig)
    images = heatmaps(fig)
    for graph in ('inter-sample', 'inter-class'):
        pair = [images[t].get_clim() for t in images
                if 'edge length' in t and graph in t]
        assert len(pair) == 2 and pair[0] == pair[1]


def test_refuses_a_distiller_without_relational_loss(repo_root, tmp_path):
    cfg = 'configs/quickstart/kd_wrn-16-2_resnet8_fmnist.py'
    ckpt = save_checkpoint(repo_root, cfg, tmp_path / 'kd.pth')
    with pytest.raises(ValueError, match='no relational loss'):
        vis.main([cfg, ckpt, '--out-dir', str(tmp_path)])


def write_run(work_dir, stamp, lines, log=''):
    folder = osp.join(work_dir, stamp, 'vis_data')
    import os
    os.makedirs(folder)
    with open(osp.join(folder, 'scalars.json'), 'w') as f:
        f.write('\n'.join(json.dumps(x) for x in lines) + '\n')
    with open(osp.join(work_dir, stamp, f'{stamp}.log'), 'w') as f:
        f.write(log)


def fake_lines(loss_key, offset=0.0, epochs=(1, 2), iters_per_epoch=20):
    lines = []
    for epoch in epochs:
        for it in range(10, iters_per_epoch + 1, 10):
            step = (epoch - 1) * iters_per_epoch + it
            loss = 3.0 / step + offset
            lines.append({'lr': 0.1, 'loss': loss, loss_key: loss / 2,
                          'student.loss': loss / 2, 'epoch': epoch,
                          'iter': step, 'step': step})
        lines.append({'accuracy/top1': 10.0 * epoch + offset,
                      'teacher.accuracy/top1': 70.0, 'step': epoch})
    return lines


def test_plot_curves(tmp_path):
    log = ('2024/01/01 00:00:00 - mmengine - INFO - Epoch(train)  [1][10/20]'
           '  lr: 1.0000e-01  loss: 0.3\n')
    run_a, run_b = str(tmp_path / 'rrd'), str(tmp_path / 'vrm')
    # Run a: interrupted after epoch 1, resumed in a second timestamp.
    write_run(run_a, '20240101_000000',
              fake_lines('distill.loss_rrd', epochs=(1, )), log)
    write_run(run_a, '20240101_010000',
              fake_lines('distill.loss_rrd', epochs=(2, )), log)
    write_run(run_b, '20240101_000000', fake_lines('distill.loss_vrm', 1.0))

    a = plot_curves.Run(run_a)
    xs, ys, unit = a.series('accuracy/top1')
    assert (xs, ys, unit) == ([20, 40], [10.0, 20.0], 'iter')
    xs, ys, unit = a.series('loss_rrd')  # the tail of distill.loss_rrd
    assert unit == 'iter' and xs == [10, 20, 30, 40]
    # No text log: validation stays on the epoch axis.
    assert plot_curves.Run(run_b).series('accuracy/top1')[2] == 'epoch'
    assert plot_curves.Run(run_b).series('loss_rrd') is None

    out = str(tmp_path / 'curves.png')
    plot_curves.main([run_a, run_b, '--out', out, '--names', 'RRD', 'VRM'])
    assert_png(out, min_size=(1000, 800))
    out2 = str(tmp_path / 'curves2.png')
    plot_curves.main([run_a, run_b, '--out', out2, '--keys', 'loss',
                      'loss_rrd', 'accuracy/top1'])
    assert_png(out2, min_size=(1000, 300))
    with pytest.raises(KeyError, match='logged by no run'):
        plot_curves.main([run_a, '--out', out, '--keys', 'loss_missing'])
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        plot_curves.main([str(tmp_path), '--out', out])
    # A run killed while writing: the file is named, not a bare JSON error.
    broken = str(tmp_path / 'killed')
    write_run(broken, '20240101_000000', fake_lines('distill.loss_rrd'))
    with open(osp.join(broken, '20240101_000000', 'vis_data',
                       'scalars.json'), 'a') as f:
        f.write('{"lr": 0.1, "lo')
    with pytest.raises(ValueError, match="scalars.json: not MMEngine's"):
        plot_curves.Run(broken)


def test_tensorboard_backend(tmp_path):
    """The vis backend the runtime config documents writes event files."""
    pytest.importorskip('tensorboard')
    from mmengine.visualization import Visualizer
    vis_backends = [dict(type='LocalVisBackend'),
                    dict(type='TensorboardVisBackend')]
    visualizer = Visualizer(
        name='relkd_tb_test', vis_backends=vis_backends,
        save_dir=str(tmp_path))
    visualizer.add_scalars({'loss': 1.0, 'accuracy/top1': 50.0}, step=1)
    visualizer.close()
    events = list(tmp_path.rglob('events.out.tfevents.*'))
    assert events and events[0].stat().st_size > 0


def text_outside_figure(fig):
    """The drawn texts of ``fig`` whose extent leaves the figure (ticks
    outside an axes' view are not drawn, hence the tight boxes)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    bounds = fig.bbox
    texts = [t for t in fig.texts]
    for ax in fig.axes:
        if ax.get_visible():
            texts += [ax.title, ax._left_title, ax._right_title,
                      ax.xaxis.label, ax.yaxis.label, *ax.texts]
            legend = ax.get_legend()
            texts += legend.get_texts() if legend else []
            for axis in (ax.xaxis, ax.yaxis):
                lo, hi = sorted(axis.get_view_interval())
                texts += [t.label1 for t in axis.get_major_ticks()
                          if lo <= t.get_loc() <= hi and
                          t.label1.get_visible()]
    out = []
    for text in texts:
        if not text.get_visible() or not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        if box.x0 < bounds.x0 - 1 or box.y0 < bounds.y0 - 1 or \
                box.x1 > bounds.x1 + 1 or box.y1 > bounds.y1 + 1:
            out.append(text.get_text())
    return out


def test_plot_curves_one_colour_per_run(tmp_path, monkeypatch):
    """A run missing from a panel (RRD has no loss_vrm) no longer shifts
    the colours of the others: VRM is one colour in every panel."""
    import matplotlib.pyplot as plt
    closed = []
    close = plt.close
    monkeypatch.setattr(plt, 'close', closed.append)  # keep the figure
    run_a, run_b = str(tmp_path / 'rrd'), str(tmp_path / 'vrm')
    write_run(run_a, '20240101_000000', fake_lines('distill.loss_rrd'))
    write_run(run_b, '20240101_000000', fake_lines('distill.loss_vrm', 1.0))
    plot_curves.main([run_a, run_b, '--out', str(tmp_path / 'c.png'),
                      '--names', 'RRD', 'VRM', '--keys', 'loss',
                      'distill.loss_vrm', 'accuracy/top1'])
    (fig, ) = closed
    colours = {}
    for ax in fig.axes:
        for line in ax.get_lines():
            colours.setdefault(line.get_label(), set()).add(
                line.get_color())
    assert set(colours) == {'RRD', 'VRM'}
    assert all(len(c) == 1 for c in colours.values()), colours
    assert colours['RRD'] != colours['VRM']
    assert text_outside_figure(fig) == []
    close(fig)


def text_overlaps(fig):
    """Pairs ``(text, what it covers)`` where a drawn text of ``fig``
    overlaps another axes (a neighbour panel or a colourbar) or a text of
    another axes (a colourbar's label against the next panel's ticks, a
    title against its neighbour's); the suptitle is checked against every
    axes and its texts. Texts of one axes may touch each other."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    owned = [(None, t) for t in fig.texts]
    for sub in getattr(fig, 'subfigs', []):
        owned += [(None, t) for t in sub.texts]
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax in axes:
        texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label,
                 ax.yaxis.label, *ax.texts]
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            texts += [t.label1 for t in axis.get_major_ticks()
                      if lo <= t.get_loc() <= hi and t.label1.get_visible()]
            texts += [t.label2 for t in axis.get_major_ticks()
                      if lo <= t.get_loc() <= hi and t.label2.get_visible()]
        owned += [(ax, t) for t in texts]
    boxes = [(ax, t, t.get_window_extent(renderer)) for ax, t in owned
             if t.get_visible() and t.get_text()]

    def overlap(a, b):
        return (min(a.x1, b.x1) - max(a.x0, b.x0) > 1
                and min(a.y1, b.y1) - max(a.y0, b.y0) > 1)

    out = []
    for owner, text, box in boxes:
        for other in axes:
            if other is not owner and overlap(box, other.bbox):
                out.append((text.get_text(), f'axes {other.get_label()!r} '
                            f'{other.get_title()!r}'))
        for owner2, text2, box2 in boxes:
            if owner2 is not owner and id(text) < id(text2) and \
                    overlap(box, box2):
                out.append((text.get_text(), text2.get_text()))
    return out


@pytest.fixture
def kept_figures(monkeypatch):
    """The figures the tool closes, kept open to inspect."""
    import matplotlib.pyplot as plt
    close = plt.close
    kept = []
    monkeypatch.setattr(plt, 'close', kept.append)
    yield kept
    for fig in kept:
        close(fig)


def assert_readable(fig):
    assert text_outside_figure(fig) == []
    assert text_overlaps(fig) == []


def heatmaps(fig):
    """``{axes title: image}`` of the figure's heatmap panels, the titles'
    line breaks (wrapped to the panel's width) made spaces."""
    return {' '.join(ax.get_title().split()): ax.images[0]
            for ax in fig.axes
            if ax.images and ax.get_label() != '<colorbar>'}

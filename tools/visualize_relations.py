"""Draw the relations that a distiller's relational losses compare.

    python tools/visualize_relations.py CONFIG CHECKPOINT --out-dir DIR
        [--num-val N | --images a.png b.png ... [--labels 3 3 7 ...]]
        [--cfg-options k=v ...]

Builds the distiller of CONFIG, loads CHECKPOINT (a training checkpoint of
that config: student, teacher and the losses' state, e.g. RRD's memory and
REFILLED's centers; loaded safely by relkd_mm.runner.checkpoint), runs the
teacher and the student on one batch in eval mode, collects each loss's
inputs through the distiller's own recorders, connectors and
``loss_forward_mappings``, and saves one PNG per relational loss found (by
type) in DIR:

* ``vrm_<name>.png`` (VRMLoss): edge lengths of the teacher's and the
  student's graphs and the per-edge discrepancy ``d_ab``, inter-sample (over
  the real and virtual views) and inter-class, pruned edges outlined in red;
* ``rrd_<name>.png`` (RRDLoss): teacher and student similarity distributions
  over the memory on one colour scale, at the temperatures the loss holds
  (its preset's: the 2024 teacher's 0.1 is the softer, the student's 0.04
  the sharper), and their log ratio ``log10(p_s / p_t)`` cell by cell;
* ``refilled-tuple_<name>.png`` (RefilledTupleLoss): teacher and student
  distances, the mined tuples' comparison levels ``q_T`` and ``q_S``;
* ``refilled-classifier_<name>.png`` (RefilledClassifierLoss): the class
  centers and the embedding-induced classifier's ``p_T`` against ``p_S``.

The batch: ``--num-val N`` takes N samples evenly spaced over the val set
(default 16), through the val pipeline, with their labels. ``--images``
loads files: through the val pipeline when it loads files (ImageNet
configs); otherwise (in-memory datasets: CIFAR-100, Fashion-MNIST) as RGB,
or grey for one-channel models, resized to ``--img-size`` (default: the
train pipeline's crop size). Without ``--labels`` their labels are the
student's predictions, and the figures say so.

VRM's virtual views: every sample's real view is its val-pipeline image; its
virtual view is the same raw image through the virtual branch of the train
pipeline's ``MultiView`` (``transforms[1]``, e.g. crop, flip, RandAugment),
then the val pipeline's packing. ``--seed`` fixes the augmentation.

Nothing is trained and no loss state changes: RRD's memory is read, not
written (with ``enqueue_first`` the batch is written into a copy first, as
the loss would).
"""
import argparse
import copy
import os
import os.path as osp
import sys

# isort: off
# relkd_mm first: its compat patches must precede every mm* import.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
import relkd_mm  # noqa: E402,F401  (applies the compat patches first)
import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402

from relkd_mm.models import losses as relkd_losses  # noqa: E402
from relkd_mm.models.algorithms import teacher_forward  # noqa: E402
from relkd_mm.models.losses import RefilledTupleLoss, VRMLoss  # noqa: E402
from relkd_mm.models.losses.relation import (  # noqa: E402
    kl_divergence, pairwise_distances)
from relkd_mm.models.utils.strict_loading import (  # noqa: E402
    load_strictly, state_dict_of)
from relkd_mm.runner.checkpoint import load_checkpoint_file  # noqa: E402
from relkd_mm.runner.teacher_checkpoint import (  # noqa: E402
    omitted_teacher, restore_teacher)
from relkd_mm.utils.cli import DictAction  # noqa: E402
from tools.benchmarks.methods import METHODS  # noqa: E402
# isort: on

#: (loss class, figure name) of every loss the method table says is drawn.
DRAWN = tuple((getattr(relkd_losses, loss), figure) for m in METHODS
              for loss, figure in m.relations.items())
PRUNED = '#d62728'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Plot the relations compared by the relational losses '
        'of a distiller, teacher against student')
    parser.add_argument('config', help='distillation config file')
    parser.add_argument('checkpoint', help='training checkpoint of it')
    parser.add_argument('--out-dir', required=True, help='where PNGs go')
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        '--images', nargs='+', help='image files forming the batch')
    source.add_argument(
        '--num-val',
        type=int,
        default=None,
        help='take N samples of the val set (default 16)')
    parser.add_argument(
        '--per-class',
        type=int,
        help='with --num-val: take this many samples of each class, classes '
        'in val-set order (default 4 when a REFILLED tuple loss needs '
        'same-class pairs, else samples evenly spaced over the val set)')
    parser.add_argument(
        '--labels',
        type=int,
        nargs='+',
        help='student-task labels of --images (default: predictions)')
    parser.add_argument(
        '--img-size',
        type=int,
        help='size of --images for configs whose val pipeline does not '
        'load files (default: the train crop size)')
    parser.add_argument(
        '--max-classes',
        type=int,
        default=20,
        help='classes shown in class-indexed maps')
    parser.add_argument('--seed', type=int, default=0, help='random seed')
    parser.add_argument(
        '--device', default='cpu', help='device to run the networks on')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    args = parser.parse_args(argv)
    if args.labels and not args.images:
        parser.error('--labels goes with --images (val samples have labels).')
    if args.labels and len(args.labels) != len(args.images):
        parser.error(f'--labels has {len(args.labels)} labels for '
                     f'{len(args.images)} images.')
    if args.num_val is None and not args.images:
        args.num_val = 16
    if args.num_val is not None and args.num_val < 2:
        parser.error(f'--num-val={args.num_val}: relations need at least 2 '
                     'samples.')
    return args


# ----------------------------------------------------------------------------
# model and data


def build_distiller(cfg, checkpoint, device):
    """The distiller of ``cfg`` with the weights and loss state of
    ``checkpoint``, in eval mode."""
    from mmrazor.registry import MODELS

    ckpt = load_checkpoint_file(checkpoint, map_location='cpu')
    state = state_dict_of(ckpt)
    omitted = omitted_teacher(ckpt)
    if omitted is None and not any(k.startswith('teacher.') for k in state):
        raise ValueError(
            f'{checkpoint} holds no teacher.* weights: pass a training '
            'checkpoint of this config (work_dir/epoch_N.pth), not an '
            'exported student.')
    model_cfg = copy.deepcopy(cfg.model)
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    # The teacher comes from the checkpoint, or from the file a student-only
    # checkpoint records (checked against its sha256): no download, no
    # second load.
    model_cfg['teacher_ckpt'] = None
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmpretrain')):
        model = MODELS.build(model_cfg)
    if not hasattr(model, 'distiller'):
        raise TypeError(f'{cfg.filename}: model is a {type(model).__name__}, '
                        'not a distillation algorithm.')
    if omitted is not None:
        restore_teacher(model, ckpt, checkpoint, None)
        state = state_dict_of(ckpt)
    load_strictly(model, state, checkpoint, 'visualize_relations',
                  'Pass the config the checkpoint was trained with.',
                  target=cfg.filename)
    meta = ckpt.get('meta') or {}
    classes = (meta.get('dataset_meta') or {}).get('classes')
    model.to(device)
    model.eval()  # mmrazor's train() overrides return None: no chaining.
    return model, classes


def _pipeline_of(dataset_cfg):
    while 'pipeline' not in dataset_cfg and 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return list(dataset_cfg.get('pipeline', []))


def _find(obj, types):
    """Transform dicts of the given types inside a (nested) pipeline."""
    if isinstance(obj, dict):
        if obj.get('type') in types:
            yield obj
        for value in obj.values():
            yield from _find(value, types)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _find(value, types)


def _split_val(pipeline):
    """(loading transforms, the rest, the packing transform)."""
    load = [t for t in pipeline if str(t['type']).startswith('Load')]
    rest = [t for t in pipeline if t not in load]
    if not rest or 'Pack' not in str(rest[-1]['type']):
        raise ValueError('The val pipeline must end with PackInputs.')
    return load, rest, rest[-1]


def _virtual_branch(cfg):
    train = _pipeline_of(cfg.train_dataloader.dataset)
    views = list(_find(train, ('MultiView', 'mmpretrain.MultiView')))
    if not views or len(views[0]['transforms']) < 2:
        raise ValueError(
            'VRM needs the virtual view of the train pipeline, a '
            "dict(type='MultiView', transforms=[real, virtual]); none in "
            f'{cfg.filename}.')
    return list(views[0]['transforms'][1])


def _train_size(cfg):
    train = _pipeline_of(cfg.train_dataloader.dataset)
    for t in _find(train, ('RandomCrop', 'RandomResizedCrop', 'CenterCrop')):
        size = t.get('crop_size', t.get('scale'))
        if isinstance(size, (list, tuple)):
            size = size[0]
        if isinstance(size, int):
            return size
    return None


class Batch:
    """One batch: the real views, optionally the virtual ones, the data
    samples (with labels), class names and where the labels come from."""

    def __init__(self, real, virtual, samples, classes, label_source):
        self.real, self.virtual = real, virtual
        self.samples = samples
        self.classes = classes
        self.label_source = label_source

    @property
    def labels(self):
        return torch.cat([s.gt_label for s in self.samples])


def load_batch(cfg, model, args, classes):
    """Raw samples through the val pipeline (and the virtual branch)."""
    from mmengine.dataset import Compose
    from mmpretrain.registry import DATASETS

    losses = model.distiller.distill_losses.values()
    need_virtual = any(isinstance(loss, VRMLoss) for loss in losses)
    per_class = args.per_class
    if per_class is None and any(
            isinstance(loss, RefilledTupleLoss) for loss in losses):
        per_class = 4
    val_cfg = copy.deepcopy(cfg.val_dataloader.dataset)
    load, rest, pack = _split_val(_pipeline_of(val_cfg))
    infos, label_source = [], 'ground truth'
    if args.images:
        channels = len(model.data_preprocessor.mean.flatten()) \
            if getattr(model.data_preprocessor, 'mean', None) is not None \
            else 3
        size = args.img_size or _train_size(cfg)
        for i, path in enumerate(args.images):
            info = dict(img_path=path, sample_idx=i)
            if not load:
                info['img'] = _read_image(path, channels, size)
            if args.labels:
                info['gt_label'] = args.labels[i]
            infos.append(info)
        if not args.labels:
            label_source = "student's predictions"
    else:
        dataset = DATASETS.build(val_cfg)
        if len(dataset) < args.num_val:
            raise ValueError(f'--num-val={args.num_val} but the val set has '
                             f'{len(dataset)} samples.')
        index = _val_indices(dataset, args.num_val, per_class)
        infos = [dataset.get_data_info(int(i)) for i in index]
        classes = dataset.metainfo.get('classes') or classes
    real_pipe = Compose(load + rest)
    packed = [real_pipe(copy.deepcopy(info)) for info in infos]
    virtual = None
    if need_virtual:
        virtual_pipe = Compose(load + _virtual_branch(cfg) + [pack])
        virtual = [virtual_pipe(copy.deepcopy(info)) for info in infos]
    samples = [p['data_samples'] for p in packed]
    prep = model.data_preprocessor

    def inputs(items):
        out = prep(dict(inputs=[p['inputs'] for p in items],
                        data_samples=samples), False)
        return out['inputs'], out['data_samples']

    real, samples = inputs(packed)
    if virtual is not None:
        virtual = inputs(virtual)[0]
    if 'gt_label' not in samples[0]:
        with torch.no_grad():
            pred = model.student(real, mode='tensor').argmax(1)
        for sample, label in zip(samples, pred):
            sample.set_gt_label(label.view(1))
    return Batch(real, virtual, samples, classes, label_source)


def _val_indices(dataset, num, per_class):
    """``num`` val indices: evenly spaced, or ``per_class`` samples of each
    class in order of first appearance (tuples need same-class pairs)."""
    if not per_class:
        return np.linspace(0, len(dataset) - 1, num).round().astype(int)
    labels = np.asarray(dataset.get_gt_labels())
    picked = []
    for label in dict.fromkeys(labels.tolist()):
        picked.extend(np.flatnonzero(labels == label)[:per_class].tolist())
        if len(picked) >= num:
            break
    return np.asarray(picked[:num])


def _read_image(path, channels, size):
    from PIL import Image
    img = Image.open(path).convert('L' if channels == 1 else 'RGB')
    if size:
        img = img.resize((size, size), Image.BILINEAR)
    return np.asarray(img)


def loss_inputs(model, batch):
    """Run teacher and student once (eval, no gradient) as the algorithms
    do, and return every loss's keyword arguments from the recorders."""
    inputs, samples = batch.real, batch.samples
    if batch.virtual is not None:
        # VRMDistill's layout: real rows, then virtual rows, same order.
        inputs = torch.cat([batch.real, batch.virtual])
        samples = list(samples) * 2
    distiller = model.distiller
    # As the algorithms do (tensor mode: a teacher of another label space
    # never sees the student's labels).
    teacher_forward(model, inputs, samples)
    with torch.no_grad():
        distiller.set_deliveries_override(True)
        with distiller.student_recorders, distiller.deliveries:
            # Loss mode: label recorders (head.loss_module) see the labels.
            model.student(inputs, samples, mode='loss')
        found = {}
        for name, mapping in distiller.loss_forward_mappings.items():
            found[name] = {
                key: distiller.get_record(**record)
                for key, record in mapping.items()
            }
    return found


# ----------------------------------------------------------------------------
# drawing helpers


def _plt():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def _wrap(text, width):
    """``text`` wrapped at ``width`` characters, its own line breaks
    kept: titles stay within their panel (and the suptitle within the
    figure) instead of running into a neighbour or off the page."""
    import textwrap
    return '\n'.join(
        '\n'.join(textwrap.wrap(line, width, break_on_hyphens=False)) or ''
        for line in text.split('\n'))


def _suptitle(fig, text, fontsize=11):
    """The figure's title, wrapped to the figure's width (about 0.6 em a
    character)."""
    width = int(fig.get_figwidth() * 72 / (0.6 * fontsize))
    fig.suptitle(_wrap(text, width), fontsize=fontsize)


def _heatmap(ax, mat, title, xlabel, ylabel, cbar, cmap='viridis', vmin=None,
             vmax=None, mask=None, title_width=46):
    """An image with its colourbar; the figures are drawn with the
    constrained layout, which keeps titles, colourbars and labels apart."""
    plt = _plt()
    data = np.ma.masked_array(mat, mask=mask if mask is not None else False)
    colours = plt.get_cmap(cmap).with_extremes(bad='#dddddd')
    image = ax.imshow(
        data, cmap=colours, vmin=vmin, vmax=vmax, interpolation='nearest')
    ax.set_title(_wrap(title, title_width), fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.figure.colorbar(image, ax=ax, shrink=0.9, label=cbar)
    return image


def _outline(ax, cells, colour=PRUNED):
    """Red outlines around the ``(row, col)`` cells of an image."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle
    boxes = [Rectangle((c - 0.5, r - 0.5), 1, 1) for r, c in cells]
    if boxes:
        ax.add_collection(
            PatchCollection(
                boxes, facecolor='none', edgecolor=colour, linewidth=0.9))


def _ticks(ax, names, axis='both', max_ticks=32):
    if len(names) > max_ticks:
        return
    pos = np.arange(len(names))
    if axis in ('both', 'x'):
        ax.set_xticks(pos)
        ax.set_xticklabels(names, rotation=90, fontsize=7)
    if axis in ('both', 'y'):
        ax.set_yticks(pos)
        ax.set_yticklabels(names, fontsize=7)


def _class_name(classes, k):
    if classes is not None and 0 <= k < len(classes):
        return str(classes[k])
    return f'class {k}'


def _save(fig, path, dpi=110):
    # Drawn at the dpi of the file: the figure left behind has the layout
    # of the PNG (the tests inspect it).
    fig.set_dpi(dpi)
    fig.savefig(path, dpi=dpi)
    _plt().close(fig)
    return path


def _logits(x):
    if isinstance(x, (tuple, list)):
        x = x[-1]
    return x.detach().float().cpu()


def _features(x):
    if isinstance(x, (tuple, list)):
        x = x[-1]
    return x.detach().float().cpu().flatten(1)


# ----------------------------------------------------------------------------
# VRM


def vrm_edges(loss, preds_S, preds_T):
    """Both VRM graphs as the loss computes them (:meth:`VRMLoss.edges` and
    :meth:`VRMLoss.pruned`, in float64), laid out as ``(N, N)`` maps.

    Returns:
        dict: ``is``/``ic`` -> ``(disc, kept, pruned)`` ``(N, N)`` tensors,
        ``vs``/``vt`` the (standardised) vertices, ``value`` the loss value
        these maps give (the weighted means of ``disc`` over ``kept``).
    """
    s, t = _logits(preds_S).double(), _logits(preds_T).double()
    found = loss.edges(s, t)
    out = dict(vs=loss.standardise(s), vt=loss.standardise(t))
    value = 0.0
    for key, weight in (('is', loss.is_weight), ('ic', loss.ic_weight)):
        disc = found[f'{key}_disc']
        rows, cols = found[f'{key}_edges']
        kept = torch.zeros_like(disc, dtype=torch.bool)
        kept[rows, cols] = True
        pruned = torch.zeros_like(kept)
        mask = loss.pruned(disc[rows, cols], found[f'{key}_score'])
        if mask is not None:
            pruned[rows[mask], cols[mask]] = True
        out[key] = (disc, kept, pruned)
        value += weight * float(disc[kept].mean())
    out['value'] = loss.loss_weight * value
    return out


def plot_vrm(loss, name, kwargs, batch, path, max_classes):
    plt = _plt()
    preds_S, preds_T = kwargs['preds_S'], kwargs['preds_T']
    edges = vrm_edges(loss, preds_S, preds_T)
    value = float(loss(_logits(preds_S), _logits(preds_T)))
    vs, vt = edges['vs'], edges['vt']
    rows, num_classes = vs.shape
    b = rows // 2
    labels = batch.labels.tolist()

    # Classes shown: the batch's, then the teacher's highest-scoring ones.
    order = list(dict.fromkeys(labels))
    mean_t = _logits(preds_T).mean(0)
    order += [k for k in mean_t.argsort(descending=True).tolist()
              if k not in order]
    shown = sorted(order[:min(max_classes, num_classes)])
    idx = torch.tensor(shown)

    fig, axes = plt.subplots(2, 3, figsize=(18, 11), layout='constrained')
    vertex_names = [f'{i}' for i in range(b)] + [f'{i}~' for i in range(b)]
    z = 'z-scored ' if loss.zscore else ''
    for row, key in enumerate(('is', 'ic')):
        disc, kept, pruned = edges[key]
        if key == 'is':
            dt, ds = pairwise_distances(vt), pairwise_distances(vs)
            names, sel = vertex_names, slice(None)
            axis_label = 'vertex (sample i real, i~ virtual)'
            what = f'inter-sample graph, {rows} vertices ({z}logit rows)'
        else:
            dt = pairwise_distances(vt.t())[idx][:, idx]
            ds = pairwise_distances(vs.t())[idx][:, idx]
            disc, kept, pruned = (m[idx][:, idx] for m in (disc, kept, pruned))
            names = [_class_name(batch.classes, k) for k in shown]
            sel = slice(None)
            axis_label = 'class'
            what = (f'inter-class graph ({len(shown)} of {num_classes} '
                    'classes shown)')
        vmax = float(max(dt.max(), ds.max()))
        for col, (mat, who) in enumerate(((dt, 'teacher'), (ds, 'student'))):
            ax = axes[row, col]
            _heatmap(ax, mat[sel].numpy(), f'{who}: edge length '
                     f'||V_a - V_b||\n{what}', axis_label, axis_label,
                     'edge length', cmap='magma', vmin=0, vmax=vmax)
            _ticks(ax, names)
        ax = axes[row, 2]
        n_kept, n_pruned = int(kept.sum()), int(pruned.sum())
        _heatmap(
            ax, disc.numpy(), 'discrepancy d_ab = ||e^S_ab - e^T_ab||^2\n'
            f'{n_kept} kept edges (a < b), {n_pruned} pruned '
            f'{"" if key == "is" else "(among those shown) "}'
            f'({loss.prune}, ratio {loss.prune_ratio}) outlined red',
            axis_label, axis_label, 'd_ab (0 = same direction, 4 = opposite)',
            cmap='viridis', vmin=0, vmax=4, mask=(~kept).numpy())
        _outline(ax, pruned.nonzero().tolist())
        _ticks(ax, names)
        if key == 'is':
            for a in axes[0]:
                a.axhline(b - 0.5, color='white', linewidth=1.2)
                a.axvline(b - 0.5, color='white', linewidth=1.2)
    _suptitle(
        fig,
        f'VRM ({name}): teacher vs student on {b} samples + their virtual '
        f'views; labels: {batch.label_source}\nloss value {value:.4f} '
        f'(loss_weight {loss.loss_weight}, is_weight {loss.is_weight}, '
        f'ic_weight {loss.ic_weight}, is_pairs {loss.is_pairs}); grey: '
        'edges not in the loss (a >= b or outside is_pairs)')
    return _save(fig, path), value


# ----------------------------------------------------------------------------
# RRD


def rrd_distributions(loss, preds_S, preds_T):
    """The memory the loss would use for this batch and the teacher's and
    the student's similarity logits over it (:meth:`RRDLoss.similarities`);
    the loss value (on a copy, so the real memory is left as it is)."""
    zs, zt = _features(preds_S), _features(preds_T)
    before = copy.deepcopy(loss).cpu()
    work = copy.deepcopy(before)
    value = float(work(zs, zt))
    # With enqueue_first the loss writes the batch before comparing.
    used = work if loss.enqueue_first else before
    logits_s, logits_t = used.similarities(zs, zt)
    return used.queue.detach(), logits_t, logits_s, value


def rrd_temperatures(loss):
    """``{'teacher': (name, tau, word), 'student': ...}``: each side's
    temperature as the loss holds it (its preset's, or given), and which is
    the softer (the larger temperature: the flatter distribution)."""
    tau = dict(teacher=('tau_t', float(loss.tau_t)),
               student=('tau_s', float(loss.tau_s)))
    words = dict(teacher='same as the student', student='same as the teacher')
    if tau['teacher'][1] != tau['student'][1]:
        softer = max(tau, key=lambda who: tau[who][1])
        words = {who: 'the softer' if who == softer else 'the sharper'
                 for who in tau}
    return {who: (*tau[who], words[who]) for who in tau}


def plot_rrd(loss, name, kwargs, batch, path, max_slots=48, per_sample=3):
    """Teacher and student distributions on one colour scale, the log
    ratio of the two on the same cells, KL per sample and the teacher's
    most similar slots of a few samples."""
    plt = _plt()
    memory, logits_t, logits_s, value = rrd_distributions(
        loss, kwargs['preds_S'], kwargs['preds_T'])
    p_t, p_s = logits_t.softmax(1), logits_s.softmax(1)
    kl = kl_divergence(logits_t, logits_s)
    labels = batch.labels.tolist()
    order = sorted(range(len(labels)), key=lambda i: labels[i])
    slots = p_t.sum(0).argsort(descending=True)[:max_slots]
    slots = slots.sort().values
    mass = float(p_t[:, slots].sum(1).mean())
    temps = rrd_temperatures(loss)

    fig = plt.figure(figsize=(19, 11.5), layout='constrained')
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.2, 1])
    axes = top.subplots(1, 3)
    names = [f'{i}: {_class_name(batch.classes, labels[i])}' for i in order]
    shown = dict(teacher=p_t[order][:, slots], student=p_s[order][:, slots])
    # One scale for both: a flat distribution looks flat next to a peaked
    # one (each on its own scale they would look alike).
    vmax = float(max(m.max() for m in shown.values()))
    ratio = (shown['student'].clamp_min(1e-30).log10() -
             shown['teacher'].clamp_min(1e-30).log10())
    bound = max(float(ratio.abs().max()), 1e-3)

    def slot_ticks(ax):
        ax.set_aspect('auto')
        _ticks(ax, names, axis='y')
        ticks = list(range(0, len(slots), max(1, len(slots) // 6)))
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(int(slots[i])) for i in ticks], fontsize=7)

    for ax, who in zip(axes, ('teacher', 'student')):
        key, tau, word = temps[who]
        _heatmap(
            ax, shown[who].numpy(), f'{who}: p_{who[0]} = softmax(z_{who[0]} '
            f'Q^T / {tau})\n{key} {tau}, {word}; the {len(slots)} slots '
            'with most teacher mass', 'memory slot', 'sample: class',
            f'p_{who[0]} (scale shared by teacher and student)', vmin=0,
            vmax=vmax)
        slot_ticks(ax)
    _heatmap(
        axes[2], ratio.numpy(), 'log10(p_s / p_t) on the same cells\nred: '
        'the student puts more mass there, blue: less',
        'memory slot', 'sample: class', 'log10(p_s / p_t)',
        cmap='coolwarm', vmin=-bound, vmax=bound)
    slot_ticks(axes[2])

    bottom_axes = bottom.subplots(1, per_sample + 1)
    ax = bottom_axes[0]
    ax.bar(range(len(order)), kl[order].numpy(), color='#1f77b4')
    ax.set_title('KL(p_t || p_s) per sample\n(over the whole memory)',
                 fontsize=10)
    ax.set_xlabel('sample')
    ax.set_ylabel('KL (nats)')
    _ticks(ax, [str(i) for i in order], axis='x')
    for ax in bottom_axes[1 + len(order):]:
        ax.set_visible(False)
    for ax, i in zip(bottom_axes[1:], order[:per_sample]):
        best = p_t[i].argsort(descending=True)[:15]
        x = np.arange(len(best))
        ax.bar(x - 0.2, p_t[i, best].numpy(), 0.4, label='teacher p_t')
        ax.bar(x + 0.2, p_s[i, best].numpy(), 0.4, label='student p_s')
        ax.set_xticks(x)
        ax.set_xticklabels([str(int(k)) for k in best], rotation=90,
                           fontsize=7)
        ax.set_xlabel("memory slot\n(the teacher's 15 most similar)")
        ax.set_ylabel('probability')
        ax.set_title(
            _wrap(f'sample {i} ({_class_name(batch.classes, labels[i])}), '
                  f'KL {float(kl[i]):.3g}', 36), fontsize=10)
        ax.legend(fontsize=8)
    _suptitle(
        fig,
        f'RRD ({name}): similarity distributions over the memory of '
        f'{loss.queue_size} teacher embeddings (write pointer '
        f'{int(loss.queue_ptr)}; enqueue_first={loss.enqueue_first}); '
        f'labels: {batch.label_source}\nloss value {value:.4f} (loss_weight '
        f'{loss.loss_weight}, preset {getattr(loss, "preset", None)!r}: '
        f'tau_t {temps["teacher"][1]} ({temps["teacher"][2]}), tau_s '
        f'{temps["student"][1]} ({temps["student"][2]})); the slots shown '
        f'hold {100 * mass:.1f}% of the teacher mass on average')
    return _save(fig, path), value


# ----------------------------------------------------------------------------
# REFILLED


def refilled_levels(loss, preds_S, preds_T, labels):
    """Distances, mined tuples and their comparison logits, teacher and
    student (:meth:`RefilledTupleLoss.relations`)."""
    with torch.no_grad():
        found = loss.relations(_features(preds_S), _features(preds_T), labels)
    ds, dt = found['dist_s'], found['dist_t']
    if found['tuples'] is None:
        return ds, dt, None
    anchors, columns, valid = found['tuples']
    return ds, dt, (anchors, columns, valid, found['logits_t'],
                    found['logits_s'])


def plot_refilled_tuple(loss, name, kwargs, batch, path, num_tuples=4):
    plt = _plt()
    labels = kwargs.get('gt_labels', batch.labels)
    labels = labels.detach().cpu().long()
    ds, dt, tuples = refilled_levels(loss, kwargs['preds_S'],
                                     kwargs['preds_T'], labels)
    value = float(loss(_features(kwargs['preds_S']),
                       _features(kwargs['preds_T']), labels))
    order = labels.argsort(stable=True)
    names = [f'{int(i)}: {_class_name(batch.classes, int(labels[i]))}'
             for i in order]
    fig = plt.figure(figsize=(17, 11), layout='constrained')
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.3, 1])
    top_axes = top.subplots(1, 3, width_ratios=[1, 1, 0.9])
    pairs = []
    if tuples is not None:
        anchors, columns = tuples[0], tuples[1]
        rank = torch.empty_like(order)
        rank[order] = torch.arange(len(order))
        pairs = list(zip(rank[anchors].tolist(),
                         rank[columns[:, 0]].tolist()))
    vmax = float(max(ds.max(), dt.max()))
    for col, (mat, who) in enumerate(((dt, 'teacher'), (ds, 'student'))):
        ax = top_axes[col]
        _heatmap(ax, mat[order][:, order].numpy(),
                 f'{who}: d(a, b) of L2-normalised embeddings',
                 'sample: class', 'sample: class', 'distance', cmap='magma',
                 vmin=0, vmax=vmax)
        if col == 1:
            _outline(ax, pairs)
        _ticks(ax, names)
    ax = top_axes[2]
    if tuples is None:
        ax.text(0.5, 0.5, 'no semi-hard tuple in this batch\n(the loss is '
                'an exact zero)', ha='center', va='center', fontsize=12)
        ax.set_axis_off()
    else:
        _, _, valid, logits_t, logits_s = tuples
        kl = kl_divergence(logits_t, logits_s, valid)
        ax.hist(kl.numpy(), bins=min(30, max(5, len(kl) // 3)),
                color='#1f77b4')
        ax.set_title(f'KL(q_T || q_S), {len(kl)} tuples '
                     f'(tuple_mode {loss.tuple_mode})\nred boxes: their '
                     '(anchor, positive) pairs', fontsize=10)
        ax.set_xlabel('KL (nats)')
        ax.set_ylabel('tuples')
        # The tuples whose levels differ most between the networks.
        shown = kl.argsort(descending=True)[:num_tuples]
        for ax, t in zip(bottom.subplots(1, len(shown), squeeze=False)[0],
                         shown):
            width = int(valid[t].sum())
            q_t = logits_t[t, :width].softmax(0).numpy()
            q_s = logits_s[t, :width].softmax(0).numpy()
            x = np.arange(width)
            # Levels of a tuple are close to uniform (tau = 4 on distances
            # <= 2): markers on an auto-scaled axis show the differences.
            ax.plot(x, q_t, 'o-', label='teacher q_T')
            ax.plot(x, q_s, 's--', label='student q_S')
            ticks = ['p'] + [f'n{k}' for k in range(1, width)]
            ax.set_xticks(x)
            ax.set_xticklabels(ticks, fontsize=7, rotation=90)
            a, p = int(tuples[0][t]), int(columns[t, 0])
            ax.set_xlabel('tuple entry (positive, negatives)')
            ax.set_ylabel('comparison level')
            ax.set_title(
                f'anchor {a}, positive {p} '
                f'({_class_name(batch.classes, int(labels[a]))})\n'
                f'KL {float(kl[t]):.3g}', fontsize=10)
            ax.legend(fontsize=8)
    _suptitle(
        fig,
        f'REFILLED stage 1 ({name}): comparison levels softmax(-d / '
        f'{loss.tau}) on semi-hard tuples (margin {loss.margin}) mined on '
        f'the student; labels: {batch.label_source}\nloss value '
        f'{value:.4f} (loss_weight {loss.loss_weight})')
    return _save(fig, path), value


def refilled_classifier(loss, preds_S, feats_T, labels):
    """Centers, present classes, and the teacher's and the student's logits
    over them (:meth:`RefilledClassifierLoss.class_centers`,
    ``induced_logits`` and ``student_logits``); ``source`` says where the
    centers come from."""
    feats = _features(feats_T)
    present = labels.unique()
    if loss.center_mode == 'global' and bool(loss.centers_ready):
        mode = source = 'global'
    else:
        mode = source = 'batch'
        if loss.center_mode != 'batch':
            source = ('batch (the global centers are not computed in this '
                      'checkpoint)')
    loss = copy.deepcopy(loss).cpu()
    centers = loss.class_centers(feats, labels, mode)
    logits_t = loss.induced_logits(feats, labels, mode)[0][:, present]
    logits_s = loss.student_logits(_logits(preds_S))[:, present]
    return centers.detach().float(), present, logits_t, logits_s, source


def plot_refilled_classifier(loss, name, kwargs, batch, path):
    plt = _plt()
    labels = kwargs.get('gt_labels', batch.labels).detach().cpu().long()
    centers, present, logits_t, logits_s, source = refilled_classifier(
        loss, kwargs['preds_S'], kwargs['feats_T'], labels)
    p_t, p_s = logits_t.softmax(1), logits_s.softmax(1)
    kl = kl_divergence(logits_t, logits_s)
    weights = None
    if loss.weighted and kwargs.get('logits_T') is not None:
        weights = loss.sample_weights(_logits(kwargs['logits_T']))
    value = None
    if source.startswith('global') or loss.center_mode == 'batch':
        value = float(
            loss(_logits(kwargs['preds_S']), _features(kwargs['feats_T']),
                 labels, None if weights is None else
                 _logits(kwargs['logits_T'])))
    order = labels.argsort(stable=True)
    rows = [f'{int(i)}: {_class_name(batch.classes, int(labels[i]))}'
            for i in order]
    cols = [_class_name(batch.classes, int(k)) for k in present]
    fig, axes = plt.subplots(2, 2, figsize=(15, 12), layout='constrained')
    vmax = float(max(p_t.max(), p_s.max()))
    for ax, p, who in ((axes[0, 0], p_t, 'teacher p_T = softmax(f_T . c_k '
                        f'/ {loss.tau})'),
                       (axes[0, 1], p_s, 'student p_S = softmax(s_k' +
                        (f' / {loss.tau})' if loss.student_tau else ')'))):
        _heatmap(ax, p[order].numpy(), f'{who}\nover the classes present',
                 'class', 'sample: class', 'probability', vmin=0, vmax=vmax)
        ax.set_aspect('auto')
        _ticks(ax, cols, axis='x')
        _ticks(ax, rows, axis='y')
    sim = (centers[present] @ centers[present].t()).numpy()
    ax = axes[1, 0]
    _heatmap(ax, sim, f'class centers c_k ({source}): cosine similarity\n'
             "(the induced classifier's weights)", 'class', 'class',
             'cos(c_k, c_l)', cmap='coolwarm', vmin=-1, vmax=1)
    _ticks(ax, cols)
    ax = axes[1, 1]
    ax.bar(range(len(order)), kl[order].numpy(), color='#1f77b4',
           label='KL(p_T || p_S)')
    if weights is not None:
        ax.plot(range(len(order)), weights[order].numpy(), 'o',
                color=PRUNED, label='weight w_i')
    ax.set_title('per sample', fontsize=10)
    ax.set_xlabel('sample')
    ax.set_ylabel('KL (nats) / weight')
    _ticks(ax, [str(int(i)) for i in order], axis='x')
    ax.legend(fontsize=8)
    shown = 'n/a (no centers)' if value is None else f'{value:.4f}'
    _suptitle(
        fig,
        f"REFILLED stage 2 ({name}): the teacher's embedding-induced "
        f'classifier against the student; labels: {batch.label_source}\n'
        f'loss value {shown} (weight {loss.current_weight()}, tau '
        f'{loss.tau}, weighted {loss.weighted})')
    return _save(fig, path), value


# ----------------------------------------------------------------------------


def draw(figure, loss, name, kwargs, batch, path, args):
    """Draw ``figure`` (a figure name of the method table's
    ``relations``); returns ``(png path, loss value)``."""
    if figure == 'vrm':
        return plot_vrm(loss, name, kwargs, batch, path, args.max_classes)
    if figure == 'rrd':
        return plot_rrd(loss, name, kwargs, batch, path)
    if figure == 'refilled-tuple':
        return plot_refilled_tuple(loss, name, kwargs, batch, path)
    if figure == 'refilled-classifier':
        return plot_refilled_classifier(loss, name, kwargs, batch, path)
    raise NotImplementedError(
        f'{type(loss).__name__}: the method table names the figure '
        f'{figure!r}, which tools/visualize_relations.py cannot draw: add '
        'its plot function to draw().')


def visualize(cfg, checkpoint, out_dir, args):
    """Draw every relational loss of ``cfg``'s distiller; returns
    ``{png path: loss value}``."""
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    import random
    random.seed(args.seed)
    model, classes = build_distiller(cfg, checkpoint, args.device)
    losses = model.distiller.distill_losses
    wanted = [(name, loss, figure) for name, loss in losses.items()
              for kind, figure in DRAWN if isinstance(loss, kind)]
    if not wanted:
        raise ValueError(
            f'{cfg.filename}: the distiller has no relational loss (it has '
            f'{[type(x).__name__ for x in losses.values()]}); this tool '
            f'draws {", ".join(kind.__name__ for kind, _ in DRAWN)}.')
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmpretrain')):
        batch = load_batch(cfg, model, args, classes)
    kwargs = loss_inputs(model, batch)
    os.makedirs(out_dir, exist_ok=True)
    saved = {}
    for name, loss, figure in wanted:
        path = osp.join(out_dir, f'{figure}_{name}.png')
        out = draw(figure, loss, name, kwargs[name], batch, path, args)
        saved[out[0]] = out[1]
        print(f'saved {out[0]}')
    return saved


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    return visualize(cfg, args.checkpoint, args.out_dir, args)


if __name__ == '__main__':
    main()

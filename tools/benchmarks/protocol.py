"""The ``fmnist-lowdata`` protocol: does a method make a student better?

Fashion-MNIST is the real dataset every machine of this project has
(Debian's ``dataset-fashion-mnist``). The protocol is built so that
distillation matters and methods separate, and so that nothing is chosen
on the test set:

* **validation split**: the last ``VAL_SIZE`` (10,000) images of the
  training file, never trained on (``LocalFashionMNIST(split='val')``);
* **teacher**: wrn_16_2 trained once on the other 50,000 training images
  (``configs/fmnist_lowdata/teacher_*.py``), cached with its sha256, its
  validation and test accuracy reported;
* **students**: resnet8 on the first ``TRAIN_SIZE`` training images (data
  limited: alone it stays well below the teacher), ``EPOCHS`` epochs of
  cosine schedule; a method trained in stages (REFILLED) splits the same
  number of student epochs between its stages (``stage_epochs``), so every
  row trains the student equally long;
* **selection**: the accuracy of the last epoch on the validation split,
  the rule fixed in advance; hyperparameters and presets are chosen on it
  (``--no-test``, docs/tuning.md);
* **test**: the 10,000 t10k images, evaluated once per final
  configuration (the default), reported beside the validation accuracy;
* **cross-task** (REFILLED's case): a teacher that knows classes 0-4 only
  (the teacher images of those classes) and students of classes 5-9 on the
  same data-limited budget; KD cannot apply there. ``shift=k`` gives the
  TPAMI paper's shifted tasks: students of classes ``k .. k+4``, so
  ``5 - k`` of their classes are the teacher's (``k = 0``: ordinary KD,
  with a KD row);
* **controls** (:data:`CONTROLS`): ``KD@2B`` and ``student@2B`` see the
  same real and virtual views as VRM, so that VRM's relations are measured
  against KD on the same data, not against KD on one view;
* **pairs** (:data:`PAIRS`): the same rows with other teacher and student
  networks (RepDistiller's, MMPretrain's own, a ViT student), the presets
  unchanged; **sizes**: other student subsets at the same number of
  iterations (:func:`size_epochs`); :func:`evidence_tables` lists every
  table of docs/results.md (``tools/benchmark.py --suite evidence``).

A row of the protocol is an :class:`~tools.benchmarks.methods.Arm` of the
method table: one or more ordinary configs of ``configs/fmnist_lowdata/``.
The run folder is keyed by the configs' text and the options, so a changed
preset or option never reuses another configuration's results, and an
interrupted run resumes; the teacher's folder by its resolved config.
"""
import hashlib
import json
import os
import os.path as osp
import re
import statistics
import time
from collections import namedtuple

from mmengine.config import Config

from relkd_mm.runner.checkpoint import sha256
from relkd_mm.utils.staged_run import StageConfigs, StagedRun
from tools.benchmarks.methods import METHODS
from tools.benchmarks.quick_runs import REPO
from tools.benchmarks.report import (format_difference, markdown_table,
                                     mean_std, paired_difference)

CFG_DIR = osp.join(REPO, 'configs', 'fmnist_lowdata')
VAL_SIZE = 10000
TRAIN_SIZE = 5000
EPOCHS = 8
SEEDS = (0, 1, 2)
#: Options for the teacher's training are in its config; these are the
#: students'.
STUDENT_BATCH = 64

TEACHERS = {
    'main': 'teacher_wrn-16-2_1xb128_fmnist-lowdata.py',
    'classes0-4': 'teacher_wrn-16-2_1xb128_fmnist-lowdata-classes0-4.py',
}
#: Options of every teacher's run (one teacher per key, trained once).
TEACHER_OPTIONS = {'randomness.seed': 0}

#: The rows, each method's from the method table: every method's rows of
#: the ten classes, then its cross-task ones.
ARMS = [a for task in ('main', 'cross') for m in METHODS for a in m.arms
        if a.task == task]
#: Rows that need the teacher's and the student's labels to be the same
#: classes: run only at ``shift=0``.
SAME_LABELS_ONLY = ('KD (classes 5-9)', )
#: Classes of a cross-task student task (the teacher's are 0-4).
TASK_CLASSES = 5
#: The controls of VRM's virtual view (docs/results.md): the rows that see
#: the same two views as VRM, without its relations. The quick start leaves
#: them out (its one-seed table is a demonstration).
CONTROLS = ('student@2B', 'KD@2B')
#: What each part of a method adds (``--ablations``), from the method
#: table: the paper's VRM ablation order, and MMRazor's KD mixed into each
#: relational method.
ABLATION_ARMS = [a for m in METHODS for a in m.ablations]
#: The ablation tables: rows in order, each compared with the row before.
#: The VRM preset has the virtual views and no pruning (chosen on the
#: validation split), so pruning is the row after it.
ABLATIONS = {
    'VRM, in the paper\'s ablation order (+ virtual views: the VRM preset)': (
        'student alone', 'VRM: inter-sample graph',
        'VRM: + inter-class graph', 'VRM', 'VRM: + pruning'),
    'RRD alone and with KD': ('KD', 'RRD', 'RRD+KD'),
    'VRM alone and with KD': ('KD', 'VRM', 'VRM+KD'),
    'VRM+KD over KD@2B, the inter-sample graph first': (
        'KD@2B', 'VRM+KD: inter-sample graph', 'VRM+KD'),
    'VRM+KD over KD@2B, the inter-class graph first': (
        'KD@2B', 'VRM+KD: inter-class graph', 'VRM+KD'),
    'REFILLED alone and with KD': ('KD', 'REFILLED', 'REFILLED+KD'),
}
#: The reference rows of each table (paired differences against them).
BASELINES = {'main': ('student alone', 'KD', 'KD@2B'),
             'cross': ('student alone (classes 5-9)', )}


#: A network of a pair: its backbone (replacing the configs' own) and the
#: width of its pooled feature (the head's input, RRD's and REFILLED's
#: embedding).
Net = namedtuple('Net', ['name', 'backbone', 'feat_dim'])
#: A teacher -> student pair: ``teacher``/``student`` replace the configs'
#: wrn_16_2 and resnet8 (None keeps them); ``optimizer`` replaces the
#: students' SGD where the student's family trains with another (the
#: teacher's recipe is its config's). Every row of a pair trains the same
#: student with the same optimizer and schedule; the presets of the methods
#: are the main pair's, unchanged (they travel: docs/results.md).
Pair = namedtuple('Pair', ['name', 'teacher', 'student', 'optimizer',
                           'note'])

PAIRS = {
    'wrn16-2_resnet8': Pair(
        'wrn_16_2 -> resnet8', None, None, None,
        'the main pair (RepDistiller networks), where presets are chosen'),
    'wrn16-2_mobilenetv2': Pair(
        'wrn_16_2 -> MobileNetV2', None,
        Net('MobileNetV2 (RepDistiller mobile_half)',
            dict(type='RepDistillerMobileNetV2', arch='mobile_half',
                 in_channels=1), 1280), None,
        'heterogeneous: a wide ResNet teacher, an inverted-residual '
        'student'),
    'resnet18_mobileone': Pair(
        'MMPretrain ResNet-18 -> MobileOne', Net(
            'mmpretrain ResNet_CIFAR-18 (width 16)',
            dict(type='mmpretrain.ResNet_CIFAR', depth=18, in_channels=1,
                 stem_channels=16, base_channels=16), 128),
        Net('mmpretrain MobileOne (s0 layout, half width, one branch)',
            dict(type='mmpretrain.MobileOne', in_channels=1, arch=dict(
                num_blocks=[2, 8, 10, 1],
                width_factor=[0.375, 0.5, 0.5, 1.0],
                num_conv_branches=[1, 1, 1, 1],
                num_se_blocks=[0, 0, 0, 0])), 512), None,
        "MMPretrain's own backbones, sized by their config arguments for "
        '28 x 28 grey images on CPU'),
    'wrn16-2_vit': Pair(
        'wrn_16_2 -> ViT', None,
        Net('mmpretrain VisionTransformer (96-d, 6 layers, 3 heads, '
            'patch 4)',
            dict(type='mmpretrain.VisionTransformer', arch=dict(
                embed_dims=96, num_layers=6, num_heads=3,
                feedforward_channels=384), img_size=28, patch_size=4,
                 in_channels=1, out_type='featmap', with_cls_token=False,
                 drop_path_rate=0.1), 96),
        dict(type='AdamW', lr=1e-3, weight_decay=0.05),
        "a CNN teacher and a DeiT-style ViT student (VRM's headline "
        'case), the patch tokens average-pooled'),
}
MAIN_PAIR = 'wrn16-2_resnet8'


def apply_pair(cfg, pair, is_teacher):
    """Put ``pair``'s networks into a loaded protocol config: the backbone
    and the head's input width of the classifier (a config trained alone)
    or of the distiller's student and teacher, the widths of the
    connectors and losses that take a pooled feature, and the students'
    optimizer."""
    model = cfg.model
    if 'architecture' in model:
        nets = [(model['architecture'], pair.student),
                (model['teacher'], pair.teacher)]
    else:
        nets = [(model, pair.teacher if is_teacher else pair.student)]
    for classifier, net in nets:
        if net is not None:
            classifier['backbone'] = dict(net.backbone)
            classifier['head']['in_channels'] = net.feat_dim
    distiller = model.get('distiller', {})
    dims = {True: (pair.student or _STUDENT).feat_dim,
            False: (pair.teacher or _TEACHER).feat_dim}
    for mapping in distiller.get('loss_forward_mappings', {}).values():
        for source in mapping.values():
            name = source.get('connector')
            connector = distiller.get('connectors', {}).get(name)
            if connector is not None and 'dim_in' in connector:
                connector['dim_in'] = dims[bool(source['from_student'])]
    for loss in distiller.get('distill_losses', {}).values():
        if 'feat_dim' in loss:  # REFILLED's teacher centers
            loss['feat_dim'] = dims[False]
    if pair.optimizer is not None and not is_teacher:
        cfg.optim_wrapper['optimizer'] = dict(pair.optimizer)


#: The configs' own networks (what a pair's None keeps).
_TEACHER = Net('wrn_16_2', None, 128)
_STUDENT = Net('resnet8', None, 64)


def arms_named(names):
    """The arms of :data:`ARMS` and :data:`ABLATION_ARMS` called
    ``names`` (case-insensitive), in that order; unknown names raise. A
    cross-task row may be named with any task's classes (``'REFILLED
    (classes 1-5)'``, as a ``shift=1`` table names it)."""
    known = {a.name.lower(): a for a in ARMS + ABLATION_ARMS}

    def canonical(name):
        return re.sub(r'\(classes \d-\d\)', '(classes 5-9)', name.lower())

    unknown = [n for n in names if canonical(n) not in known]
    if unknown:
        raise ValueError(f'{unknown}: not a row of the protocol; rows are '
                         f'{list(a.name for a in ARMS + ABLATION_ARMS)}.')
    return [known[canonical(n)] for n in names]


def with_ablations(arms):
    """``arms`` plus every row the ablation tables need."""
    names = [a.name for a in arms]
    for rows in ABLATIONS.values():
        names += [n for n in rows if n not in names]
    return arms_named(names)


def machine():
    """What a run was trained on: the CPU (its model and whether it has
    AVX-512, which choose the kernels) and torch. CPU training is
    deterministic per machine, not across machines (the same seed gave the
    student alone 79.87 and 79.93 on two AMD EPYC machines:
    docs/results.md), so paired differences are taken between runs of one
    machine."""
    import platform

    import torch
    info = {}
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                key, _, value = line.partition(':')
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = info.get('model name') or platform.processor() or \
        platform.machine()
    if 'cpu family' in info:
        cpu += f' (family {info["cpu family"]}, model {info.get("model")}' \
            + (', AVX-512' if 'avx512f' in info.get('flags', '').split()
               else '') + ')'
    return dict(cpu=cpu, torch=torch.__version__,
                threads=torch.get_num_threads())


def slug(name):
    return re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')


def export_weights(checkpoint, path, **meta):
    """Write a weights-only copy of a trained model's checkpoint (no
    optimizer, scheduler or message hub: a third of the size), with
    ``meta``; returns its sha256. The quick start's committed teacher is
    the protocol's, written by this (``--export-teacher``)."""
    from relkd_mm.runner.checkpoint import (load_checkpoint_file,
                                            save_checkpoint_file)
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    save_checkpoint_file(dict(state_dict=state['state_dict'],
                              meta=dict(meta)), path)
    return sha256(path)


def size_epochs(train_size):
    """The students' epochs at ``train_size`` images, by the rule fixed
    before the data-size curve was run: the iterations of the protocol's
    budget (:data:`EPOCHS` epochs of :data:`TRAIN_SIZE` images), so that a
    smaller subset is seen more often and a larger one less, at the same
    cost and with the same warm-up in iterations."""
    return max(1, round(EPOCHS * TRAIN_SIZE / train_size))


def shift_task(cfg, shift):
    """Make a cross-task student config (its loaders wrap the data in a
    ``ClassSubsetDataset``) learn classes ``shift .. shift + 4``, labels
    0-4 in that order; other configs are left as they are. Returns whether
    the config was a cross-task one."""
    classes = list(range(shift, shift + TASK_CLASSES))
    found = False
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        dataset = loader['dataset']
        while 'dataset' in dataset:
            if dataset.get('type') in ('ClassSubsetDataset',
                                       'mmpretrain.ClassSubsetDataset'):
                dataset['classes'] = classes
                found = True
            dataset = dataset['dataset']
    return found


def task_name(name, shift):
    """A cross-task row's name with its task's classes."""
    if shift is None:
        return name
    return name.replace('classes 5-9',
                        f'classes {shift}-{shift + TASK_CLASSES - 1}')


def stage_epochs(arm, epochs):
    """Epochs of each stage: the arm's shares of ``epochs``, at least 1
    each, summing to ``epochs``."""
    if arm.stage_epochs is None:
        return [epochs]
    if len(arm.stage_epochs) != len(arm.configs):
        raise ValueError(f'{arm.name}: one stage_epochs share per config.')
    counts = [max(1, round(share * epochs)) for share in arm.stage_epochs]
    counts[-1] = epochs - sum(counts[:-1])
    if counts[-1] < 1:
        raise ValueError(f'{arm.name}: {epochs} epochs cannot be split into '
                         f'{len(counts)} stages of shares '
                         f'{arm.stage_epochs}.')
    return counts


def split_options(cfg_loader, split, indices=None, val_size=VAL_SIZE):
    """Set ``split``/``val_size`` (and ``indices``) on the innermost
    Fashion-MNIST dataset of a loader config (through wrappers such as
    ``ClassSubsetDataset``); returns the dict path that was set."""
    dataset, path = cfg_loader['dataset'], 'dataset'
    while 'dataset' in dataset:
        dataset, path = dataset['dataset'], path + '.dataset'
    if dataset.get('type') not in ('LocalFashionMNIST',
                                   'mmpretrain.LocalFashionMNIST'):
        raise ValueError(f'{path}: the fmnist-lowdata protocol needs a '
                         'LocalFashionMNIST dataset, got '
                         f'{dataset.get("type")}.')
    dataset['split'] = split
    dataset['val_size'] = val_size
    if indices is not None:
        dataset['indices'] = indices
    return path


def protocol_cfg_hook(train_size, data_root, val_size=VAL_SIZE):
    """The callable that puts the protocol's splits into a loaded config:
    students and teachers train on the ``'train'`` split (the teacher's
    config has no ``indices``; students get the first ``train_size``),
    validate on ``'val'`` and test on ``'test'``."""

    def prepare(cfg, is_teacher):
        split_options(cfg.train_dataloader, 'train',
                      None if is_teacher else train_size, val_size)
        split_options(cfg.val_dataloader, 'val', val_size=val_size)
        split_options(cfg.test_dataloader, 'test', val_size=val_size)
        for loader in (cfg.train_dataloader, cfg.val_dataloader,
                       cfg.test_dataloader):
            dataset = loader['dataset']
            while 'dataset' in dataset:
                dataset = dataset['dataset']
            if data_root is not None:
                dataset['data_root'] = data_root
        # One validation, after the last epoch (the selection rule), is run
        # by the protocol itself.
        cfg.train_cfg['val_interval'] = 1_000_000
        # Atomic: MMEngine's own hook removes the old checkpoint before
        # saving the new one, so a kill in between left a cached run with
        # nothing to resume from.
        cfg.default_hooks['checkpoint'] = dict(
            type='mmrazor.AtomicCheckpointHook', interval=1,
            max_keep_ckpts=1)
        cfg.default_hooks['logger'] = dict(type='LoggerHook', interval=50)
        if 'distiller' in cfg.model:
            # Every distillation run logs what its terms do (docs/results.md
            # reads these): a gradient measurement every 10 steps.
            cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
                dict(type='mmrazor.DistillDiagnosticsHook', interval=10,
                     val_batches=8)]

    return prepare


#: Config keys that cannot change a run's weights or accuracies: where the
#: console and logs go, which loop class evaluates (every one reports the
#: same top-1), the runner class. A run keyed without them survives a
#: change of them (the cache holds the trained result, not the log).
RESULT_NEUTRAL_KEYS = ('runner_type', 'log_level', 'log_processor',
                       'visualizer', 'vis_backends')
RESULT_NEUTRAL_DEFAULT_HOOKS = ('timer', 'logger', 'checkpoint',
                                'visualization')
#: Hooks that only check and warn (they read losses, gradients and
#: batches, never change them or draw random numbers).
RESULT_NEUTRAL_HOOKS = ('TrainCheckHook', 'LossBalanceHook')
#: relkd_mm's checked subclasses of upstream types: they add checks that
#: raise before a bad run starts and change nothing in a run that starts, so
#: a run keyed under the upstream name is the same run.
RESULT_NEUTRAL_TYPES = {
    'CheckedSingleTeacherDistill': 'SingleTeacherDistill',
    'CheckedConfigurableDistiller': 'ConfigurableDistiller',
    'CheckedLoadImageFromFile': 'LoadImageFromFile',
}


def _upstream_types(node):
    if isinstance(node, dict):
        return {k: RESULT_NEUTRAL_TYPES.get(v, v) if k == 'type'
                and isinstance(v, str) else _upstream_types(v)
                for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_upstream_types(v) for v in node)
    return node


def result_relevant(cfg):
    """A copy of ``cfg`` without what :data:`RESULT_NEUTRAL_KEYS`,
    :data:`RESULT_NEUTRAL_DEFAULT_HOOKS` and :data:`RESULT_NEUTRAL_HOOKS`
    name, and without the type of the validation and test loops; the
    types of :data:`RESULT_NEUTRAL_TYPES` read as their upstream names."""
    cfg = Config(_upstream_types(cfg.to_dict()))
    for key in RESULT_NEUTRAL_KEYS:
        cfg.pop(key, None)
    for key in RESULT_NEUTRAL_DEFAULT_HOOKS:
        cfg.get('default_hooks', {}).pop(key, None)
    if 'custom_hooks' in cfg:
        cfg.custom_hooks = [
            h for h in cfg.custom_hooks
            if str(h.get('type', '')).split('.')[-1]
            not in RESULT_NEUTRAL_HOOKS]
    for loop in ('val_cfg', 'test_cfg'):
        if isinstance(cfg.get(loop), dict):
            cfg[loop].pop('type', None)
    return cfg


class Protocol:
    """Runs of the fmnist-lowdata protocol, their results and tables.

    Args:
        work_dir (str): Parent folder (teacher cache and runs).
        data_root (str): Fashion-MNIST folder.
        train_size (int): Students' training images (first N).
        epochs (int): Students' epochs (all stages together).
        seeds (list[int]): Seeds of every arm.
        arms (list[Arm]): Rows to run (default :data:`ARMS`).
        test (bool): Evaluate the test set (final configurations); False
            while tuning, when only the validation split is used.
        options (dict): ``--cfg-options`` for every student run.
        log (callable): ``log(str)``.
        val_size (int): Held-out validation images; the protocol's is
            :data:`VAL_SIZE`, smaller only for smoke tests on tiny data.
        stage_split (list[float], optional): Shares of the student epochs
            of each stage, for every staged arm (tuning).
        shift (int, optional): The cross-task students' classes are
            ``shift .. shift + 4`` instead of 5-9 (the TPAMI paper's shifted
            tasks: the teacher knows 0-4, so ``5 - shift`` classes overlap;
            0 is ordinary KD).
        pair (str): Key of :data:`PAIRS`: the teacher and student networks
            (default the configs' own, :data:`MAIN_PAIR`).
        teacher_ckpt (str, optional): A trained main teacher to use instead
            of training it (:meth:`teacher`), e.g. the quick start's
            committed copy: a machine without the cache skips the teacher's
            50 minutes.
    """

    def __init__(self, work_dir, data_root, train_size=TRAIN_SIZE,
                 epochs=EPOCHS, seeds=SEEDS, arms=None, test=True,
                 options=None, log=print, val_size=VAL_SIZE,
                 stage_split=None, pair=MAIN_PAIR, shift=None,
                 teacher_ckpt=None):
        self.work_dir, self.data_root = work_dir, data_root
        self.teacher_ckpt = teacher_ckpt
        self.train_size, self.epochs = train_size, epochs
        self.seeds, self.test = list(seeds), test
        self.arms = list(ARMS if arms is None else arms)
        if shift is not None and not 0 <= shift <= 10 - TASK_CLASSES:
            raise ValueError(f'shift={shift}: a task of {TASK_CLASSES} of '
                             'the 10 classes starts at 0 to '
                             f'{10 - TASK_CLASSES}.')
        self.shift = shift
        if (5 if shift is None else shift) != 0:
            self.arms = [a for a in self.arms
                         if a.name not in SAME_LABELS_ONLY]
        if stage_split is not None:
            self.arms = [a._replace(stage_epochs=tuple(stage_split))
                         if a.stage_epochs else a for a in self.arms]
        self.options = dict(options or {})
        self.log = log
        self.val_size = val_size
        if pair not in PAIRS:
            raise ValueError(f'pair {pair!r} is not one of {list(PAIRS)}.')
        self.pair = PAIRS[pair]
        split = protocol_cfg_hook(train_size, data_root, val_size)

        def prepare(cfg, is_teacher):
            split(cfg, is_teacher)
            apply_pair(cfg, self.pair, is_teacher)
            if shift is not None and not is_teacher:
                shift_task(cfg, shift)

        self.prepare = prepare
        #: A :class:`~relkd_mm.utils.console.RunProgress` while runs train
        #: (a bar per run, a quiet console), or None.
        self.bar = None

    # -- teachers -----------------------------------------------------
    def teacher_configs(self, key):
        """The config the teacher of ``key`` trains with (protocol splits,
        pair and seed applied)."""
        return StageConfigs([osp.join(CFG_DIR, TEACHERS[key])],
                            TEACHER_OPTIONS,
                            prepare=lambda c: self.prepare(c, True))

    def teacher_dir(self, key):
        """The teacher's cache folder, ``teachers/<key>-<tag>``: the tag is
        the hash of its resolved config (:meth:`teacher_configs`, the
        inherited files included) without what cannot change the trained
        weights (:func:`result_relevant`), so that an edited base config
        retrains it and a new logger or warning hook does not."""
        cfg = result_relevant(self.teacher_configs(key).load(0))
        tag = hashlib.sha1(cfg.pretty_text.encode()).hexdigest()[:8]
        return osp.join(self.work_dir, 'teachers', f'{key}-{tag}')

    def teacher(self, key, train=True):
        """The cached teacher checkpoint of ``key`` (trained on first use;
        None without ``train`` when it is not cached), checked against its
        recorded sha256."""
        configs, work_dir = self.teacher_configs(key), self.teacher_dir(key)
        path = configs.paths[0]
        if key == 'main' and self.teacher_ckpt and self.pair.teacher is None:
            return self.given_teacher(self.teacher_ckpt, path)
        record = osp.join(work_dir, 'teacher.json')
        if osp.isfile(record):
            with open(record) as f:
                info = json.load(f)
            if osp.isfile(info['checkpoint']) and \
                    sha256(info['checkpoint']) == info['sha256']:
                return info
            self.log(f'teacher {key}: {info["checkpoint"]} is missing or '
                     'does not match its sha256: training it again.')
        if not train:
            return None
        self.log(f'teacher {key}: training {osp.relpath(path, REPO)} once '
                 f'(cached in {work_dir})...')
        result = StagedRun(f'teacher {key}', configs, work_dir,
                           progress=self.bar).train(resume=True,
                                                    validate=True)
        ckpt = osp.join(work_dir, 'teacher.pth')
        os.replace(result['checkpoint'], ckpt)
        info = dict(checkpoint=ckpt, sha256=sha256(ckpt),
                    config=osp.relpath(path, REPO),
                    val_top1=result['val_top1'],
                    test_top1=result['test_top1'], seconds=result['seconds'])
        with open(record + '.tmp', 'w') as f:
            json.dump(info, f, indent=1)
        os.replace(record + '.tmp', record)
        self.log(f'teacher {key}: val {info["val_top1"]:.2f}, test '
                 f'{info["test_top1"]:.2f}, sha256 {info["sha256"][:12]}')
        return info

    @staticmethod
    def given_teacher(checkpoint, config):
        """The record of a teacher trained elsewhere (``--teacher-ckpt``):
        its own sha256 keys the students' runs, and the accuracies come
        from its ``meta`` when it has them (:func:`export_weights` writes
        them). A checkpoint whose ``meta`` names another config is refused:
        its students would be filed under this protocol's teacher."""
        from relkd_mm.runner.checkpoint import load_checkpoint_file
        if not osp.isfile(checkpoint):
            raise SystemExit(f'--teacher-ckpt {checkpoint}: no such file; '
                             'pass a trained teacher or leave the option '
                             'out to train it.')
        meta = load_checkpoint_file(checkpoint,
                                    map_location='cpu').get('meta') or {}
        expected = osp.relpath(config, REPO)
        if meta.get('config', expected) != expected:
            raise SystemExit(
                f'--teacher-ckpt {checkpoint}: its meta.config is '
                f'{meta["config"]!r}, not the protocol\'s teacher '
                f'{expected!r}; pass a teacher trained with {expected}.')
        return dict(checkpoint=osp.abspath(checkpoint),
                    sha256=sha256(checkpoint), config=expected,
                    val_top1=meta.get('val_top1'),
                    test_top1=meta.get('test_top1'), seconds=None,
                    given=True)

    # -- students -----------------------------------------------------
    def resolved(self, arm):
        """The configs one run of ``arm`` trains with (protocol splits,
        options and stage epochs applied), as text: what the run folder is
        keyed by, so that a preset file and the ``--cfg-options`` that gave
        the same values while tuning share their runs. Settings that cannot
        change what is trained or measured (:func:`result_relevant`) are
        left out, so that a new logger or warning hook keeps the cache."""
        texts = []
        for path, extra in zip(self.config_paths(arm), self.stage_options(
                arm)):
            cfg = Config.fromfile(path)
            self.prepare(cfg, False)
            cfg.merge_from_dict(self.shared_options)
            cfg.merge_from_dict(extra)
            texts.append(result_relevant(cfg).pretty_text)
        return texts

    def stage_options(self, arm):
        """Each stage's epochs, and the options addressed to it alone
        (``stage2.model...=v`` applies ``model...=v`` to stage 2)."""
        out = []
        for k, epochs in enumerate(stage_epochs(arm, self.epochs)):
            prefix = f'stage{k + 1}.'
            out.append({key[len(prefix):]: value
                        for key, value in self.options.items()
                        if key.startswith(prefix)})
            out[-1].update({'train_cfg.max_epochs': epochs,
                            'param_scheduler.T_max': epochs})
        return out

    @property
    def shared_options(self):
        return {k: v for k, v in self.options.items()
                if not re.match(r'stage\d+\.', k)}

    def run_dir(self, arm, seed, teachers=None):
        teacher = (teachers or {}).get(arm.teacher, {}).get('sha256')
        key = hashlib.sha1(json.dumps(
            [self.resolved(arm), teacher], sort_keys=True,
            default=str).encode()).hexdigest()[:8]
        return osp.join(self.work_dir, f'{slug(arm.name)}-{key}',
                        f'seed{seed}')

    @staticmethod
    def config_paths(arm):
        return [osp.join(CFG_DIR, c) for c in arm.configs]

    def run_one(self, arm, seed, teachers):
        """Train (or resume) one arm with one seed; returns its result."""
        work_dir = self.run_dir(arm, seed, teachers)
        done = osp.join(work_dir, 'result.json')
        if osp.isfile(done):
            with open(done) as f:
                result = json.load(f)
            if not self.test or result.get('test_top1') is not None:
                return result, 'cached'
            # Chosen on the validation split: now tested, once.
            tested = StagedRun(arm.name, StageConfigs(
                self.config_paths(arm),
                prepare=lambda c: self.prepare(c, False)), work_dir,
                progress=self.bar).test()
            result.update(top1=tested['top1'], test_top1=tested['test_top1'],
                          test_seconds=tested['seconds'])
            how = 'tested'
        else:
            teacher = teachers[arm.teacher]['checkpoint'] if arm.teacher \
                else None
            stages = stage_epochs(arm, self.epochs)
            options = dict(self.shared_options, **{'randomness.seed': seed})
            configs = StageConfigs(
                self.config_paths(arm), options, self.stage_options(arm),
                prepare=lambda c: self.prepare(c, False),
                teacher_ckpt=teacher)
            result = StagedRun(arm.name, configs, work_dir,
                               progress=self.bar).train(
                                   resume=True, validate=True, test=self.test)
            result.update(seed=seed, stage_epochs=stages, machine=machine())
            how = 'trained'
        with open(done + '.tmp', 'w') as f:
            json.dump(result, f, indent=1)
        os.replace(done + '.tmp', done)
        return result, how

    def finished(self, arm, seed, teachers):
        """The result of a finished run, or None."""
        path = osp.join(self.run_dir(arm, seed, teachers), 'result.json')
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)

    def run(self, progress=None, report_only=False):
        """Every arm x seed (seed-major, so that an interrupted protocol
        has every arm's first seeds); returns the results by arm name.
        ``report_only``: train and test nothing, collect finished runs."""
        teachers = {key: self.teacher(key, train=not report_only)
                    for key in {a.teacher for a in self.arms if a.teacher}}
        results = {arm.name: {} for arm in self.arms}
        for seed in self.seeds:
            for arm in self.arms:
                if report_only:
                    if arm.teacher and teachers[arm.teacher] is None:
                        continue  # its teacher was never trained
                    result = self.finished(arm, seed, teachers)
                    if result is not None:
                        results[arm.name][seed] = result
                    continue
                start = time.time()
                result, how = self.run_one(arm, seed, teachers)
                results[arm.name][seed] = result
                val, test = result.get('val_top1'), result.get('test_top1')
                self.log(f'{task_name(arm.name, self.shift)} seed {seed}: '
                         f'{how}, val '
                         f'{val:.2f}' + (f', test {test:.2f}' if test is
                                         not None else '') +
                         f' ({time.time() - start:.0f} s)')
                if progress is not None:
                    progress()
        return teachers, results

    # -- report -------------------------------------------------------
    def table(self, results, task, split):
        """The Markdown table of one task on ``split`` ('val' or 'test'):
        mean +- std over seeds, the paired difference against each
        baseline with its 95% interval, student epochs and time a run."""
        key = f'{split}_top1'
        arms = [a for a in self.arms if a.task == task]
        baselines = [b for b in BASELINES[task]
                     if any(a.name == b for a in arms)]

        def per_seed(name):
            return {s: r[key] for s, r in results.get(name, {}).items()
                    if r.get(key) is not None}

        headers = ['method', f'{split} top-1'] + \
            [f'vs {task_name(b, self.shift)} [95% CI]'
             for b in baselines] + \
            ['seeds', 'epochs', 's/run']
        rows = []
        for arm in arms:
            values = per_seed(arm.name)
            if not values:
                continue
            stats = mean_std(values.values())
            cells = [task_name(arm.name, self.shift),
                     f'{stats["mean"]:.2f} +- {stats["std"]:.2f}']
            for base in baselines:
                cells.append('-' if base == arm.name else format_difference(
                    paired_difference(values, per_seed(base))))
            runs = list(results[arm.name].values())
            epochs = '+'.join(str(e) for e in runs[0].get(
                'stage_epochs', [self.epochs]))
            cells += [len(values), epochs,
                      f'{mean_std(r["seconds"] for r in runs)["mean"]:.0f}']
            rows.append(cells)
        return markdown_table(headers, rows,
                              'l' + 'r' * (len(headers) - 1))

    def ablation_table(self, results, rows, split):
        """One ablation table: ``rows`` (arm names) in order, each with its
        paired difference against the row before (what the step adds)."""
        key = f'{split}_top1'
        notes = {a.name: a.note for a in ARMS + ABLATION_ARMS}
        present = [n for n in rows if any(
            r.get(key) is not None for r in results.get(n, {}).values())]
        if len(present) < 2:
            return None
        out, previous = [], None
        for name in present:
            values = {s: r[key] for s, r in results[name].items()
                      if r.get(key) is not None}
            stats = mean_std(values.values())
            step = '-' if previous is None else format_difference(
                paired_difference(values, previous[1]))
            out.append([name, f'{stats["mean"]:.2f} +- {stats["std"]:.2f}',
                        step if previous is None else
                        f'{step} (vs {previous[0]})', len(values),
                        notes[name]])
            previous = (name, values)
        return markdown_table(
            ['row', f'{split} top-1', 'step: vs the row before [95% CI]',
             'seeds', 'what it is'], out, 'lrrrl')

    def report(self, teachers, results):
        lines = [
            f'fmnist-lowdata protocol: students on the first '
            f'{self.train_size} Fashion-MNIST training images for '
            f'{self.epochs} epochs (a staged method splits them), seeds '
            f'{self.seeds}; validation: the last {self.val_size} training '
            'images (never trained on), accuracy of the last epoch; test: '
            'the t10k images, evaluated once per final configuration. '
            'Paired differences over the same seeds, 95% t interval; '
            "'(noise)': the interval contains 0.", '',
            f'Pair: {self.pair.name} ({self.pair.note}); teacher '
            f'{(self.pair.teacher or _TEACHER).name}, student '
            f'{(self.pair.student or _STUDENT).name}' +
            (f', student optimizer {self.pair.optimizer}'
             if self.pair.optimizer else '') + '.', '']
        for key, info in sorted(teachers.items()):
            if info is None:
                continue
            # A pair's own teacher network replaces the config's backbone.
            network = (f'its backbone replaced by {self.pair.teacher.name}'
                       if self.pair.teacher else _TEACHER.name)
            accuracy = ', '.join(
                f'{split} {info[f"{split}_top1"]:.2f}'
                for split in ('val', 'test')
                if info.get(f'{split}_top1') is not None)
            lines.append(f'Teacher {key} ({info["config"]}, {network}' +
                         (', given by --teacher-ckpt' if info.get('given')
                          else '') + f'): {accuracy or "accuracy unknown"}, '
                         f'sha256 {info["sha256"][:16]}.')
        machines = sorted({
            f'{m["cpu"]}, torch {m["torch"]}'
            for runs in results.values() for r in runs.values()
            for m in [r.get('machine')] if m})
        if machines:
            lines.append('Trained on: ' + '; '.join(machines) + (
                ' (runs of different machines do not pair: CPU training is '
                'deterministic per machine only).' if len(machines) > 1
                else '.'))
        for task, title in (('main', 'All ten classes'),
                            ('cross', 'Cross-task: teacher of classes 0-4, '
                             'students of ' + task_name(
                                 'classes 5-9', self.shift))):
            if not any(a.task == task for a in self.arms):
                continue
            for split in (('val', 'test') if self.test else ('val', )):
                table = self.table(results, task, split)
                if table.count('\n') > 2:  # rows beyond the header
                    lines += ['', f'{title}, {split}:', '', table]
        for title, rows in ABLATIONS.items():
            for split in (('val', 'test') if self.test else ('val', )):
                table = self.ablation_table(results, rows, split)
                if table is not None:
                    lines += ['', f'Ablation: {title}, {split}:', '', table]
        return '\n'.join(lines) + '\n'

    def plot(self, results, path, split='test'):
        """Per task, each arm's ``split`` top-1: mean +- std bars and the
        seeds as dots (baselines grey)."""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        key = f'{split}_top1'
        tasks = [t for t in ('main', 'cross')
                 if any(a.task == t and results.get(a.name)
                        for a in self.arms)]
        if not tasks:  # nothing finished yet (--report-only)
            return
        fig, axes = plt.subplots(
            1, len(tasks), squeeze=False,
            figsize=(1.2 * len(self.arms) + 2, 3.6),
            gridspec_kw=dict(width_ratios=[
                sum(a.task == t for a in self.arms) for t in tasks]))
        for ax, task in zip(axes[0], tasks):
            arms = [a for a in self.arms if a.task == task and
                    any(r.get(key) is not None
                        for r in results.get(a.name, {}).values())]
            values = []
            for i, arm in enumerate(arms):
                seeds = [r[key] for r in results[arm.name].values()
                         if r.get(key) is not None]
                values += seeds
                stats = mean_std(seeds)
                base = arm.name in BASELINES[task]
                ax.bar(i, stats['mean'], yerr=stats['std'], capsize=4,
                       alpha=0.6, color='tab:gray' if base else 'tab:blue')
                ax.plot([i] * len(seeds), seeds, 'k.', ms=4)
            ax.set_xticks(range(len(arms)))
            ax.set_xticklabels([a.name for a in arms], rotation=25,
                               ha='right', fontsize=8)
            if values:
                ax.set_ylim(min(values) - 1.5, max(values) + 1)
            ax.set_ylabel(f'{split} top-1 (%)')
            ax.set_title('ten classes' if task == 'main' else
                         'cross-task (classes 5-9)', fontsize=9)
        fig.suptitle(f'fmnist-lowdata: mean +- std over seeds {self.seeds}'
                     ' (grey: baselines)', fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


# -- the evidence suite (docs/results.md) ------------------------------------
#: One table of the evidence: ``kind`` ('pair', 'size' or 'shift'), its
#: label, the Protocol arguments and the rows. Every table uses the main
#: pair's presets unchanged; only the main pair's validation split chose
#: them.
Table = namedtuple('Table', ['kind', 'label', 'kwargs', 'rows'])

PAIR_ROWS = ('student alone', 'KD', 'KD@2B', 'RRD+KD', 'VRM', 'VRM+KD',
             'REFILLED')
#: The main pair's table also runs VRM+KD graph by graph (its ablation
#: tables "VRM+KD over KD@2B": what the relations add over the bar).
MAIN_GRAPH_ROWS = ('VRM+KD: inter-sample graph', 'VRM+KD: inter-class graph')
SIZE_ROWS = ('student alone', 'KD', 'KD@2B', 'RRD+KD', 'VRM+KD',
             'REFILLED')
CROSS_ROWS = ('student alone (classes 5-9)', 'KD (classes 5-9)',
              'REFILLED (classes 5-9)')
#: Subset sizes of the data-size curve (the main pair; epochs by
#: :func:`size_epochs`).
SIZES = (1000, 2500, 5000, 20000)
#: The data-scarce cross-task students: subset size -> shifts (epochs by
#: :func:`size_epochs`; the first N training images hold about N / 10 of
#: each class). 600 (about 60 a class): the disjoint task and the partly
#: overlapping one whose induced classifier is best on validation
#: (``tools/analysis/refilled_induced.py``: 92.95 at k = 1 against 77.38
#: at k = 2 and 61.93 at k = 5). 150 (about 15 a class: at 60 the student
#: alone was nearly as good as with 500): the two tasks where REFILLED was
#: above the student alone on validation with 5,000 images (k = 1, 2). The
#: test set played no part in either choice.
SCARCE = {600: (1, 5), 150: (1, 2)}


def evidence_tables():
    """Every table of docs/results.md's evidence, in the order they run
    (the main pair's first: its controls are the headline)."""
    tables = [Table('pair', PAIRS[MAIN_PAIR].name, dict(pair=MAIN_PAIR),
                    tuple(a.name for a in ARMS if a.task == 'main') +
                    MAIN_GRAPH_ROWS)]
    tables += [Table('pair', spec.name, dict(pair=key), PAIR_ROWS)
               for key, spec in PAIRS.items() if key != MAIN_PAIR]
    tables += [Table('size', f'{size} images', dict(train_size=size),
                     SIZE_ROWS) for size in SIZES if size != TRAIN_SIZE]
    tables += [Table('shift', f'k = {k}', dict(shift=k), CROSS_ROWS)
               for k in range(0, 10 - TASK_CLASSES + 1)]
    tables += [Table('shift', f'k = {k}, {size} images',
                     dict(shift=k, train_size=size), CROSS_ROWS)
               for size, shifts in SCARCE.items() for k in shifts]
    return tables


def gains(results, method, baseline, split='test'):
    """The paired difference ``method - baseline`` on ``split`` over their
    common seeds (:func:`paired_difference`), or None."""
    key = f'{split}_top1'

    def per_seed(name):
        return {s: r[key] for s, r in results.get(name, {}).items()
                if r.get(key) is not None}

    values, reference = per_seed(method), per_seed(baseline)
    if not values or not reference:
        return None
    return paired_difference(values, reference)


def summary_table(collected, split='test'):
    """The evidence at a glance: for every table and method, its gain over
    the student alone and over KD and KD@2B (the right control of a method
    that sees two views), paired over seeds with 95% intervals.

    Args:
        collected (list[tuple[Table, dict]]): Each table with its results
            (arm name -> seed -> result).
    """
    rows = []
    for table, results in collected:
        alone = next((n for n in table.rows if n.startswith('student alone')),
                     None)
        for name in table.rows:
            if name == alone or name == 'student@2B' or \
                    not results.get(name):
                continue
            # a cross-task table names its rows by its task's classes, and
            # its KD is the same-labels KD row (k = 0)
            kd = next((n for n in table.rows if n.startswith('KD')
                       and '@' not in n), 'KD')
            cells = [table.label, task_name(name, table.kwargs.get('shift'))]
            for base in (alone, kd, 'KD@2B'):
                diff = None if base == name or base not in table.rows \
                    else gains(results, name, base, split)
                cells.append('-' if diff is None or not diff['n'] else
                             format_difference(diff))
            seeds = len([r for r in results[name].values()
                         if r.get(f'{split}_top1') is not None])
            rows.append(cells + [seeds])
    return markdown_table(
        ['table', 'method', 'vs student alone [95% CI]', 'vs KD [95% CI]',
         'vs KD@2B [95% CI]', 'seeds'], rows, 'llrrrr')


def cpu_time_table(collected, teachers):
    """What each table cost: its student runs and their CPU time, then each
    teacher once (every table reuses the cached teachers).

    A run's time is its wall time with one thread (``OMP_NUM_THREADS=1``,
    as the protocol runs), so its CPU time. A run interrupted and resumed
    records only its last segment, so a row's time is the median of its
    seeds times their number: a few resumed runs cannot shrink it.

    Args:
        collected (list[tuple[Table, dict]]): Each table with its results.
        teachers (dict): Each teacher once: any key -> ``(label, record)``,
            the record as the teacher cache keeps it (``seconds``).
    """
    def hours(seconds):
        return f'{seconds / 3600:.1f}'

    rows, total, runs_total = [], 0.0, 0
    for table, results in collected:
        seconds, runs = 0.0, 0
        for name in table.rows:
            times = [r['seconds'] for r in results.get(name, {}).values()
                     if r.get('seconds') is not None]
            if times:
                seconds += statistics.median(times) * len(times)
                runs += len(times)
        rows.append([table.label, runs, hours(seconds)])
        total, runs_total = total + seconds, runs_total + runs
    for label, info in teachers.values():
        if info.get('seconds') is not None:
            rows.append([label, 1, hours(info['seconds'])])
            total, runs_total = total + info['seconds'], runs_total + 1
    rows.append(['all', runs_total, hours(total)])
    return markdown_table(['table', 'runs', 'CPU hours'], rows, 'lrr')


#: Gains (points) beyond which the summary figure's bars run off its axis.
OFF_SCALE = 25


def plot_summary(collected, path, split='test'):
    """Two panels: each pair's gains over the student alone (bars, 95%
    intervals), and the data-size curve (gain against subset size, interval
    bands)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    methods = ('KD', 'KD@2B', 'RRD+KD', 'VRM', 'VRM+KD', 'REFILLED')
    colours = dict(zip(methods, plt.rcParams['axes.prop_cycle'].by_key()[
        'color']))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    pairs = [(t, r) for t, r in collected if t.kind == 'pair']
    width = 0.8 / len(methods)
    bars = []
    for i, (table, results) in enumerate(pairs):
        for j, method in enumerate(methods):
            diff = gains(results, method, 'student alone', split) \
                if method in table.rows else None
            if diff is None or not diff['n']:
                continue
            err = [[diff['mean'] - diff['low']], [diff['high'] -
                                                  diff['mean']]] \
                if diff['n'] > 1 else None
            x = i + (j - len(methods) / 2 + 0.5) * width
            left.bar(x, diff['mean'], width, yerr=err, capsize=2,
                     color=colours[method],
                     label=method if i == 0 else None)
            bars.append((x, diff['mean']))
    # One collapsed run (REFILLED on MobileNetV2: -44) would flatten every
    # other bar: the axis covers the gains within OFF_SCALE points, and a
    # bar beyond is labelled with its value at the edge.
    inside = [m for _, m in bars if abs(m) <= OFF_SCALE] or [0]
    low, high = min(inside + [0]) - 3, max(inside) + 3
    left.set_ylim(low, high)
    for x, mean in bars:
        if not low <= mean <= high:
            edge = low if mean < low else high
            left.annotate(f'{mean:+.0f}', (x, edge), ha='center',
                          va='bottom' if mean < low else 'top', fontsize=7)
    left.axhline(0, color='k', lw=0.8)
    left.set_xticks(range(len(pairs)))
    left.set_xticklabels([t.label.replace(' -> ', '\n-> ')
                          for t, _ in pairs], fontsize=8)
    left.set_ylabel(f'{split} top-1 gain over the student alone (points)')
    left.set_title('pairs (95% paired intervals)', fontsize=9)
    left.legend(fontsize=7, ncol=2)
    sizes = [(TRAIN_SIZE if t.kind == 'pair' else t.kwargs['train_size'], r)
             for t, r in collected if t.kind == 'size' or (
                 t.kind == 'pair' and t.kwargs['pair'] == MAIN_PAIR)]
    sizes.sort(key=lambda x: x[0])
    for method in methods:
        points = [(n, gains(r, method, 'student alone', split))
                  for n, r in sizes]
        points = [(n, d) for n, d in points if d is not None and d['n']]
        if not points:
            continue
        xs = [n for n, _ in points]
        right.plot(xs, [d['mean'] for _, d in points], 'o-',
                   color=colours[method], label=method)
        spread = [(n, d) for n, d in points if d['n'] > 1]
        if len(spread) > 1:
            right.fill_between([n for n, _ in spread],
                               [d['low'] for _, d in spread],
                               [d['high'] for _, d in spread],
                               color=colours[method], alpha=0.15)
        elif spread:  # a band needs two sizes; one gets its interval
            n, d = spread[0]
            right.errorbar([n], [d['mean']], yerr=[[d['mean'] - d['low']],
                                                   [d['high'] - d['mean']]],
                           color=colours[method], capsize=2, alpha=0.5)
    right.axhline(0, color='k', lw=0.8)
    right.set_xscale('log')
    right.set_xlabel('student training images (equal iterations)')
    right.set_title(f'{PAIRS[MAIN_PAIR].name}: gain against data size',
                    fontsize=9)
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)

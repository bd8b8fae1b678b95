"""The methods: one table that every tool and test listing methods reads.

A row (:class:`Method`) says, for one method, everything outside its own
files that the tools need:

* ``folder``: its folder ``configs/<folder>/`` with README and
  ``metafile.yml``; ``tests/test_configs/test_metafiles.py`` checks that
  model-index.yml imports exactly these metafiles;
* ``quick``: its row (:class:`Row`) of the quick start's budget of
  ``tools/benchmark.py`` (``quick_runs.RUNS``, configs of
  ``configs/quickstart/``);
* ``arms``/``ablations``: its rows (:class:`Arm`) of the fmnist-lowdata
  protocol (``protocol.ARMS``/``ABLATION_ARMS``, configs of
  ``configs/fmnist_lowdata/``), which the quick start runs too;
* ``cost``: its rows (:class:`Cost`) of ``tools/benchmark_cost.py``;
* ``relations``: its loss types that ``tools/visualize_relations.py``
  draws, and the name of the figure.

Rows appear in the tables in this order. Nothing here imports relkd_mm or
the OpenMMLab stack: the table is read before (and without) any of them.
"""
from collections import namedtuple

#: A row of the quick start's budget: ``configs``, a config file of
#: configs/quickstart/ (or a path), or several for a method trained in
#: stages; ``baseline``: a reference row (the student alone, KD).
Row = namedtuple('Row', ['name', 'configs', 'note', 'baseline'])

#: A row of the fmnist-lowdata protocol: ``configs``: config file(s) of
#: configs/fmnist_lowdata/; ``stage_epochs``: the share of the student
#: epochs of each stage (None: one stage); ``teacher``: key of
#: ``protocol.TEACHERS``, or None for a student alone; ``task``: 'main',
#: 'cross' or 'ablation' (the row's table).
Arm = namedtuple('Arm', ['name', 'configs', 'stage_epochs', 'teacher',
                         'task', 'note'])

#: A row of the cost benchmark: a CIFAR-100 ``config`` (repository path),
#: a description, and the target of the step time over KD's on the same
#: images (docs/benchmarks.md), or None.
Cost = namedtuple('Cost', ['config', 'desc', 'step_target'])

#: One method. ``folder`` is None for what has no method folder (the
#: student alone); ``cost`` maps the cost benchmark's row names to their
#: :class:`Cost`; ``relations`` maps the class names of the losses the
#: visualiser draws to their figure's name.
Method = namedtuple('Method', ['name', 'folder', 'quick', 'arms',
                               'ablations', 'cost', 'relations'])

_CIFAR_KD = 'configs/kd/kd_resnet32x4_resnet8x4_1xb64_cifar100.py'

METHODS = (
    Method(
        'student alone', None,
        Row('student alone (resnet8)', ('student_resnet8_fmnist.py', ),
            'baseline', True),
        (Arm('student alone', ('student_resnet8_1xb64_fmnist-lowdata.py', ),
             None, None, 'main', 'baseline: CE only'),
         Arm('student@2B', ('student-2b_resnet8_1xb64_fmnist-lowdata.py', ),
             None, None, 'main',
             'control: CE on the real and virtual views'),
         Arm('student alone (classes 5-9)',
             ('student_resnet8_1xb64_fmnist-lowdata-classes5-9.py', ), None,
             None, 'cross', 'baseline: CE only')),
        (),
        # The KD config's student trained alone (its own data preprocessor
        # and optimizer).
        {'student': Cost(_CIFAR_KD, 'student alone (CE)', None)},
        {}),
    Method(
        'KD', 'kd',
        Row('KD', ('kd_wrn-16-2_resnet8_fmnist.py', ),
            'MMRazor KLDivergence, T=4', True),
        (Arm('KD', ('kd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py', ), None,
             'main', 'main', 'baseline: MMRazor KLDivergence'),
         Arm('KD@2B', ('kd-2b_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py', ),
             None, 'main', 'main', 'control: KLDivergence on VRM\'s real '
             'and virtual views, VRM\'s warm-up'),
         # Ordinary KD where the label spaces coincide: only at shift 0 (the
         # protocol drops it elsewhere, protocol.SAME_LABELS_ONLY).
         Arm('KD (classes 5-9)',
             ('kd_wrn-16-2_resnet8_1xb64_fmnist-lowdata-classes5-9.py', ),
             None, 'classes0-4', 'cross',
             'KLDivergence: the labels must coincide')),
        (),
        {'kd': Cost(_CIFAR_KD, 'KD, MMRazor KLDivergence', None),
         'dkd': Cost('configs/kd/dkd_resnet32x4_resnet8x4_1xb64_cifar100.py',
                     'DKD, MMRazor DKDLoss', None),
         'rkd': Cost('configs/kd/rkd_resnet32x4_resnet8x4_1xb64_cifar100.py',
                     'RKD, MMRazor DistanceWiseRKD + AngleWiseRKD', None),
         'crd': Cost('configs/kd/crd_resnet32x4_resnet8x4_1xb64_cifar100.py',
                     'CRD, MMRazor CRDLoss', None)},
        {}),
    Method(
        'RRD', 'rrd',
        Row('RRD', ('rrd_wrn-16-2_resnet8_fmnist.py', ), 'relkd_mm RRDLoss',
            False),
        (Arm('RRD', ('rrd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py', ), None,
             'main', 'main', 'relkd_mm RRDLoss'),
         Arm('RRD+KD', ('rrd-kd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py', ),
             None, 'main', 'main',
             'RRDLoss + KLDivergence (the paper\'s best)')),
        (),
        {'rrd': Cost('configs/rrd/rrd_resnet32x4_resnet8x4_1xb64_cifar100.py',
                     'RRD (RRDLoss)', 1.05)},
        {'RRDLoss': 'rrd'}),
    Method(
        'VRM', 'vrm',
        Row('VRM', ('vrm_wrn-16-2_resnet8_fmnist.py', ), 'relkd_mm VRMLoss',
            False),
        (Arm('VRM', ('vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py', ), None,
             'main', 'main', 'relkd_mm VRMLoss'),
         Arm('VRM+KD', ('vrm-kd_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py', ),
             None, 'main', 'main', 'VRMLoss + KLDivergence')),
        # The paper's ablation order: rows 1-2 are the preset minus what the
        # later rows add, then the preset plus the paper's pruning.
        (Arm('VRM: inter-sample graph',
             ('vrm-ablation-is_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py', ),
             None, 'main', 'ablation', 'real views only, no pruning'),
         Arm('VRM: + inter-class graph',
             ('vrm-ablation-is-ic_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
              ), None, 'main', 'ablation', 'real views only, no pruning'),
         Arm('VRM: + pruning',
             ('vrm-ablation-pruning_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
              ), None, 'main', 'ablation',
             'the preset + 10% of edges pruned'),
         # What the relations add over KD on the same two views (KD@2B is
         # the bar): VRM+KD with one graph at a time.
         Arm('VRM+KD: inter-sample graph',
             ('vrm-kd-ablation-is_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
              ), None, 'main', 'ablation', 'KD@2B + the inter-sample graph'),
         Arm('VRM+KD: inter-class graph',
             ('vrm-kd-ablation-ic_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
              ), None, 'main', 'ablation', 'KD@2B + the inter-class graph')),
        {'vrm': Cost('configs/vrm/vrm_resnet32x4_resnet8x4_1xb64_cifar100.py',
                     'VRM (VRMDistill + VRMLoss), 2 views', 1.10)},
        {'VRMLoss': 'vrm'}),
    Method(
        'REFILLED', 'refilled',
        Row('REFILLED', ('refilled-s1_wrn-16-2_resnet8_fmnist.py',
                         'refilled-s2_wrn-16-2_resnet8_fmnist.py'),
            'relkd_mm stage 1 + stage 2', False),
        # 2 + 6 of the 8 epochs: chosen on the validation split
        # (docs/tuning.md; the TPAMI code's stages are 100 + 200 epochs).
        (Arm('REFILLED',
             ('refilled-s1_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
              'refilled-s2_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py'),
             (0.25, 0.75), 'main', 'main', 'stage 1 + stage 2'),
         Arm('REFILLED (classes 5-9)',
             ('refilled-s1_wrn-16-2_resnet8_1xb64_fmnist-lowdata-classes5-9'
              '.py',
              'refilled-s2_wrn-16-2_resnet8_1xb64_fmnist-lowdata-classes5-9'
              '.py'), (0.25, 0.75), 'classes0-4', 'cross',
             'teacher of classes 0-4, student of 5-9')),
        (Arm('REFILLED+KD',
             ('refilled-s1_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py',
              'refilled-kd-s2_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py'),
             (0.25, 0.75), 'main', 'ablation',
             'REFILLED, stage 2 + KLDivergence'), ),
        {'refilled-s1': Cost(
            'configs/refilled/refilled-s1_wrn-40-2_wrn-16-2_1xb128_cifar100'
            '.py', 'REFILLED stage 1 (RefilledTupleLoss, no CE)', 1.05),
         'refilled-s2': Cost(
             'configs/refilled/refilled-s2_wrn-40-2_wrn-16-2_1xb128_cifar100'
             '.py', 'REFILLED stage 2 (CE + RefilledClassifierLoss)', 1.05)},
        {'RefilledTupleLoss': 'refilled-tuple',
         'RefilledClassifierLoss': 'refilled-classifier'}),
)


def method_folders():
    """The method folders of configs/, sorted: the metafiles model-index.yml
    imports."""
    return sorted(m.folder for m in METHODS if m.folder)

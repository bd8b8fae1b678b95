"""The fmnist-lowdata protocol's splits: train, validation and test never
overlap, the teacher never sees the validation split, students train on
the first N training images, every config of the protocol (cross-task
wrappers included) gets the splits, and staged methods share the epochs."""
import gzip
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from relkd_mm.datasets.local import LocalFashionMNIST
from tools.benchmarks import protocol

N_TRAIN = protocol.VAL_SIZE + 60  # 60 teacher images + the validation split


def _write_idx(path, array):
    header = (0x0800 + array.ndim).to_bytes(4, 'big') + b''.join(
        int(n).to_bytes(4, 'big') for n in array.shape)
    with gzip.open(path, 'wb', compresslevel=1) as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope='module')
def indexed_fmnist(tmp_path_factory):
    """Each image carries its position in its file in two pixels."""
    root = str(tmp_path_factory.mktemp('fmnist_indexed'))
    for prefix, n in (('train', N_TRAIN), ('t10k', 30)):
        imgs = np.zeros((n, 28, 28), np.uint8)
        imgs[:, 0, 0], imgs[:, 0, 1] = np.divmod(np.arange(n), 256)
        _write_idx(osp.join(root, f'{prefix}-images-idx3-ubyte.gz'), imgs)
        _write_idx(osp.join(root, f'{prefix}-labels-idx1-ubyte.gz'),
                   np.arange(n) % 10)
    return root


def positions(dataset):
    dataset.full_init()
    rows = [dataset.get_data_info(i)['img'] for i in range(len(dataset))]
    return [256 * int(img[0, 0]) + int(img[0, 1]) for img in rows]


def build(loader_cfg):
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return DATASETS.build(loader_cfg['dataset'])


def prepared(name, train_size, root, is_teacher):
    cfg = Config.fromfile(osp.join(protocol.CFG_DIR, name))
    protocol.protocol_cfg_hook(train_size, root)(cfg, is_teacher)
    return cfg


def test_val_split_is_held_out_of_train(indexed_fmnist):
    kwargs = dict(data_root=indexed_fmnist, val_size=protocol.VAL_SIZE)
    train = positions(LocalFashionMNIST(split='train', **kwargs))
    val = positions(LocalFashionMNIST(split='val', **kwargs))
    assert train == list(range(60))
    assert val == list(range(60, N_TRAIN))
    assert positions(LocalFashionMNIST(
        split='train', indices=7, **kwargs)) == list(range(7))
    with pytest.raises(ValueError, match="needs val_size > 0"):
        LocalFashionMNIST(split='val', data_root=indexed_fmnist)
    with pytest.raises(ValueError, match='leaves no training image'):
        LocalFashionMNIST(split='train', data_root=indexed_fmnist,
                          val_size=N_TRAIN).full_init()


def test_teacher_and_students_never_see_validation_or_test(indexed_fmnist):
    teacher = prepared(protocol.TEACHERS['main'], 20, indexed_fmnist, True)
    seen = positions(build(teacher.train_dataloader))
    val = positions(build(teacher.val_dataloader))
    test = build(teacher.test_dataloader)
    assert seen == list(range(60))  # every teacher image, no indices
    assert not set(seen) & set(val) and len(val) == protocol.VAL_SIZE
    assert test.split == 'test' and len(test) == 30
    for arm in protocol.ARMS + protocol.ABLATION_ARMS:
        for name in arm.configs:
            cfg = prepared(name, 20, indexed_fmnist, False)
            train = build(cfg.train_dataloader)
            val = build(cfg.val_dataloader)
            inner = train
            while hasattr(inner, 'dataset'):
                inner = inner.dataset
            assert inner.split == 'train', name
            assert inner.val_size == protocol.VAL_SIZE, name
            train_pos = positions(inner)
            assert train_pos == list(range(20)), name  # the first N
            val_inner = val
            while hasattr(val_inner, 'dataset'):
                val_inner = val_inner.dataset
            assert val_inner.split == 'val', name
            assert not set(train_pos) & set(positions(val_inner)), name
            test = build(cfg.test_dataloader)
            while hasattr(test, 'dataset'):
                test = test.dataset
            assert test.split == 'test', name


def test_cross_task_teacher_sees_only_its_classes(indexed_fmnist):
    cfg = prepared(protocol.TEACHERS['classes0-4'], 20, indexed_fmnist,
                   True)
    train = build(cfg.train_dataloader)
    train.full_init()
    original = train.dataset.get_gt_labels()[train.indices]
    assert set(original.tolist()) == {0, 1, 2, 3, 4}
    assert max(train.indices) < 60  # teacher images only


def test_stage_epochs_share_the_student_budget():
    refilled = next(a for a in protocol.ARMS if a.name == 'REFILLED')
    assert sum(protocol.stage_epochs(refilled, 8)) == 8
    assert protocol.stage_epochs(refilled, 1 + 1) == [1, 1]
    single = protocol.ARMS[0]
    assert protocol.stage_epochs(single, 8) == [8]
    with pytest.raises(ValueError, match='cannot be split'):
        protocol.stage_epochs(refilled._replace(stage_epochs=(0.9, 0.1)), 1)


def _vrm_cfg(name):
    cfg = Config.fromfile(osp.join(protocol.CFG_DIR, name))
    loss = cfg.model.distiller.distill_losses.loss_vrm
    views = cfg.train_dataloader.dataset.pipeline[0]['type'] == 'MultiView'
    return cfg, loss, views


def test_vrm_ablation_rows_remove_one_part_each():
    """Each ablation row is the VRM preset minus what the later rows add,
    with every other value (weights, warm-up, schedule) the preset's."""
    rows = {a.name: a.configs[0] for a in protocol.ABLATION_ARMS}
    preset, preset_loss, preset_views = _vrm_cfg(
        'vrm_wrn-16-2_resnet8_1xb64_fmnist-lowdata.py')
    assert preset_views and preset.model.type == 'VRMDistill'
    expected = {
        'VRM: inter-sample graph': (False, 0.0, 'none'),
        'VRM: + inter-class graph': (False, preset_loss.ic_weight, 'none'),
        'VRM: + pruning': (True, preset_loss.ic_weight, 'discrepancy'),
    }
    assert preset_loss.prune == 'none'
    for name, (views, ic_weight, prune) in expected.items():
        cfg, loss, has_views = _vrm_cfg(rows[name])
        assert has_views == views, name
        assert cfg.model.type == ('VRMDistill' if views else
                                  'CheckedSingleTeacherDistill'), name
        assert (loss.ic_weight, loss.prune) == (ic_weight, prune), name
        rest = {k: v for k, v in loss.items() if k not in
                ('ic_weight', 'prune', 'prune_ratio')}
        assert rest == {k: v for k, v in preset_loss.items() if k not in
                        ('ic_weight', 'prune', 'prune_ratio')}, name
        assert cfg.custom_hooks == preset.custom_hooks, name
        assert cfg.train_cfg == preset.train_cfg, name
        assert cfg.train_dataloader.drop_last, name
    names = [n for rows in protocol.ABLATIONS.values() for n in rows]
    assert {a.name for a in protocol.with_ablations([])} == set(names)


def test_ablation_table_steps_are_paired_against_the_row_before(tmp_path):
    from tools.benchmarks.report import format_difference, paired_difference
    runner = protocol.Protocol(str(tmp_path), str(tmp_path), test=False)
    seeds = {'student alone': [80.0, 81.0, 79.5],
             'VRM: inter-sample graph': [81.0, 81.5, 80.0],
             'VRM: + inter-class graph': [82.0, 82.5, 81.9]}
    results = {name: {s: dict(val_top1=v) for s, v in enumerate(values)}
               for name, values in seeds.items()}
    rows = protocol.ABLATIONS[next(iter(protocol.ABLATIONS))]
    table = runner.ablation_table(results, rows, 'val').splitlines()
    assert len(table) == 2 + 3  # rows without results are left out
    step = format_difference(paired_difference(
        dict(enumerate(seeds['VRM: + inter-class graph'])),
        dict(enumerate(seeds['VRM: inter-sample graph']))))
    assert f'{step} (vs VRM: inter-sample graph)' in table[4]
    assert table[2].split(' | ')[2] == '-'
    assert runner.ablation_table(results, ('KD', 'RRD'), 'val') is None


def test_run_key_ignores_only_what_cannot_change_a_result(tmp_path):
    """A run folder is keyed by the resolved config without its logger,
    warning hooks, runner and loop classes (a run cached before such a
    change is the same run: tools/benchmark.py reproduced KD's seed 0 to
    the digit across one), and by every setting that trains differently."""
    runner = protocol.Protocol(str(tmp_path), str(tmp_path))
    arm, = protocol.arms_named(['VRM+KD'])
    teachers = dict(main=dict(sha256='0' * 64))

    def key(**options):
        runner.options = dict(options)
        return runner.run_dir(arm, 0, teachers)

    base = key()
    cfg = Config.fromfile(runner.config_paths(arm)[0])
    runner.prepare(cfg, False)
    hooks = [h for h in cfg.custom_hooks
             if h['type'] != 'mmrazor.LossBalanceHook']
    assert len(hooks) == len(cfg.custom_hooks) - 1
    assert key(custom_hooks=hooks) == base
    assert key(**{'default_hooks.logger.interval': 7,
                  'val_cfg.type': 'mmrazor.SingleTeacherDistillValLoop',
                  'runner_type': 'Runner', 'log_level': 'WARNING'}) == base
    warmup = [dict(h, warmup_iters=1) if 'Warmup' in h['type'] else h
              for h in cfg.custom_hooks]
    for changed in (dict(custom_hooks=warmup),
                    {'optim_wrapper.optimizer.lr': 0.5},
                    {'default_hooks.sampler_seed': None},
                    {'model.distiller.distill_losses.loss_vrm.loss_weight':
                     3.0}):
        assert key(**changed) != base, changed
    assert key(**{'randomness.seed': 1}) != base


def test_teacher_key_is_the_resolved_config(tmp_path, monkeypatch):
    """The teacher's folder is keyed by its resolved config: an edit of a
    file it inherits, the protocol's data or the pair's teacher retrain it,
    a logger's does not (as a run key)."""
    base, top = tmp_path / 'base.py', tmp_path / 'teacher.py'
    real = osp.join(protocol.CFG_DIR, protocol.TEACHERS['main'])
    top.write_text("_base_ = ['./base.py']\n")
    monkeypatch.setitem(protocol.TEACHERS, 'main', str(top))

    def key(base_text='', **kwargs):
        base.write_text(f'_base_ = [{real!r}]\n' + base_text)
        runner = protocol.Protocol(str(tmp_path), str(tmp_path), **kwargs)
        return osp.basename(runner.teacher_dir('main'))

    plain = key()
    assert plain.startswith('main-') and len(plain) == len('main-') + 8
    assert key('default_hooks = dict(logger=dict(interval=7))\n') == plain
    for changed in (key('optim_wrapper = dict(optimizer=dict(lr=0.5))\n'),
                    key(val_size=protocol.VAL_SIZE - 1),
                    key(pair='resnet18_mobileone')):
        assert changed != plain
    assert key(pair='wrn16-2_vit') == plain  # the same teacher


def test_the_report_names_the_machines_of_its_runs(tmp_path):
    """CPU training is deterministic per machine only: a table whose runs
    come from two machines says so, since its seeds do not pair."""
    runner = protocol.Protocol(str(tmp_path), str(tmp_path), seeds=[0])
    here = protocol.machine()
    assert here['torch'] and here['cpu'] and here['threads'] >= 1
    other = dict(here, cpu='Some Other CPU')

    def run(top1, where):
        return {0: dict(val_top1=top1, test_top1=top1, seconds=1.0,
                        stage_epochs=[8], machine=where)}

    one = runner.report({}, {'student alone': run(80.0, here),
                             'KD': run(82.0, here)})
    assert f'Trained on: {here["cpu"]}, torch {here["torch"]}.' in one
    two = runner.report({}, {'student alone': run(80.0, here),
                             'KD': run(82.0, other)})
    assert 'Some Other CPU' in two and here['cpu'] in two
    assert 'runs of different machines do not pair' in two
    # Records made before runs named their machine report as before.
    old = runner.report({}, {'KD': {0: dict(val_top1=1.0, test_top1=1.0,
                                            seconds=1.0)}})
    assert 'Trained on' not in old

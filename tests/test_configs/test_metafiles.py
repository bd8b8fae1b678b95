"""The OpenMMLab model-index: model-index.yml imports one metafile per
method folder of the method table (tools/benchmarks/methods.py); every
config listed exists and loads, every method config is listed, paper
numbers are labelled as such, and MMEngine's hub resolves ``relkd_mm::``
names through it (and falls back to paths for the rest)."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.fileio import load

from tools.benchmarks.methods import method_folders

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: The method table's folders (tools/benchmarks/methods.py).
METHOD_DIRS = method_folders()


def metafiles():
    index = load(osp.join(REPO, 'model-index.yml'))
    return index['Import']


def models():
    for path in metafiles():
        for entry in load(osp.join(REPO, path))['Models']:
            yield path, entry


def test_index_imports_one_metafile_per_method_folder():
    assert sorted(metafiles()) == [
        f'configs/{d}/metafile.yml' for d in METHOD_DIRS
    ]
    # MMEngine's hub reads the index from the package's .mim folder.
    mim = osp.join(REPO, 'relkd_mm', '.mim')
    assert load(osp.join(mim, 'model-index.yml')) == load(
        osp.join(REPO, 'model-index.yml'))
    for path in metafiles():
        assert osp.isfile(osp.join(mim, path)), path


@pytest.mark.parametrize('path', [f'configs/{d}/metafile.yml'
                                  for d in METHOD_DIRS])
def test_metafile_schema(path):
    meta = load(osp.join(REPO, path))
    collections = {c['Name']: c for c in meta['Collections']}
    for collection in collections.values():
        assert {'Metadata', 'Paper', 'README'} <= set(collection)
        assert collection['Paper']['URL'].startswith('https://')
        assert collection['Paper']['Title']
        for key in ('Training Data', 'Training Techniques', 'Architecture'):
            assert collection['Metadata'][key], (collection['Name'], key)
    names = [m['Name'] for m in meta['Models']]
    assert len(names) == len(set(names))
    for entry in meta['Models']:
        assert entry['In Collection'] in collections, entry['Name']
        assert entry['Name'] == osp.splitext(osp.basename(entry['Config']))[0]
        assert 'Weights' not in entry  # nothing trained here
        for key in ('Training Data', 'Architecture', 'Teacher', 'Student'):
            assert entry['Metadata'].get(key), (entry['Name'], key)
        if 'Results' in entry:
            # Paper numbers, never presented as reproduced ones.
            source = entry['Metadata']['Results Source']
            assert 'reported by the' in source
            assert 'not reproduced by relkd_mm' in source
            for result in entry['Results']:
                assert result['Task'] == 'Image Classification'
                top1 = result['Metrics']['Top 1 Accuracy']
                assert 0 < top1 < 100


@pytest.mark.parametrize('method', METHOD_DIRS)
def test_every_method_config_is_listed_and_loads(method):
    listed = {
        entry['Config']
        for path, entry in models() if path.startswith(f'configs/{method}/')
    }
    present = {
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', method, '*.py'))
    }
    assert present - listed == set(), 'configs missing from the metafile'
    assert listed - present == set(), 'metafile lists missing configs'
    for config in sorted(listed):
        cfg = Config.fromfile(osp.join(REPO, config))
        assert 'model' in cfg, config


def test_method_readmes_exist():
    missing = sorted({
        c['README']
        for path in metafiles()
        for c in load(osp.join(REPO, path))['Collections']
        if not osp.isfile(osp.join(REPO, c['README']))
    })
    assert not missing, f'README files named by the metafiles: {missing}'


def test_hub_resolves_listed_and_unlisted_configs():
    from mmengine.hub import get_config

    name = 'rrd/rrd_resnet32x4_resnet8x4_1xb64_cifar100.py'
    cfg = get_config(f'relkd_mm::{name}')
    assert cfg.filename.endswith(osp.join('configs', name))
    assert cfg.model.type == 'CheckedSingleTeacherDistill'
    # Not in any metafile: resolved as a path under configs/.
    cfg = get_config('relkd_mm::_base_/models/cifar100/resnet56.py')
    assert cfg.model.backbone.arch == 'resnet56'

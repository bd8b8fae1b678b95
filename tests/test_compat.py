"""Each compat patch: the breakage it fixes is real on this stack, the patch
fixes it, it is a no-op where the breakage is absent, and it is idempotent.

Breakages are observed in fresh interpreters that never import the
relkd_mm package (this process has the patches applied already); they load
``relkd_mm/compat/stack.py`` on its own to apply single patches."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from relkd_mm import compat

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code):
    env = dict(os.environ, PYTHONWARNINGS='ignore')
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope='module')
def unpatched():
    """What breaks on this stack without relkd_mm (one interpreter)."""
    return run_python('''
        import json
        out = {}
        def attempt(name, fn):
            try:
                fn()
                out[name] = 'ok'
            except BaseException as exc:
                out[name] = f'{type(exc).__name__}: {exc}'
        import numpy as np
        out['np_in1d'] = 'ok' if hasattr(np, 'in1d') else 'missing'
        def tv():
            import torchvision  # noqa
        attempt('torchvision', tv)
        # Same patch as relkd_mm would apply, so that the rest can import.
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            'relkd_compat', 'relkd_mm/compat/stack.py')
        compat = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(compat)  # without relkd_mm/__init__.py
        compat.patch_torchvision_fake_kernels()
        def razor():
            import mmrazor.models  # noqa
        attempt('mmrazor', razor)
        compat.patch_mmrazor_quantization_helpers()
        import torch
        from mmengine.runner import save_checkpoint, load_checkpoint
        from mmengine.logging import HistoryBuffer
        torch.save({'state_dict': {'w': torch.ones(1)},
                    'message_hub': {'h': HistoryBuffer([1.0], [1])}},
                   '/tmp/relkd_compat_ckpt.pth')
        from mmengine.runner.checkpoint import _load_checkpoint
        attempt('checkpoint',
                lambda: _load_checkpoint('/tmp/relkd_compat_ckpt.pth'))
        from mmengine.config.utils import _get_package_and_cfg_path
        attempt('config_scope', lambda: _get_package_and_cfg_path(
            'relkd_mm::_base_/default_runtime.py'))
        import os
        from mmengine.utils import get_installed_path
        out['installed_path_exists'] = os.path.isdir(
            get_installed_path('relkd_mm'))
        print(json.dumps(out))
    ''')


def test_breakages_are_real_on_this_stack(unpatched):
    """Each stack patch is applied exactly where its breakage is present.

    Which breakages a machine has depends on its install: the README's GPU
    install has a torchvision that matches torch (no fake-kernel breakage),
    an older numpy still has ``np.in1d``. So the test ties each observed
    breakage to its patch instead of expecting every breakage everywhere."""
    applied = set(compat.APPLIED)
    tv_broken = unpatched['torchvision'] != 'ok'
    if tv_broken:
        assert 'torchvision::nms does not exist' in unpatched['torchvision']
    assert tv_broken == ('torchvision_fake_kernels' in applied)
    in1d_missing = unpatched['np_in1d'] == 'missing'
    assert in1d_missing == ('numpy_in1d' in applied)
    # numpy removed np.in1d in 2.4 (compared as versions, not strings).
    assert in1d_missing == (np.lib.NumpyVersion(np.__version__) >= '2.4.0')
    assert 'torch>=1.13' in unpatched['mmrazor']
    assert 'HistoryBuffer' in unpatched['checkpoint']
    assert 'does not support to load relkd_mm' in unpatched['config_scope']


def test_all_patches_applied_and_fix_their_breakage():
    import torchvision
    from mmengine.config.utils import _get_package_and_cfg_path
    from mmengine.utils import get_installed_path
    from mmrazor.models import ConfigurableDistiller  # noqa: F401
    from torchvision.transforms import v2  # noqa: F401

    assert torchvision.transforms.functional.hflip(
        torch.arange(4.).view(1, 2, 2)).tolist() == [[[1., 0.], [3., 2.]]]
    assert _get_package_and_cfg_path('relkd_mm::x/a.py') == ('relkd_mm',
                                                             'x/a.py')
    assert os.path.isfile(os.path.join(get_installed_path('relkd_mm'),
                                       '.mim', 'configs', '_base_',
                                       'default_runtime.py'))
    assert np.in1d([1, 2, 3], [2]).tolist() == [False, True, False]


def test_checkpoint_patch_keeps_weights_only_default(tmp_path):
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint
    path = str(tmp_path / 'ckpt.pth')
    torch.save({'state_dict': {'w': torch.ones(1)},
                'message_hub': {'h': HistoryBuffer([1.0, 2.0], [1, 1])}}, path)
    loaded = _load_checkpoint(path)
    assert loaded['message_hub']['h'].mean() == 1.5
    # torch.load itself is untouched: still weights_only by default.
    with pytest.raises(Exception, match='weights_only|Unsupported global'):
        torch.load(path)


def test_patches_are_idempotent():
    before = list(compat.APPLIED)
    for _ in range(2):
        assert compat.apply_all() == before
    import torch.ao.quantization.fuser_method_mappings as fmm
    reverse2 = fmm.reverse2
    compat.patch_mmrazor_quantization_helpers()
    assert fmm.reverse2 is reverse2


def test_patches_are_noops_where_the_breakage_is_absent():
    """Fresh interpreter whose stack has no breakage (simulated by fixing it
    first the way a fixed upstream would): no patch is applied."""
    out = run_python('''
        import json, sys, types
        import numpy as np
        np.in1d = np.isin  # numpy < 2.4
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            'relkd_compat', 'relkd_mm/compat/stack.py')
        compat = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(compat)  # without relkd_mm/__init__.py
        # A torchvision that imports cleanly (matching torch and vision).
        sys.modules['torchvision'] = types.ModuleType('torchvision')
        compat.patch_torchvision_fake_kernels()
        compat.patch_numpy_in1d()
        import torch.ao.quantization.fuser_method_mappings as fmm
        from torch.ao.quantization.backend_config import BackendPatternConfig
        fmm.reverse2 = fmm.reverse3 = fmm.reverse_sequential_wrapper2 = id
        for name in ('_set_overwrite_output_fake_quantize',
                     '_set_overwrite_output_observer',
                     '_set_input_output_observed'):
            setattr(BackendPatternConfig, name, lambda self, *a: self)
        compat.patch_mmrazor_quantization_helpers()
        compat._mmengine_loads_safely = lambda: True  # upstream safe
        compat.patch_mmengine_checkpoint_loading()
        from mmengine.config import utils
        utils.MODULE2PACKAGE['relkd_mm'] = 'relkd_mm'
        compat.patch_mmengine_config_scope()
        import os
        import mmengine.utils.package_utils as package_utils
        package_utils.get_installed_path = lambda pkg: os.path.abspath(pkg)
        compat.patch_mmengine_installed_path()
        print(json.dumps(compat.APPLIED))
    ''')
    assert out == []


def test_importing_the_patch_modules_imports_no_mm_package():
    """The patches must run before anything imports an mm* package, so the
    modules that hold them (relkd_mm.compat, and the runner modules whose
    errors it re-exports, with relkd_mm/runner/__init__.py) import none at
    module level. Imported without relkd_mm/__init__.py
    (which applies the patches), they leave every mm* package and
    torchvision unimported, and applying them then gives what
    ``import relkd_mm`` applies."""
    out = run_python('''
        import importlib.util, json, os, sys
        spec = importlib.util.spec_from_file_location(
            'relkd_mm', 'relkd_mm/__init__.py',
            submodule_search_locations=[os.path.abspath('relkd_mm')])
        # The package without executing relkd_mm/__init__.py.
        sys.modules['relkd_mm'] = importlib.util.module_from_spec(spec)
        import relkd_mm.compat
        stack = ('mmengine', 'mmcv', 'mmpretrain', 'mmrazor', 'mmdeploy',
                 'torchvision')
        imported = sorted(m for m in sys.modules
                          if m.split('.')[0] in stack)
        print(json.dumps(dict(imported=imported,
                              applied=relkd_mm.compat.apply_all())))
    ''')
    assert out['imported'] == []
    assert out['applied'] == compat.apply_all()

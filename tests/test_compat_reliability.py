"""The reliability patches of relkd_mm.compat (4, 5): each breakage is
real on this stack without the patch, and so are the breakages that
registered types fix instead (6, 8-11: RelKDRunner,
CheckedSingleTeacherDistill, StrictPretrained, CheckedConfigurableDistiller,
CheckedLoadImageFromFile); the patches are applied and idempotent. What
each fixes is tested in tests/test_runner, tests/test_errors,
tests/test_engine and tests/test_tools/test_ddp.py."""
from relkd_mm import compat
from tests.test_compat import run_python

NAMES = [  # Applied on every stack (security):
    'mmengine_checkpoint_loading', 'cfg_path_errors']


def test_breakages_are_real_without_the_patches():
    out = run_python('''
        import inspect, json
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            'relkd_compat', 'relkd_mm/compat/stack.py')
        compat = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(compat)  # without relkd_mm/__init__.py
        compat.patch_torchvision_fake_kernels()
        compat.patch_mmrazor_quantization_helpers()
        import torch
        from mmengine.runner import Runner
        from mmengine.model.weight_init import PretrainedInit
        from mmrazor.models import SingleTeacherDistill
        from mmrazor.registry import MODELS
        import mmengine.dist.utils as dist_utils
        out = {}
        out['runner_strict'] = inspect.signature(
            Runner.load_checkpoint).parameters['strict'].default
        out['teacher_strict'] = 'teacher_ckpt_strict' in inspect.signature(
            SingleTeacherDistill.__init__).parameters
        out['pretrained_strict'] = 'strict' in inspect.signature(
            PretrainedInit).parameters
        try:
            MODELS.build(dict(type='KLDivergence', tau_S=4))
        except TypeError as exc:
            out['typo'] = str(exc)
        from mmcv.transforms import LoadImageFromFile
        open('/tmp/relkd_not_an_image.png', 'wb').write(b'x')
        try:
            LoadImageFromFile()(dict(img_path='/tmp/relkd_not_an_image.png'))
        except BaseException as exc:
            out['image'] = type(exc).__name__
        out['set_device'] = 'torch.cuda.set_device(local_rank)' in \\
            inspect.getsource(dist_utils._init_dist_pytorch)
        out['cuda'] = torch.cuda.is_available()
        print(json.dumps(out))
    ''')
    assert out['runner_strict'] is False
    assert not out['teacher_strict'] and not out['pretrained_strict']
    assert out['typo'] == ("KLDivergence.__init__() got an unexpected "
                           "keyword argument 'tau_S'")
    assert out['image'] == 'AssertionError'
    assert out['set_device'] and not out['cuda']


def test_applied_and_idempotent():
    assert set(NAMES) <= set(compat.APPLIED)
    import mmengine.hub as hub
    import mmengine.runner.checkpoint as checkpoint

    def patched():
        return [checkpoint.load_from_http, hub.get_config]

    before = patched()
    applied = list(compat.APPLIED)
    compat.apply_all()
    assert compat.APPLIED == applied
    assert before == patched()

"""Patches that make the pinned OpenMMLab stack work on current PyTorch.

Every upstream breakage that relkd_mm works around lives in this module, one
function per breakage, each with the reason and the upstream issue. Each patch

* checks that its breakage is actually present and does nothing otherwise
  (on a stack where upstream is fixed, or torch and torchvision match), and
* is idempotent: applying it twice changes nothing the second time.

:func:`apply_all` runs them in dependency order. It must run before any
``mm*`` package is imported: MMRazor registers its modules at import time and
MMEngine caches ``torch.load`` in its checkpoint loaders (see ``stack.md``,
breakage 8). ``import relkd_mm`` calls it, and so does every script in
``tools/`` before its first ``mm*`` import.
"""
import importlib
import importlib.util
import os
import sys

import numpy as np
import torch

#: Names of the patches that were applied in this process, in order.
APPLIED = []


def _mark(name):
    if name not in APPLIED:
        APPLIED.append(name)


# ---------------------------------------------------------------------------
# 1. torchvision: CUDA-only wheel beside a CPU torch.
# ---------------------------------------------------------------------------
def _torchvision_ops_missing_error(exc):
    return (isinstance(exc, RuntimeError) and 'torchvision::' in str(exc)
            and 'does not exist' in str(exc))


def patch_torchvision_fake_kernels():
    """Let ``import torchvision`` succeed when its C++ extension is unusable.

    Why: the only torchvision 0.28 wheel on the registry is a CUDA build. Its
    extension cannot load against the CPU torch 2.13 wheel, and
    ``torchvision/_meta_registrations.py`` then registers fake kernels for
    ``torchvision::nms``/``qnms`` without checking that the ops exist (every
    other registration there is guarded by ``extension._has_ops()``), so the
    import raises ``RuntimeError: operator torchvision::nms does not exist``.
    mmpretrain imports torchvision at module level.
    Upstream: pytorch/vision#9085 (fix proposed in PR #9086).

    Fix: only if importing torchvision fails with exactly that error, retry
    the import with ``torch.library.register_fake`` tolerating
    "does not exist" for ``torchvision::*`` ops while the extension is known
    not to have loaded; the original ``register_fake`` is restored right
    after. Transforms, models and box ops work afterwards; ``nms``,
    ``deform_conv2d`` and ``torchvision.io`` do not (relkd_mm uses none).
    """
    if 'torchvision' in sys.modules:
        return  # imported fine already (or patched before): nothing to do
    if importlib.util.find_spec('torchvision') is None:
        return
    try:
        importlib.import_module('torchvision')
        return  # no breakage: torch and torchvision match
    except RuntimeError as exc:
        if not _torchvision_ops_missing_error(exc):
            raise
    for name in [m for m in sys.modules
                 if m == 'torchvision' or m.startswith('torchvision.')]:
        del sys.modules[name]

    original = torch.library.register_fake

    def tolerant_register_fake(op, *args, **kwargs):
        register = original(op, *args, **kwargs)
        if not (isinstance(op, str) and op.startswith('torchvision::')):
            return register
        ext = sys.modules.get('torchvision.extension')
        if ext is None or ext._has_ops():
            return register

        def guarded(fn):
            try:
                return register(fn)
            except RuntimeError as exc:
                if _torchvision_ops_missing_error(exc):
                    return fn
                raise

        return guarded

    torch.library.register_fake = tolerant_register_fake
    try:
        importlib.import_module('torchvision')
    finally:
        torch.library.register_fake = original
    _mark('torchvision_fake_kernels')


# ---------------------------------------------------------------------------
# 2. mmrazor: quantization tables built from torch 1.13 helpers.
# ---------------------------------------------------------------------------
def patch_mmrazor_quantization_helpers():
    """Provide the torch 1.13 quantization helpers MMRazor imports.

    Why: ``mmrazor/structures/quantization/backend_config/*.py`` build
    backend tables at import time from ``reverse2``, ``reverse3`` and
    ``reverse_sequential_wrapper2`` (``torch.ao.quantization.
    fuser_method_mappings``) and from three private ``BackendPatternConfig``
    setters, all removed after torch 1.13. When the import fails MMRazor
    swaps in placeholders that raise ``ImportError: torch>=1.13 is not
    installed properly`` on first use, i.e. on ``import mmrazor.models``.
    Upstream: open-mmlab/mmrazor#615, #632.

    Fix: add the missing helpers (with their torch 1.13 semantics) and no-op
    setters. MMRazor's quantization stays unusable; distillation never
    touches it.
    """
    from torch.ao.quantization import fuser_method_mappings as fmm
    from torch.ao.quantization.backend_config import BackendPatternConfig

    # The attribute only exists once the submodule is imported.
    importlib.import_module('torch.ao.quantization.backend_config.utils')

    changed = False
    if not hasattr(fmm, 'reverse2'):
        def reverse2(f):
            return lambda is_qat, x, y: f(is_qat, y, x)

        def reverse3(f):
            return lambda is_qat, x, w: f(is_qat, w[1], w[0], x)

        def reverse_sequential_wrapper2(sequential):
            return lambda is_qat, x, y: sequential(y, x)

        fmm.reverse2 = getattr(fmm, '_reverse2', reverse2)
        fmm.reverse3 = getattr(fmm, '_reverse3', reverse3)
        fmm.reverse_sequential_wrapper2 = reverse_sequential_wrapper2
        changed = True

    def _return_self(self, *args, **kwargs):
        return self

    for name in ('_set_overwrite_output_fake_quantize',
                 '_set_overwrite_output_observer',
                 '_set_input_output_observed'):
        if not hasattr(BackendPatternConfig, name):
            setattr(BackendPatternConfig, name, _return_self)
            changed = True
    if changed:
        _mark('mmrazor_quantization_helpers')


# ---------------------------------------------------------------------------
# 3. numpy >= 2.4: np.in1d removed.
# ---------------------------------------------------------------------------
def patch_numpy_in1d():
    """Alias ``np.in1d`` to ``np.isin``.

    Why: numpy 2.4 removed ``np.in1d`` (deprecated since 2.0); mmpretrain
    1.2.0's retrieval metrics (``mmpretrain/evaluation/metrics/retrieval.py``)
    still call it. ``np.isin`` on 1-D inputs is the documented replacement.
    Upstream: not fixed in mmpretrain 1.2.0, its last release.
    """
    if hasattr(np, 'in1d'):
        return
    np.in1d = lambda ar1, ar2, *args, **kwargs: np.isin(  # noqa: E731
        np.ravel(ar1), ar2, *args, **kwargs)
    _mark('numpy_in1d')


# ---------------------------------------------------------------------------
# 4. torch >= 2.6: torch.load(weights_only=True) by default.
# ---------------------------------------------------------------------------
def patch_mmengine_checkpoint_loading():
    """Route MMEngine's local checkpoint loading through relkd_mm's loader.

    Why: torch >= 2.6 defaults to ``torch.load(weights_only=True)``;
    mmengine 0.10.7 calls ``torch.load`` without the argument, so
    ``--resume``, ``load_from`` and full-checkpoint ``teacher_ckpt`` fail
    with ``UnpicklingError ... HistoryBuffer``. Upstream:
    open-mmlab/mmengine#1655 (PR #1650).

    Fix: replace the scheme handler for local paths (and ``file://``-less
    plain paths) with :func:`relkd_mm.runner.checkpoint.load_checkpoint_file`,
    which keeps ``weights_only=True`` and allow-lists exactly the types
    MMEngine and RepDistiller checkpoints contain. Full unpickling happens
    only for files the user trusts (``--resume`` of their own run), never as
    a global default.
    """
    if not _torch_load_defaults_to_weights_only():
        return
    from mmengine.runner.checkpoint import CheckpointLoader

    from relkd_mm.runner.checkpoint import load_checkpoint_file
    if CheckpointLoader._schemes.get('') is load_checkpoint_file:
        return
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_checkpoint_file)
    _mark('mmengine_checkpoint_loading')


def _torch_load_defaults_to_weights_only():
    import inspect
    forced_off = os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '0')
    if forced_off not in ('', '0'):
        return False
    params = inspect.signature(torch.load).parameters
    default = params['weights_only'].default
    if default is None:  # torch >= 2.6 resolves ``None`` to ``True``
        return _torch_version() >= (2, 6)
    return bool(default)


def _torch_version():
    release = torch.__version__.split('+')[0].split('.')
    return tuple(int(p) for p in release[:2])


# ---------------------------------------------------------------------------
# 5. mmengine: ``relkd_mm::`` config paths.
# ---------------------------------------------------------------------------
def patch_mmengine_config_scope():
    """Let configs name relkd_mm's configs as ``relkd_mm::path``.

    Why: MMRazor's configs build teachers and students with
    ``dict(cfg_path='mmpretrain::resnet/...')`` (MMEngine's hub). MMEngine
    0.10.7 accepts only the packages of a hard-coded table
    (``mmengine.config.utils.MODULE2PACKAGE``) there: ``AssertionError:
    mmengine does not support to load relkd_mm config``. Upstream:
    open-mmlab/mmengine#1410 (fix proposed in PR #1411, not merged).

    Fix: add ``relkd_mm`` to the table, so that
    ``cfg_path='relkd_mm::_base_/models/cifar100/resnet56.py'`` works like
    MMRazor's own ``mmpretrain::`` paths.
    """
    from mmengine.config import utils
    if 'relkd_mm' in utils.MODULE2PACKAGE:
        return
    utils.MODULE2PACKAGE['relkd_mm'] = 'relkd_mm'
    _mark('mmengine_config_scope')


def patch_mmengine_installed_path():
    """Find the package directory of editable (PEP 660) installs.

    Why: ``mmengine.utils.get_installed_path`` joins the distribution's
    ``location`` with the package name. For a PEP 660 editable install
    (``pip install -e .``, how relkd_mm is installed) the location is
    ``site-packages`` while the code stays in the checkout, so every
    ``relkd_mm::`` config path resolves to a directory that does not exist.
    Upstream: no issue found; mmengine relies on ``pkg_resources``
    locations, which PEP 660 editable installs do not provide.

    Fix: when the path MMEngine computes does not exist but the package is
    importable, return the directory the import system finds.
    """
    import mmengine.config.config as config_module
    import mmengine.hub.hub as hub_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils

    original = package_utils.get_installed_path
    if getattr(original, '_relkd_mm_patched', False):
        return
    spec = importlib.util.find_spec('relkd_mm')
    try:
        broken = not os.path.isdir(original('relkd_mm'))
    except Exception:  # not installed at all: nothing to fix here
        broken = False
    if spec is None or not broken:
        return

    def get_installed_path(package):
        path = original(package)
        if os.path.isdir(path):
            return path
        found = importlib.util.find_spec(package)
        if found is not None and found.origin is not None:
            return os.path.dirname(found.origin)
        return path

    get_installed_path._relkd_mm_patched = True
    for module in (package_utils, utils_module, hub_module, config_module):
        module.get_installed_path = get_installed_path
    _mark('mmengine_installed_path')


# ---------------------------------------------------------------------------
# 7. torch >= 2.9: torch.onnx.export defaults to the dynamo exporter.
# ---------------------------------------------------------------------------
def patch_onnx_export_default():
    """Make ``torch.onnx.export`` default to ``dynamo=False`` again.

    Why: torch 2.9 flipped the default of ``torch.onnx.export(dynamo=...)``
    to ``True`` ("Changed in version 2.9", torch.onnx documentation). The
    dynamo exporter needs ``onnxscript`` and writes opset >= 18 with external
    data; it also ignores ``dynamic_axes``. mmdeploy 1.3.1, its last release,
    calls ``torch.onnx.export`` without ``dynamo``
    (``mmdeploy/apis/onnx/export.py``), so ``torch2onnx`` fails with
    ``No module named 'onnxscript'``, and with onnxscript installed would
    write models its SDK rejects. Upstream: no mmdeploy issue found; the same
    breakage elsewhere: open-edge-platform/anomalib#3050, fixed by passing
    ``dynamo=False`` as in PriorLabs/TabPFN#554.

    Fix: wrap ``torch.onnx.export`` so that a call that does not pass
    ``dynamo`` gets ``dynamo=False`` (the TorchScript exporter mmdeploy was
    written for); an explicit ``dynamo=True`` is kept. It changes a torch
    default for the whole process, so :func:`apply_all` does not apply it:
    ``tools/deploy.py`` does, before mmdeploy exports.
    """
    import functools
    import inspect

    import torch.onnx
    export = torch.onnx.export
    if getattr(export, '_relkd_mm_patched', False):
        return
    param = inspect.signature(export).parameters.get('dynamo')
    if param is None or param.default is not True:
        return  # torch < 2.9: the TorchScript exporter is the default

    @functools.wraps(export)
    def export_torchscript_by_default(*args, **kwargs):
        kwargs.setdefault('dynamo', False)
        return export(*args, **kwargs)

    export_torchscript_by_default._relkd_mm_patched = True
    torch.onnx.export = export_torchscript_by_default
    _mark('onnx_export_default')


def apply_all():
    """Apply every patch whose breakage is present; safe to call again."""
    patch_torchvision_fake_kernels()
    patch_numpy_in1d()
    patch_mmrazor_quantization_helpers()
    patch_mmengine_checkpoint_loading()
    patch_mmengine_config_scope()
    patch_mmengine_installed_path()
    return list(APPLIED)


__all__ = ['APPLIED', 'apply_all', 'patch_torchvision_fake_kernels',
           'patch_mmrazor_quantization_helpers', 'patch_numpy_in1d',
           'patch_mmengine_checkpoint_loading', 'patch_mmengine_config_scope',
           'patch_mmengine_installed_path']

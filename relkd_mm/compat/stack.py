"""Patches that make the pinned OpenMMLab stack import, load and run at all
on current PyTorch and NumPy (patches 1-5 of :mod:`relkd_mm.compat`).

Without them ``import torchvision`` (1) and ``import mmrazor.models`` (2)
fail, mmpretrain's retrieval metrics call a removed numpy function (3),
torch >= 2.6 refuses MMEngine's checkpoints (4; the same patch makes every
load safe, whatever the torch version) and ``relkd_mm::`` config paths do
not resolve (5). 1 and 2 must run before anything imports torchvision or
MMRazor: MMRazor swaps in placeholders that fail later when its import
fails once.

This module imports nothing of relkd_mm at module level, so a test can
load it on its own, in an interpreter that never imports ``relkd_mm``, to
observe a breakage and apply single patches. For the same reason it holds
the record of applied patches that every other patch module writes to.
"""
import importlib
import importlib.util
import os
import sys

import numpy as np
import torch

#: Names of the patches that were applied in this process, in order.
APPLIED = []


#: Upstream functions that a patch replaced, by name (tests restore them).
_UNPATCHED = {}


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
# 4. mmengine: checkpoints unpickled by whatever torch.load defaults to.
# ---------------------------------------------------------------------------
def patch_mmengine_checkpoint_loading():
    """Route MMEngine's checkpoint loading through relkd_mm's safe loader,
    whatever the torch version and the environment.

    Why: mmengine 0.10.7 calls ``torch.load`` without ``weights_only``
    (``load_from_local``, ``load_from_openmmlab``) and downloads with
    ``torch.hub.load_state_dict_from_url``, whose ``weights_only`` defaults
    to ``False``. So (a) on torch >= 2.6 (``weights_only=True`` by default)
    ``--resume``, ``load_from`` and full-checkpoint ``teacher_ckpt`` fail
    with ``UnpicklingError ... HistoryBuffer``; (b) on torch 2.1-2.5
    (``setup.cfg`` accepts them; their default is ``False``), with
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (the fix commonly suggested for
    (a)), and for every model-zoo URL, any checkpoint is unpickled fully: a
    crafted ``teacher_ckpt`` runs its code. Upstream: (a)
    open-mmlab/mmengine#1655 (PR #1650); (b) none found.

    Fix: register :func:`relkd_mm.runner.checkpoint.load_checkpoint_file`
    for local paths and ``open-mmlab://`` files, and
    :func:`~relkd_mm.runner.checkpoint.load_url_checkpoint` for
    ``http(s)://`` (also behind ``torchvision://``/``mmcls://``). Both pass
    ``weights_only`` explicitly (so no environment variable changes it) and
    allow-list exactly the types MMEngine and RepDistiller checkpoints
    contain; on torch < 2.6 a restricted unpickler enforces the same list.
    Applied everywhere (a security fix is no stack breakage to detect); only
    files named with ``--trust-checkpoint`` are unpickled fully, and logged.
    """
    if _mmengine_loads_safely():
        return
    import mmengine.runner.checkpoint as mmengine_checkpoint
    from mmengine.runner.checkpoint import CheckpointLoader

    from relkd_mm.runner.checkpoint import (load_checkpoint_file,
                                            load_url_checkpoint)

    # MMEngine names the backend in its "Loads checkpoint by <name>
    # backend" message by cutting 10 characters ('load_from_') off the
    # loader's __name__: the loaders are registered under MMEngine's own
    # names, so that the message says 'local', 'http', 'openmmlab'.
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        _named_loader(load_checkpoint_file, 'load_from_local'))
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), force=True)(
            _named_loader(load_url_checkpoint, 'load_from_http'))
    CheckpointLoader.register_scheme(
        prefixes=('open-mmlab://', 'openmmlab://'), force=True)(
            _named_loader(_load_from_openmmlab, 'load_from_openmmlab'))
    # torchvision:// and mmcls:// call the module-level function.
    _UNPATCHED.setdefault('load_from_http',
                          mmengine_checkpoint.load_from_http)
    mmengine_checkpoint.load_from_http = load_url_checkpoint
    _mark('mmengine_checkpoint_loading')


def _mmengine_loads_safely():
    """Whether MMEngine's loaders are relkd_mm's already (patched before,
    or an MMEngine that adopted them)."""
    from mmengine.runner.checkpoint import CheckpointLoader

    from relkd_mm.runner.checkpoint import load_checkpoint_file
    loader = CheckpointLoader._schemes.get('')
    return getattr(loader, '__wrapped__', loader) is load_checkpoint_file


def _named_loader(function, name):
    """``function`` as a loader whose ``__name__`` is ``name`` (MMEngine
    prints ``name[10:]`` as the backend); ``__wrapped__`` is ``function``."""

    def loader(filename, map_location=None):
        return function(filename, map_location=map_location)

    loader.__name__ = loader.__qualname__ = name
    loader.__doc__ = function.__doc__
    loader.__wrapped__ = function
    return loader


def _load_from_openmmlab(filename, map_location=None):
    """MMEngine's ``load_from_openmmlab`` with the safe loaders."""
    from mmengine.runner.checkpoint import (_get_mmengine_home,
                                            get_deprecated_model_names,
                                            get_external_models)

    from relkd_mm.runner.checkpoint import (load_checkpoint_file,
                                            load_url_checkpoint)
    prefix = 'open-mmlab://' if filename.startswith('open-mmlab://') \
        else 'openmmlab://'
    name = filename[len(prefix):]
    name = get_deprecated_model_names().get(name, name)
    url = get_external_models()[name]
    if url.startswith(('http://', 'https://')):
        return load_url_checkpoint(url, map_location=map_location)
    return load_checkpoint_file(os.path.join(_get_mmengine_home(), url),
                                map_location=map_location)


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

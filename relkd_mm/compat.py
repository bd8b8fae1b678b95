"""Every patch relkd_mm applies to upstream code, in one place.

Two kinds, one function each, each with the reason and the upstream issue:

* breakages of the pinned OpenMMLab stack on current PyTorch and NumPy
  (1-3, 4a, 5, 7, 11): without them nothing imports, loads or launches;
* upstream defects that let a run go silently wrong, unsafe or fail
  obscurely: 4b (checkpoints unpickled fully, whatever the torch version
  or environment), 5 (``patch_cfg_path_errors``), 6 (non-strict and random
  teachers, resume that changes the run), 8-10 (errors that do not name the
  key, the value, the loss or the file), 12 (checkpoints a kill or a full
  disk destroys), 13 (empty or missing data sets), 14 (image channels),
  15 (ignored top-level config keys), 16 (``CRDLoss`` ignores its
  ``loss_weight``), 17 (the frozen teacher evaluated at every validation,
  a bad teacher found only after training).

Each patch

* checks that its breakage is actually present and does nothing otherwise
  (on a stack where upstream is fixed, or torch and torchvision match); the
  defect patches apply to every stack that still has the defect, and
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
import re
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
    CheckpointLoader.register_scheme(prefixes='', force=True)(
        load_checkpoint_file)
    CheckpointLoader.register_scheme(
        prefixes=('http://', 'https://'), force=True)(load_url_checkpoint)
    CheckpointLoader.register_scheme(
        prefixes=('open-mmlab://', 'openmmlab://'), force=True)(
            _load_from_openmmlab)
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
    return CheckpointLoader._schemes.get('') is load_checkpoint_file


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


def patch_cfg_path_errors():
    """Name the ``cfg_path`` as the user wrote it when it does not exist.

    Why: ``mmengine.hub.get_config`` resolves ``relkd_mm::x.py`` to the
    package's internal ``.mim/configs`` folder and reports a missing file
    there (``file ".../relkd_mm/.mim/configs/x.py" does not exist``), after
    a ``ValueError`` listing every config of the model index: neither the
    path in the config nor the repository's ``configs/`` folder appears.
    Upstream: none found.

    Fix: ``get_config`` re-raises ``FileNotFoundError`` naming the
    ``cfg_path`` as written, the file it stands for (symlinks resolved:
    ``configs/...`` of the checkout) and close file names in that folder.
    """
    import functools

    import mmengine.hub as hub_pkg
    import mmengine.hub.hub as hub_module
    original = hub_module.get_config
    if getattr(original, '_relkd_mm_patched', False):
        return

    @functools.wraps(original)
    def get_config(cfg_path, pretrained=False):
        try:
            return original(cfg_path, pretrained)
        except FileNotFoundError as exc:
            raise _missing_cfg_path(cfg_path, exc) from None

    get_config._relkd_mm_patched = True
    hub_module.get_config = hub_pkg.get_config = get_config
    _mark('cfg_path_errors')


def _missing_cfg_path(cfg_path, exc):
    import difflib

    from mmengine.config.utils import _get_package_and_cfg_path
    from mmengine.utils import get_installed_path
    try:
        package, relative = _get_package_and_cfg_path(cfg_path)
        configs = os.path.join(get_installed_path(package), '.mim',
                               'configs')
    except Exception:  # not a package path: MMEngine's message is enough
        return exc
    target = os.path.realpath(os.path.join(configs, relative))
    folder = os.path.dirname(target)
    names = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    close = difflib.get_close_matches(os.path.basename(target), names, n=3)
    hint = f' Close names there: {close}.' if close else (
        '' if names else f' The folder {folder} does not exist either.')
    return FileNotFoundError(
        f'cfg_path={cfg_path!r}: no such config; {package}:: paths are '
        f'relative to its configs/ folder, and {target} does not '
        f'exist.{hint}')


# ---------------------------------------------------------------------------
# 6. mmengine/mmrazor: non-strict loads, random teachers, changed resumes.
# ---------------------------------------------------------------------------
_STRICT_POLICY = None  # set per load by the patched Runner methods


def patch_strict_checkpoint_loading():
    """Make teacher, ``load_from``, resume and ``Pretrained`` loads strict.

    Why: MMRazor's ``SingleTeacherDistill`` loads ``teacher_ckpt`` with
    MMEngine's ``load_checkpoint(strict=False)``: a checkpoint of another
    architecture, or a distillation checkpoint whose keys carry a prefix,
    only logs a warning and the run distils from a random teacher. MMEngine
    0.10.7's ``Runner.load_checkpoint`` (``load_from`` and ``--resume``) and
    ``PretrainedInit`` are non-strict too: a student starts from random
    weights, a resume after a config change silently drops a loss's memory.
    Upstream: no issue asks for strict loading; open-mmlab/mmrazor#650 shows
    the symptom (a distillation checkpoint's ``architecture.`` keys all
    "missing" in a student, reported only as a warning).

    Fix (rules and opt-outs in :mod:`relkd_mm.runner.strict_loading`):
    ``SingleTeacherDistill.__init__`` (hence every subclass) accepts
    ``teacher_ckpt_strict=True`` and loads the teacher itself after the
    original ``__init__``; ``Runner.load_checkpoint`` checks the networks'
    keys for ``load_from`` (config key ``load_from_strict=False`` opts out)
    and all keys on resume; ``Pretrained`` init accepts ``strict=True``.
    Mismatches raise ``CheckpointMismatchError`` naming the keys. Applied
    only where those loaders are non-strict.

    A distiller whose teacher nothing loaded (``teacher_ckpt`` unset, no
    ``load_from``/resume checkpoint holding it, no ``Pretrained`` init of
    the whole teacher) exits 0 in MMRazor after training from a random
    teacher: ``Runner.train`` now raises :class:`RandomTeacherError` right
    after loading, unless the model sets ``allow_random_teacher=True``
    (logged as a warning; for tests). The strict check also requires each
    value to be a tensor of a dtype the parameter can take (a floating one
    for a floating parameter): numpy arrays, strings or int64 tensors with
    the right shapes used to pass and leave the weights random. Upstream:
    none found.

    A teacher whose loaded weights hold NaN or inf raises
    :class:`NonFiniteTeacherError` naming the checkpoint (at
    ``teacher_ckpt`` load, and after load_from/resume), instead of
    ``NonFiniteLossHook`` stopping at iteration 1 and blaming the learning
    rate or the temperature. Upstream: none found.

    A resume whose config changes the optimizer type or the schedule
    (``T_max``, milestones, the number of schedulers) raises
    :class:`ResumeConfigError` naming what differs, before the first step:
    MMEngine loads the checkpoint's scheduler state over the config's
    (resuming with a longer cosine keeps the learning rate frozen) and
    another optimizer's state fails inside torch (``KeyError: 'step'``).
    Only a longer ``max_epochs`` on the same schedule (a scheduler's
    default ``end``) is made to work: the config's ``end`` replaces the
    checkpoint's, logged, as an uninterrupted longer run would have it.
    Upstream: none found.

    A resumed checkpoint's ``meta['config']`` is dropped (logged): MMEngine
    would execute that text as a Python config, so a safely loaded file
    could still run code on resume. Upstream: none found.
    """
    import inspect

    from mmengine.model.weight_init import PretrainedInit
    from mmengine.runner import Runner
    from mmrazor.models import SingleTeacherDistill

    if 'teacher_ckpt_strict' not in inspect.signature(
            SingleTeacherDistill.__init__).parameters:
        _patch_teacher_ckpt_strict(SingleTeacherDistill)
        _mark('strict_teacher_ckpt')
    load = inspect.signature(Runner.load_checkpoint,
                             follow_wrapped=False).parameters
    if load['strict'].default is False:
        _patch_runner_strict_loading(Runner)
        _mark('strict_runner_load_checkpoint')
    if 'strict' not in inspect.signature(PretrainedInit.__init__,
                                         follow_wrapped=False).parameters:
        _patch_pretrained_init_strict(PretrainedInit)
        _mark('strict_pretrained_init')


def _patch_teacher_ckpt_strict(cls):
    import functools
    import inspect

    original = cls.__init__
    signature = inspect.signature(original)

    @functools.wraps(original)
    def __init__(self, *args, teacher_ckpt_strict=True,
                 allow_random_teacher=False, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        teacher_ckpt = bound.arguments.get('teacher_ckpt')
        bound.arguments['teacher_ckpt'] = None
        original(*bound.args, **bound.kwargs)
        # Where the teacher's weights come from; None until something loads
        # them (teacher_ckpt here, load_from/resume or a Pretrained init
        # later). Training refuses a teacher that stays random.
        self._teacher_source = None
        self.allow_random_teacher = bool(allow_random_teacher)
        if teacher_ckpt:
            _load_teacher(self.teacher, teacher_ckpt, teacher_ckpt_strict)
            # Keeps init_weights() from overwriting the loaded weights.
            self.teacher._is_init = True
            self._teacher_source = f'teacher_ckpt={teacher_ckpt!r}'

    params = list(signature.parameters.values())
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                               default=default)
             for name, default in (('teacher_ckpt_strict', True),
                                   ('allow_random_teacher', False))]
    __init__.__signature__ = signature.replace(
        parameters=params[:-1] + extra + params[-1:])
    cls.__init__ = __init__


class RandomTeacherError(RuntimeError):
    """A distiller is about to train from a teacher nothing loaded."""


def _check_teacher_loaded(runner):
    """Before the first step: a distiller's teacher must have been loaded
    (``teacher_ckpt``, a ``load_from``/resume checkpoint holding it, or a
    ``Pretrained`` init of the whole teacher) unless the config opts in."""
    from mmengine.model import is_model_wrapper
    from mmrazor.models import SingleTeacherDistill
    model = runner.model.module if is_model_wrapper(runner.model) \
        else runner.model
    if not isinstance(model, SingleTeacherDistill):
        return
    source = getattr(model, '_teacher_source', None) or getattr(
        model.teacher, '_relkd_pretrained_from', None)
    if source:
        _check_teacher_finite(model.teacher, source)
        return
    if getattr(model, 'allow_random_teacher', False):
        runner.logger.warning(
            f'{type(model).__name__}: training with a RANDOM teacher '
            '(teacher_ckpt is not set and allow_random_teacher=True): the '
            'distillation losses teach noise. Only for tests.')
        return
    raise RandomTeacherError(
        f'{type(model).__name__}: the teacher was never loaded: '
        'model.teacher_ckpt is not set, and neither load_from nor the '
        'resumed checkpoint holds its weights. The run would distil from a '
        'random teacher. Set `--cfg-options model.teacher_ckpt=PATH` (a '
        'checkpoint of the teacher); to train with a random teacher on '
        'purpose (tests), set model.teacher_ckpt=None and '
        'model.allow_random_teacher=True.')


def _load_teacher(teacher, filename, strict):
    from mmengine.logging import print_log
    from mmengine.runner.checkpoint import (_load_checkpoint,
                                            _load_checkpoint_to_model)

    from relkd_mm.runner import strict_loading
    checkpoint = _load_checkpoint(filename, map_location='cpu')
    state = strict_loading.state_dict_of(checkpoint)
    if strict:
        strict_loading.check(
            teacher, state, filename, 'teacher_ckpt',
            'To load only the matching weights on purpose, set '
            '`model.teacher_ckpt_strict=False`.')
    else:
        diff = strict_loading.describe(*strict_loading.compare(teacher,
                                                               state))
        if diff:
            print_log(f'teacher_ckpt {filename!r} loaded partially '
                      f'(teacher_ckpt_strict=False): {diff}',
                      logger='current', level=30)
    _load_checkpoint_to_model(teacher, checkpoint, strict=False)
    _check_teacher_finite(teacher, f'teacher_ckpt={filename!r}')
    print_log(f'teacher_ckpt: loaded {filename}', logger='current')


class NonFiniteTeacherError(ValueError):
    """A teacher's weights hold NaN or inf: its outputs can not be
    finite."""


def _check_teacher_finite(teacher, source):
    """One pass over the teacher's floating tensors (a single host sync):
    NaN weights would make every output, hence every distillation loss,
    NaN at iteration 1, where the loss hook can only blame the learning
    rate or the temperature."""
    tensors = [(k, v) for k, v in teacher.state_dict().items()
               if v.is_floating_point()]
    if not tensors:
        return
    finite = torch.stack([torch.isfinite(v).all() for _, v in tensors])
    if bool(finite.all()):
        return
    bad = [k for (k, _), ok in zip(tensors, finite.tolist()) if not ok]
    raise NonFiniteTeacherError(
        f'the teacher loaded from {source} holds NaN or inf in {len(bad)} '
        f'of its {len(tensors)} tensors (e.g. {", ".join(bad[:3])}): its '
        'outputs are not finite, so neither is any distillation loss. The '
        'checkpoint is corrupt or comes from a run that diverged: use '
        'another teacher checkpoint.')


def _patch_runner_strict_loading(runner_cls):
    import functools

    import mmengine.runner.runner as runner_module
    original_load = runner_cls.load_checkpoint
    original_resume = runner_cls.resume
    original_train = runner_cls.train
    original_to_model = runner_module._load_checkpoint_to_model

    @functools.wraps(original_load)
    def load_checkpoint(self, filename, map_location='cpu', strict=None,
                        revise_keys=[(r'^module\.', '')]):
        global _STRICT_POLICY
        if strict is not None:  # the caller decided
            return original_load(self, filename, map_location, strict,
                                 revise_keys)
        outer = _STRICT_POLICY
        cfg = getattr(self, 'cfg', None) or {}
        resuming = bool(outer and outer.get('resume'))
        _STRICT_POLICY = dict(
            filename=filename,
            resume=resuming,
            strict=bool(cfg.get('load_from_strict', True)))
        try:
            checkpoint = original_load(self, filename, map_location, False,
                                       revise_keys)
        finally:
            _STRICT_POLICY = outer
        if resuming:
            _drop_executable_config(checkpoint, filename)
            _check_resume_matches_config(self, checkpoint, filename)
        return checkpoint

    @functools.wraps(original_resume)
    def resume(self, *args, **kwargs):
        global _STRICT_POLICY
        outer = _STRICT_POLICY
        _STRICT_POLICY = dict(resume=True)
        try:
            resumed = original_resume(self, *args, **kwargs)
        finally:
            _STRICT_POLICY = outer
        _extend_resumed_schedules(self)
        return resumed

    @functools.wraps(original_to_model)
    def checked_to_model(model, checkpoint, strict=False, logger=None,
                         revise_keys=[(r'^module\.', '')]):
        policy = _STRICT_POLICY
        if policy is not None and 'filename' in policy and not strict:
            _check_runner_load(model, checkpoint, policy, revise_keys)
        loaded = original_to_model(model, checkpoint, strict, logger,
                                   revise_keys)
        if policy is not None and 'filename' in policy:
            _note_teacher_source(model, checkpoint, policy, revise_keys)
        return loaded

    @functools.wraps(original_train)
    def train(self):
        # Runner.train loads (load_from/resume) right before its loop: the
        # teacher is checked there, whatever hooks the config lists.
        load_or_resume = self.load_or_resume

        def load_then_check():
            load_or_resume()
            _check_teacher_loaded(self)

        self.load_or_resume = load_then_check
        try:
            return original_train(self)
        finally:
            del self.load_or_resume

    runner_cls.load_checkpoint = load_checkpoint
    runner_cls.resume = resume
    runner_cls.train = train
    runner_module._load_checkpoint_to_model = checked_to_model


def _note_teacher_source(model, checkpoint, policy, revise_keys):
    """A runner checkpoint that holds every teacher key loaded the teacher
    (a resume, REFILLED stage 2's load_from of stage 1)."""
    if not hasattr(model, '_teacher_source'):
        return
    from relkd_mm.runner import strict_loading
    state = strict_loading.state_dict_of(checkpoint, revise_keys)
    keys = [f'teacher.{k}' for k in model.teacher.state_dict()]
    if keys and all(k in state for k in keys):
        kind = 'resume' if policy.get('resume') else 'load_from'
        model._teacher_source = f'{kind} {policy["filename"]!r}'


class ResumeConfigError(ValueError):
    """The config of a resumed run differs from the checkpoint in a way
    MMEngine would silently ignore or fail on deep inside torch."""


#: Optimizer hyperparameters every torch optimizer has (or gained between
#: versions): not telling of the optimizer's type.
_GENERIC_GROUP_KEYS = {'params', 'lr', 'initial_lr', 'weight_decay',
                       'foreach', 'maximize', 'capturable', 'differentiable',
                       'fused', 'decoupled_weight_decay'}
#: Scheduler state that moves while training (not the schedule itself).
_SCHEDULER_PROGRESS = {'last_step', '_last_value', '_global_step', 'verbose',
                       'base_values', '_get_value_called_within_step',
                       'last_epoch', '_step_count'}
_FIX = ('Resume with the config of the run that wrote the checkpoint, or '
        'start a new run from its weights with `--cfg-options load_from={}` '
        'and no --resume (optimizer state and schedule then start fresh).')


def _check_resume_matches_config(runner, checkpoint, filename):
    """Refuse a resume whose optimizer type or schedule differs from the
    checkpoint's: MMEngine loads the checkpoint's scheduler state over the
    config's (a longer schedule keeps the old one, the learning rate
    frozen), and another optimizer's state fails inside torch
    (``KeyError: 'step'``)."""
    from mmengine.optim import OptimWrapper
    problems, ends = [], {}
    wrapper = getattr(runner, 'optim_wrapper', None)
    saved = checkpoint.get('optimizer')
    if isinstance(wrapper, OptimWrapper) and isinstance(saved, dict) and \
            saved.get('param_groups'):
        current = wrapper.optimizer.param_groups[0]
        ours = set(current) - _GENERIC_GROUP_KEYS
        theirs = set(saved['param_groups'][0]) - _GENERIC_GROUP_KEYS
        if ours != theirs:
            problems.append(
                f'the optimizer is {type(wrapper.optimizer).__name__} '
                f'(hyperparameters {sorted(ours)}), but the checkpoint\'s '
                f'optimizer state has {sorted(theirs)}: it was written by '
                'another optimizer type, whose state this one can not use')
    schedulers = getattr(runner, 'param_schedulers', None)
    saved = checkpoint.get('param_schedulers')
    if isinstance(schedulers, list) and isinstance(saved, list) and \
            all(hasattr(s, 'state_dict') for s in schedulers):
        if len(schedulers) != len(saved):
            problems.append(
                f'the config has {len(schedulers)} param_scheduler(s), '
                f'the checkpoint {len(saved)}')
        for i, (scheduler, state) in enumerate(zip(schedulers, saved)):
            ours = {k: v for k, v in scheduler.state_dict().items()
                    if k not in _SCHEDULER_PROGRESS}
            theirs = {k: v for k, v in state.items()
                      if k not in _SCHEDULER_PROGRESS}
            # `end` alone may differ: a scheduler without one ends at
            # max_epochs, so training longer on the same schedule moves it;
            # the config's end is adopted after the state is loaded.
            differ = [f'{k}: {theirs.get(k, "-")!r} in the checkpoint, '
                      f'{ours.get(k, "-")!r} in the config'
                      for k in sorted(set(ours) | set(theirs))
                      if k != 'end' and ours.get(k) != theirs.get(k)]
            if differ:
                unit = ' (steps are iterations: convert_to_iter_based)' \
                    if not ours.get('by_epoch', True) else ''
                problems.append(
                    f'param_scheduler[{i}] '
                    f'({type(scheduler).__name__}){unit} differs: '
                    + '; '.join(differ)
                    + '. MMEngine would keep the checkpoint\'s schedule')
            elif ours.get('end') != theirs.get('end'):
                ends[i] = (theirs.get('end'), ours.get('end'))
    if problems:
        raise ResumeConfigError(
            f'resume from {filename!r}: ' + '; '.join(problems) + '. '
            + _FIX.format(filename))
    runner._relkd_mm_resume_ends = ends


def _extend_resumed_schedules(runner):
    """After ``Runner.resume`` loaded the schedulers' states: give those
    whose only change is ``end`` (a longer ``max_epochs``) the config's, so
    that the schedule goes on instead of freezing the learning rate where
    the checkpoint's run stopped."""
    ends = getattr(runner, '_relkd_mm_resume_ends', None) or {}
    runner._relkd_mm_resume_ends = None
    for i, (old, new) in ends.items():
        scheduler = runner.param_schedulers[i]
        # MMEngine counts every step in _global_step but updates the value
        # only while it is below `end`: the steps the shorter run took at
        # or past its end are replayed, as the longer run updated there.
        done = scheduler._global_step
        replay = max(0, min(done, new - 1) - old + 1) if new > old else 0
        scheduler.end = new
        scheduler._global_step = done - replay
        for _ in range(replay):
            scheduler.step()
        runner.logger.info(
            f'resume: param_scheduler[{i}] ({type(scheduler).__name__}) '
            f'now ends at step {new} as the config says (the checkpoint\'s '
            f'run ended it at {old}); the same schedule goes on.')


def _drop_executable_config(checkpoint, filename):
    """``Runner.resume`` executes ``checkpoint['meta']['config']`` as a
    Python config (``Config.fromstring``) to compare GPU counts: text in a
    checkpoint would run as code although the file loaded safely. MMEngine
    writes the config under ``meta['cfg']``, never there."""
    meta = checkpoint.get('meta') if isinstance(checkpoint, dict) else None
    if isinstance(meta, dict) and 'config' in meta:
        from mmengine.logging import print_log
        meta.pop('config')
        print_log(f'resume: ignored meta["config"] of {filename}: MMEngine '
                  'would execute it as Python code.', logger='current',
                  level=30)


def _check_runner_load(model, checkpoint, policy, revise_keys):
    from mmengine.logging import print_log

    from relkd_mm.runner import strict_loading
    state = strict_loading.state_dict_of(checkpoint, revise_keys)
    name = policy['filename']
    if policy['resume']:
        strict_loading.check(
            model, state, name, 'resume',
            'Resume with the config of the run that wrote the checkpoint; '
            'to start a changed run from its weights use `load_from` '
            'instead.')
        return
    if not policy['strict']:
        diff = strict_loading.describe(*strict_loading.compare(model, state))
        if diff:
            print_log(f'load_from {name!r} loaded partially '
                      f'(load_from_strict=False): {diff}',
                      logger='current', level=30)
        return
    lenient = ('distiller.', ) if hasattr(model, 'distiller') else ()
    diff = strict_loading.check(
        model, state, name, 'load_from',
        'To load only the matching weights on purpose, set '
        '`load_from_strict = False` in the config.', lenient)
    if diff:
        print_log(f'load_from {name!r}: the distiller\'s state differs '
                  f'from the checkpoint\'s and starts fresh where missing: '
                  f'{diff}', logger='current', level=30)


def _patch_pretrained_init_strict(init_cls):
    import functools

    original_init = init_cls.__init__

    @functools.wraps(original_init)
    def __init__(self, checkpoint, prefix=None, map_location='cpu',
                 strict=True):
        original_init(self, checkpoint, prefix=prefix,
                      map_location=map_location)
        self.strict = strict

    def __call__(self, module):
        from mmengine.logging import print_log
        from mmengine.model.weight_init import update_init_info
        from mmengine.runner.checkpoint import (_load_checkpoint,
                                                _load_checkpoint_with_prefix,
                                                load_state_dict)

        from relkd_mm.runner import strict_loading
        if self.prefix is None:
            state = strict_loading.state_dict_of(
                _load_checkpoint(self.checkpoint, self.map_location))
        else:
            state = _load_checkpoint_with_prefix(
                self.prefix, self.checkpoint, map_location=self.map_location)
        if self.strict:
            strict_loading.check(
                module, state, self.checkpoint,
                "init_cfg=dict(type='Pretrained')",
                'To load only the matching weights on purpose, add '
                '`strict=False` to that init_cfg.')
        print_log(f'load {self.prefix or "model"} from: {self.checkpoint}',
                  logger='current')
        load_state_dict(module, state, strict=False, logger='current')
        if self.prefix is None and self.strict:
            # The whole module is loaded: a teacher initialised so is not
            # random (see _check_teacher_loaded).
            module._relkd_pretrained_from = f'Pretrained {self.checkpoint!r}'
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    init_cls.__init__ = __init__
    init_cls.__call__ = __call__


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


# ---------------------------------------------------------------------------
# 8. mmengine: unknown config keys and wrong values, reported bare.
# ---------------------------------------------------------------------------
class ConfigArgumentError(TypeError):
    """A config gives a component an argument it does not have."""


_UNEXPECTED_KWARG = re.compile(
    r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")


def patch_registry_argument_errors():
    """Name the component, the key, its value and the closest valid keys
    when a config gives an unknown argument.

    Why: MMEngine 0.10.7 builds ``type(**args)`` and lets the TypeError
    through: a misspelt ``tau_S=4`` in a loss nested in a distiller ends as
    ``RRDLoss.__init__() got an unexpected keyword argument 'tau_S'``, with
    no hint that the valid key is ``tau_s``. Upstream: no issue found.

    Fix: ``Registry.build`` re-raises such a TypeError as
    :class:`ConfigArgumentError` (a TypeError) that also gives the value,
    the closest valid argument names (``difflib``, case-insensitive) and
    the full list. Other errors pass unchanged.

    The same wrapper checks the values before building, for every
    registry (MMRazor's losses, MMPretrain's heads, optimizers): a number
    written as a string (``loss_weight='1.0'``, ``tau='4'``) for an argument
    whose default is a number used to fail later with a TypeError naming no
    key (``can't multiply sequence by non-int``) and now raises
    :class:`ConfigArgumentError` naming the component, key, value and fix;
    a negative ``loss_weight`` (which maximises the loss) raises
    :class:`ConfigValueError`. Upstream: none found.
    """
    from mmengine.registry import Registry
    original = Registry.build
    if getattr(original, '_relkd_mm_patched', False):
        return

    def build(self, cfg, *args, **kwargs):
        _check_argument_values(self, cfg)
        try:
            return original(self, cfg, *args, **kwargs)
        except (ConfigArgumentError, ConfigValueError):
            raise
        except TypeError as exc:
            better = _explain_unknown_argument(self, cfg, exc)
            if better is None:
                raise
            raise better from None

    build._relkd_mm_patched = True
    Registry.build = build
    _mark('registry_argument_errors')


class ConfigValueError(ValueError):
    """A config gives an argument a value that makes no sense."""


_NUMBER = re.compile(r'^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$')


def _init_parameters(cls):
    """``{name: inspect.Parameter}`` of ``cls.__init__`` and of its bases'
    (the first definition of a name wins)."""
    import inspect
    found = {}
    for klass in getattr(cls, '__mro__', [cls]):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        for p in params:
            if p.name != 'self' and p.kind not in (
                    p.VAR_POSITIONAL, p.VAR_KEYWORD):
                found.setdefault(p.name, p)
    return found


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_argument_values(registry, cfg):
    if not isinstance(cfg, dict) or not cfg:
        return
    obj_type = cfg.get('type')
    weight = cfg.get('loss_weight')
    strings = {k: v for k, v in cfg.items()
               if isinstance(v, str) and _NUMBER.match(v)}
    if not strings and not (_is_number(weight) and weight < 0):
        return  # the common case: nothing to look up
    try:
        cls = registry.get(obj_type) if isinstance(obj_type, str) \
            else obj_type
    except Exception:  # an unknown type: the build reports it
        cls = None
    name = getattr(cls, '__name__', obj_type)
    params = _init_parameters(cls) if isinstance(cls, type) else {}
    for key, value in strings.items():
        param = params.get(key)
        if param is None or key in ('type', '_scope_'):
            continue
        if _is_number(param.default) or param.annotation in (int, float):
            raise ConfigArgumentError(
                f'{name} (type={obj_type!r}): {key}={value!r} is a string, '
                f'but {key} takes a number (default {param.default!r}). '
                f'Write {key}={value.strip()} without quotes in the config.')
    if _is_number(weight) and weight < 0:
        raise ConfigValueError(
            f'{name} (type={obj_type!r}): loss_weight={weight!r} is '
            'negative: the optimizer would maximise this loss (the student '
            'would move away from its target). Use loss_weight >= 0 (0 '
            'switches the loss off).')


def _explain_unknown_argument(registry, cfg, exc):
    import difflib
    match = _UNEXPECTED_KWARG.search(str(exc))
    if match is None or not isinstance(cfg, dict) or match.group(2) not in cfg:
        return None
    key = match.group(2)
    obj_type = cfg.get('type')
    cls = registry.get(obj_type) if isinstance(obj_type, str) else obj_type
    if cls is None or getattr(cls, '__name__', None) != match.group(1):
        return None
    valid = list(_init_parameters(cls))
    lowered = {v.lower(): v for v in valid}
    close = ([lowered[key.lower()]] if key.lower() in lowered else []) + [
        c for c in difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
        if c.lower() != key.lower()]
    hint = f' Did you mean {", ".join(map(repr, close))}?' if close else ''
    return ConfigArgumentError(
        f'{match.group(1)} (type={obj_type!r}) has no argument {key!r} '
        f'(given {key}={cfg[key]!r}).{hint} Valid arguments: '
        f'{", ".join(valid)}. Fix the key in the config.')


# ---------------------------------------------------------------------------
# 9. mmrazor: distiller misconfigurations found late or with bare asserts.
# ---------------------------------------------------------------------------
def patch_distiller_errors():
    """Clear, early errors for a misconfigured ``ConfigurableDistiller``.

    Why: MMRazor 1.0.0 reports a recorder whose ``source`` is not a module
    of the model with a bare ``assert`` (``"head.fcx" is not in the
    model.``), a recorder whose module never ran in the forward pass with
    ``record_idx is illegal. The length of data_buffer is 0``, a loss
    argument that no ``loss_forward_mappings`` entry provides only at the
    first step (``forward() missing 1 required positional argument``), and
    a loss failing on its inputs (e.g. 10 teacher classes against 100
    student classes) with a bare shape error that names neither the loss
    nor the recorders. Upstream: no issue found.

    Fix: the distiller checks at build time that every argument of a loss's
    ``forward`` without a default is mapped and that every recorder's source
    exists (suggesting close module names); at loss time that every
    recorder holds data, and it re-raises a loss's error with the loss's
    name, its type and the shapes and origins of its inputs. An input that
    is a tuple (a recorder on a module returning one, e.g. ``source='neck'``
    without ``data_idx``, which failed with ``'tuple' object has no
    attribute 'detach'``) names the recorder, its source and ``data_idx``.
    """
    from mmrazor.models.distillers import ConfigurableDistiller
    if getattr(ConfigurableDistiller.compute_distill_losses,
               '_relkd_mm_patched', False):
        return
    original_check = ConfigurableDistiller._check_loss_forward_mappings

    def _check_loss_forward_mappings(self, losses, loss_forward_mappings,
                                     student_recorders, teacher_recorders):
        import inspect
        for name, mapping in (loss_forward_mappings or {}).items():
            for key, record in (mapping or {}).items():
                if not isinstance(record, dict) or 'recorder' not in record:
                    continue
                which = 'student' if record.get('from_student') \
                    else 'teacher'
                known = (student_recorders if which == 'student' else
                         teacher_recorders).recorders
                if record['recorder'] not in known:
                    raise ValueError(
                        f'distiller: loss_forward_mappings[{name!r}]'
                        f'[{key!r}] uses recorder={record["recorder"]!r}, '
                        f'which is not one of the {which}_recorders '
                        f'{sorted(known)}. Define it in {which}_recorders '
                        'or fix the name (from_student selects the side).')
        original_check(self, losses, loss_forward_mappings,
                       student_recorders, teacher_recorders)
        for name, loss in losses.items():
            mapped = loss_forward_mappings.get(name, {})
            params = inspect.signature(loss.forward).parameters.values()
            required = [p.name for p in params
                        if p.default is p.empty
                        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            unmapped = [r for r in required if r not in mapped]
            if unmapped:
                raise ValueError(
                    f'distiller: loss {name!r} ({type(loss).__name__}) needs '
                    f'the argument(s) {unmapped} of its forward, but '
                    f'loss_forward_mappings[{name!r}] maps only '
                    f'{sorted(mapped)}. Add e.g. {unmapped[0]}=dict('
                    "from_student=..., recorder='...') to "
                    f'loss_forward_mappings[{name!r}].')

    def _prepare(which):
        original = getattr(ConfigurableDistiller, f'prepare_from_{which}')

        def prepare(self, model):
            recorders = getattr(self, f'{which}_recorders').recorders
            modules = [n for n, _ in model.named_modules() if n]
            for key, recorder in recorders.items():
                source = getattr(recorder, 'source', None)
                if isinstance(source, str) and source and \
                        _needs_module(recorder) and source not in modules:
                    import difflib
                    close = difflib.get_close_matches(source, modules, n=3)
                    hint = (f' Close names: {close}.' if close else '')
                    raise ValueError(
                        f'distiller: {which}_recorders[{key!r}] records '
                        f'source={source!r}, which is not a module of the '
                        f'{which} ({type(model).__name__}).{hint} Module '
                        'names are those of model.named_modules(), e.g. '
                        f'{modules[:6]}.')
            return original(self, model)

        return prepare

    def get_record(self, recorder, from_student, record_idx=0,
                   data_idx=None, connector=None, connector_idx=None):
        which = 'student' if from_student else 'teacher'
        manager = self.student_recorders if from_student \
            else self.teacher_recorders
        buffer = manager.get_recorder(recorder).data_buffer
        if len(buffer) <= record_idx:
            source = getattr(manager.get_recorder(recorder), 'source', '?')
            raise RuntimeError(
                f'distiller: {which}_recorders[{recorder!r}] (source='
                f'{source!r}) recorded {len(buffer)} call(s) in this forward '
                f'pass, but record_idx={record_idx} is asked for: the '
                'module did not run. Record a module that runs in this '
                f'mode (e.g. the {which} in tensor mode never calls '
                'head.loss_module; the teacher of RefilledDistill and '
                'VRMDistill runs in tensor mode).')
        return original_get_record(self, recorder, from_student, record_idx,
                                   data_idx, connector, connector_idx)

    def compute_distill_losses(self):
        losses = dict()
        for loss_name, forward_mappings in self.loss_forward_mappings.items():
            kwargs = {key: self.get_record(**record)
                      for key, record in forward_mappings.items()}
            loss_module = self.distill_losses[loss_name]
            try:
                losses[loss_name] = loss_module(**kwargs)
            except (RuntimeError, ValueError, IndexError, AttributeError,
                    TypeError) as exc:
                raise _with_loss_context(
                    exc, loss_name, loss_module, forward_mappings, kwargs,
                    self) from exc
        return losses

    original_get_record = ConfigurableDistiller.get_record
    ConfigurableDistiller._check_loss_forward_mappings = \
        _check_loss_forward_mappings
    ConfigurableDistiller.prepare_from_student = _prepare('student')
    ConfigurableDistiller.prepare_from_teacher = _prepare('teacher')
    ConfigurableDistiller.get_record = get_record
    compute_distill_losses._relkd_mm_patched = True
    ConfigurableDistiller.compute_distill_losses = compute_distill_losses
    _mark('distiller_errors')


def _needs_module(recorder):
    from mmrazor.models.task_modules.recorder import (ModuleInputsRecorder,
                                                      ModuleOutputsRecorder)
    return isinstance(recorder, (ModuleOutputsRecorder, ModuleInputsRecorder))


def _with_loss_context(exc, loss_name, loss_module, mappings, kwargs,
                       distiller=None):
    def shape(value):
        if hasattr(value, 'shape'):
            return tuple(value.shape)
        if isinstance(value, (list, tuple)):
            return f'{type(value).__name__} of {len(value)}'
        return type(value).__name__

    inputs = ', '.join(
        f"{key} {shape(kwargs[key])} from {'student' if m.get('from_student') else 'teacher'} "  # noqa: E501
        f"recorder {m.get('recorder')!r}"
        + (f" via connector {m['connector']!r}" if m.get('connector') else '')
        for key, m in mappings.items())
    hint = ''
    shapes = [tuple(kwargs[k].shape) for k in ('preds_S', 'preds_T')
              if hasattr(kwargs.get(k), 'shape')]
    if len(shapes) == 2 and shapes[0] != shapes[1]:
        hint = (' The student and teacher inputs differ in shape: if their '
                'heads have different numbers of classes, this loss needs '
                'equal label spaces (use REFILLED for different ones); for '
                'features, map them to one size with connectors.')
    for key, m in mappings.items():
        value = kwargs[key]
        if isinstance(value, (tuple, list)) and m.get('data_idx') is None:
            which = 'student' if m.get('from_student') else 'teacher'
            source = '?'
            if distiller is not None:
                manager = getattr(distiller, f'{which}_recorders')
                source = getattr(manager.get_recorder(m.get('recorder')),
                                 'source', '?')
            hint += (f' {key} is a {type(value).__name__} of {len(value)}: '
                     f"{which}_recorders[{m.get('recorder')!r}] (source="
                     f'{source!r}) records a module that returns a '
                     f'{type(value).__name__}; pick one element with '
                     f'data_idx=0 in loss_forward_mappings[{loss_name!r}]'
                     f'[{key!r}] (or record a module that returns a '
                     'tensor).')
    message = (f'distiller: loss {loss_name!r} ({type(loss_module).__name__})'
               f' failed on {inputs}: {exc}{hint}')
    try:
        return type(exc)(message)
    except Exception:
        return RuntimeError(message)


# ---------------------------------------------------------------------------
# 10. mmcv: an undecodable image is an assert, and skipping it is silent.
# ---------------------------------------------------------------------------
class CorruptImageError(OSError):
    """An image file that can not be read or decoded."""


def patch_load_image_errors():
    """Name the file and the fix when an image can not be decoded, and log
    each image skipped under ``ignore_empty=True``.

    Why: mmcv 2.1.0's ``LoadImageFromFile`` reports a corrupt or truncated
    file with ``assert img is not None`` (gone under ``python -O``, and
    without a fix), and with ``ignore_empty=True`` returns ``None`` without
    a word, so the dataset silently draws another sample instead. Upstream:
    open-mmlab/mmpretrain#1427 (images not read successfully).

    Fix: such a file raises :class:`CorruptImageError` naming it and the
    two ways out; with ``ignore_empty=True`` (the opt-in skip) each skipped
    file is logged as a warning. MMEngine's dataset then draws another
    sample, at most ``max_refetch`` times, so a data set of only corrupt
    files still ends with an error, never a hang.
    """
    from mmcv.transforms import LoadImageFromFile
    original = LoadImageFromFile.transform
    if getattr(original, '_relkd_mm_patched', False):
        return

    def transform(self, results):
        filename = results.get('img_path')
        try:
            out = original(self, results)
            problem = 'it could not be read' if out is None else None
        except AssertionError as exc:  # mmcv's "failed to load image"
            out, problem = None, f'it could not be decoded ({exc})'
        except (OSError, ValueError) as exc:
            if self.ignore_empty:
                raise
            out, problem = None, f'{type(exc).__name__}: {exc}'
        if problem is None:
            return out
        if self.ignore_empty:
            from mmengine.logging import print_log
            print_log(f'LoadImageFromFile: skipped {filename}: {problem} '
                      '(ignore_empty=True).', logger='current', level=30)
            return None
        raise CorruptImageError(
            f'LoadImageFromFile: image {filename!r}: {problem}. Replace or '
            'delete the file, or set ignore_empty=True in the '
            "pipeline's LoadImageFromFile to skip unreadable images (each "
            'skip is logged).')

    transform._relkd_mm_patched = True
    LoadImageFromFile.transform = transform
    _mark('load_image_errors')


# ---------------------------------------------------------------------------
# 11. mmengine: the pytorch launcher assumes CUDA.
# ---------------------------------------------------------------------------
def patch_mmengine_cpu_launcher():
    """Let ``--launcher pytorch`` (torchrun, ``tools/dist_train.sh``) run
    on machines without CUDA.

    Why: mmengine 0.10.7's ``_init_dist_pytorch`` calls
    ``torch.cuda.set_device(local_rank)`` unconditionally, which fails on a
    CPU-only torch (``module 'torch._C' has no attribute
    '_cuda_setDevice'``), and the shared runtime's ``backend='nccl'`` does
    not exist there. Upstream: no mmengine issue found; MMDetection's
    OpenVINO fork fixed the same in its ``tools/train.py``
    (openvinotoolkit/mmdetection#77).

    Fix: only where CUDA is unavailable, skip ``set_device`` during that
    call and use the ``gloo`` backend instead of ``nccl`` (logged).
    """
    if torch.cuda.is_available():
        return
    import mmengine.dist.utils as dist_utils
    original = dist_utils._init_dist_pytorch
    if getattr(original, '_relkd_mm_patched', False):
        return

    def _init_dist_pytorch(backend, *args, **kwargs):
        if backend == 'nccl':
            print('relkd_mm: no CUDA on this machine: using the gloo '
                  'backend instead of nccl.', flush=True)
            backend = 'gloo'
        set_device = torch.cuda.set_device
        torch.cuda.set_device = lambda device: None
        try:
            return original(backend, *args, **kwargs)
        finally:
            torch.cuda.set_device = set_device

    _init_dist_pytorch._relkd_mm_patched = True
    dist_utils._init_dist_pytorch = _init_dist_pytorch
    _patch_runner_cpu_ddp()
    _mark('mmengine_cpu_launcher')


def _patch_runner_cpu_ddp():
    """``Runner.wrap_model`` gives DDP ``device_ids=[LOCAL_RANK]``, which
    torch refuses for CPU modules: pass ``device_ids=None`` there."""
    from mmengine.registry import MODEL_WRAPPERS
    from mmengine.runner import Runner
    from torch.nn.parallel import DistributedDataParallel
    original = Runner.wrap_model

    def wrap_model(self, model_wrapper_cfg, model):
        if self.distributed:
            cfg = dict(model_wrapper_cfg or dict(
                type='MMDistributedDataParallel',
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get(
                    'find_unused_parameters', False)))
            kind = cfg.get('type', 'MMDistributedDataParallel')
            kind = MODEL_WRAPPERS.get(kind) if isinstance(kind, str) \
                else kind
            if isinstance(kind, type) and issubclass(
                    kind, DistributedDataParallel):
                cfg.setdefault('device_ids', None)
            model_wrapper_cfg = cfg
        return original(self, model_wrapper_cfg, model)

    Runner.wrap_model = wrap_model


# ---------------------------------------------------------------------------
# 12. mmengine: checkpoints that a kill or a full disk destroys.
# ---------------------------------------------------------------------------
def patch_mmengine_atomic_checkpoints():
    """Write checkpoints and ``last_checkpoint`` atomically, delete old
    checkpoints only after the new one is complete, and resume from the
    newest intact checkpoint when the latest one is damaged.

    Why: mmengine 0.10.7's ``CheckpointHook`` removes the oldest checkpoint
    *before* writing the new one, and neither ``save_checkpoint`` (a plain
    ``put`` of the bytes) nor ``last_checkpoint`` (``open(..., 'w')``) is
    written atomically. With ``max_keep_ckpts=1`` a SIGKILL during the save
    leaves no checkpoint at all and ``last_checkpoint`` naming a deleted
    file; a truncated or empty file then fails on ``--resume`` with a bare
    miniz ``failed finding central directory``, ``EOFError`` or
    ``checkpoint '' can not be found``; a full disk leaves a partial
    ``epoch_N.pth`` that a later ``--resume`` picks. Upstream: none found.

    Fix: local ``save_checkpoint`` writes a temporary file, fsyncs it and
    renames it over the target (:func:`relkd_mm.runner.checkpoint.
    atomic_write`); a full disk raises ``CheckpointWriteError`` naming the
    work dir and leaves the previous files untouched. The hook saves, then
    writes ``last_checkpoint`` the same way, then removes the checkpoint
    that fell out of ``max_keep_ckpts``. ``find_latest_checkpoint`` (plain
    ``--resume``) checks the file ``last_checkpoint`` names and falls back
    to the newest intact ``epoch_N``/``iter_N`` checkpoint, saying so; an
    explicitly named damaged file raises ``CorruptCheckpointError`` naming
    it and the newest intact one.
    """
    import mmengine.runner as runner_pkg
    import mmengine.runner.checkpoint as checkpoint_module
    import mmengine.runner.runner as runner_module
    from mmengine.hooks import CheckpointHook

    if getattr(CheckpointHook._save_checkpoint_with_step,
               '_relkd_mm_patched', False):
        return
    original_save = checkpoint_module.save_checkpoint

    def save_checkpoint(checkpoint, filename, file_client_args=None,
                        backend_args=None):
        from relkd_mm.runner.checkpoint import save_checkpoint_file
        local = '://' not in str(filename) and file_client_args is None \
            and (backend_args or {}).get('backend', 'local') == 'local'
        if not local:
            return original_save(checkpoint, filename, file_client_args,
                                 backend_args)
        save_checkpoint_file(checkpoint, filename)

    for module in (checkpoint_module, runner_module, runner_pkg):
        module.save_checkpoint = save_checkpoint
        module.find_latest_checkpoint = _find_latest_intact_checkpoint
    _save_checkpoint_with_step._relkd_mm_patched = True
    CheckpointHook._save_checkpoint_with_step = _save_checkpoint_with_step
    _mark('mmengine_atomic_checkpoints')


def _save_checkpoint_with_step(self, runner, step, meta):
    """``CheckpointHook._save_checkpoint_with_step`` in a crash-safe order:
    save, point ``last_checkpoint`` at it, then delete the old one."""
    from mmengine.dist import is_main_process

    from relkd_mm.runner.checkpoint import write_text_file
    outdated = None
    if self.max_keep_ckpts > 0 and not (
            self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
        if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
            outdated = self.keep_ckpt_ids.popleft()
        self.keep_ckpt_ids.append(step)
        runner.message_hub.update_info('keep_ckpt_ids',
                                       list(self.keep_ckpt_ids))
    ckpt_filename = self.filename_tmpl.format(step)
    self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
    runner.message_hub.update_info('last_ckpt', self.last_ckpt)
    runner.save_checkpoint(
        self.out_dir, ckpt_filename, self.file_client_args,
        save_optimizer=self.save_optimizer,
        save_param_scheduler=self.save_param_scheduler, meta=meta,
        by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
    if not is_main_process():
        return
    write_text_file(os.path.join(runner.work_dir, 'last_checkpoint'),
                    self.last_ckpt)
    if outdated is not None:
        path = self.file_backend.join_path(
            self.out_dir, self.filename_tmpl.format(outdated))
        if self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):  # deepspeed writes folders
            self.file_backend.rmtree(path)


def _find_latest_intact_checkpoint(path):
    """MMEngine's ``find_latest_checkpoint`` that checks the file
    ``last_checkpoint`` names and falls back to the newest intact one."""
    from mmengine.logging import print_log

    from relkd_mm.runner.checkpoint import (CorruptCheckpointError,
                                            checkpoint_problem,
                                            intact_checkpoints)
    save_file = os.path.join(path, 'last_checkpoint')
    if not os.path.exists(save_file):
        print_log('Did not find last_checkpoint to be resumed.')
        return None
    with open(save_file) as f:
        named = f.read().strip()
    problem = checkpoint_problem(named) if named else None
    if named and problem is None:
        return named
    what = (f'{save_file} names {named!r}, which {problem}' if named else
            f'{save_file} is empty')
    intact = intact_checkpoints(path)
    if intact:
        print_log(f'--resume: {what}; resuming from the newest intact '
                  f'checkpoint {intact[0]} instead.', logger='current',
                  level=30)
        return intact[0]
    raise CorruptCheckpointError(
        f'--resume: {what}, and {path} holds no intact checkpoint to fall '
        'back to (the run was probably killed while saving its first '
        'one). Start the run again without --resume, or pass --resume '
        'FILE.')


# ---------------------------------------------------------------------------
# 13. mmengine/mmpretrain: empty or missing data sets fail obscurely.
# ---------------------------------------------------------------------------
class EmptyDatasetError(ValueError):
    """A data set holds no sample."""


def patch_dataset_errors():
    """Name the data set and what to set when it is empty or its folder is
    missing.

    Why: mmengine 0.10.7's ``BaseDataset._serialize_data`` calls
    ``np.concatenate`` on the samples, so a data set with no sample (no
    image found, or ``indices=0``) fails with numpy's ``need at least one
    array to concatenate`` (and without serialisation, later, with an
    assertion on ``epoch_length``). mmpretrain 1.2.0's ``CustomDataset``
    (``ImageNet``) scans ``data_root/<split>`` and reports a missing folder
    with a bare ``FileNotFoundError: 'data/imagenet/train'``, which names
    neither the expected layout nor the key to set. Upstream: none found.

    Fix: an empty data set raises :class:`EmptyDatasetError` naming its
    type, ``data_root``, ``split`` and ``indices``; a missing folder raises
    ``FileNotFoundError`` naming it, the layout MMPretrain expects and
    ``train_dataloader.dataset.data_root``.
    """
    from mmengine.dataset import BaseDataset
    from mmpretrain.datasets import CustomDataset
    if getattr(BaseDataset.full_init, '_relkd_mm_patched', False):
        return
    original_full_init = BaseDataset.full_init
    original_serialize = BaseDataset._serialize_data
    original_load = CustomDataset.load_data_list

    def full_init(self):
        if self._fully_initialized:
            return
        original_full_init(self)
        if len(self) == 0:
            raise _empty_dataset_error(self)

    def _serialize_data(self):
        if not self.data_list:
            raise _empty_dataset_error(self)
        return original_serialize(self)

    def load_data_list(self):
        try:
            return original_load(self)
        except FileNotFoundError as exc:
            raise _missing_folder_error(self, exc) from None

    full_init._relkd_mm_patched = True
    BaseDataset.full_init = full_init
    BaseDataset._serialize_data = _serialize_data
    CustomDataset.load_data_list = load_data_list
    _mark('dataset_errors')


def _empty_dataset_error(dataset):
    from relkd_mm.engine.hooks.train_check_hook import _describe
    indices = getattr(dataset, '_indices', None)
    why = (f'indices={indices!r} keeps none of its samples'
           if indices is not None else 'no sample was found')
    return EmptyDatasetError(
        f'{_describe(dataset)} is empty: {why}. A training set that is '
        'empty can not train (nor an empty val/test set evaluate): check '
        'train_dataloader.dataset (or val_dataloader/test_dataloader) in '
        'the config: data_root, ann_file, data_prefix, split, classes, '
        'indices.')


def _missing_folder_error(dataset, exc):
    root = getattr(dataset, 'data_root', '') or '.'
    missing = exc.filename or str(exc)
    return FileNotFoundError(
        exc.errno, f'{type(dataset).__name__}: {missing!r} does not exist. '
        'MMPretrain expects either class folders, '
        f'{root}/train/<class>/*.JPEG and {root}/val/<class>/*.JPEG, or '
        f'annotation files {root}/meta/train.txt and meta/val.txt (lines '
        '"<relative path> <label>") next to the image folders. Set '
        '`train_dataloader.dataset.data_root` (and val_dataloader/'
        'test_dataloader) to the folder that holds them, e.g. '
        '--cfg-options train_dataloader.dataset.data_root=/data/imagenet.',
        missing)


# ---------------------------------------------------------------------------
# 14. mmengine: images whose channels differ from the model's fail inside a
# convolution.
# ---------------------------------------------------------------------------
def patch_input_channel_check():
    """Check the first training batch's channels against each network's
    first convolution.

    Why: an image with another number of channels than the backbone's
    ``in_channels`` (grey Fashion-MNIST into an RGB model, RGBA PNGs) fails
    deep in torch's convolution (``expected input[16, 1, 28, 28] to have 3
    channels``) with no hint of the config key or of the data. Upstream:
    none found.

    Fix: ``Runner.train`` registers a one-shot forward pre-hook on the
    backbone of the model (the student and teacher of a distiller) that
    compares the batch's channels with the first convolution's
    ``in_channels`` and raises ``ValueError`` naming both numbers and the
    config key; it removes itself after the first batch (no cost later).
    """
    import functools

    from mmengine.runner import Runner
    if getattr(Runner.train, '_relkd_mm_channels', False):
        return
    original_train = Runner.train

    def train(self):
        handles = _watch_input_channels(self.model)
        try:
            return original_train(self)
        finally:
            for handle in handles:
                handle.remove()

    train = functools.wraps(original_train)(train)
    train._relkd_mm_channels = True
    Runner.train = train
    _mark('input_channel_check')


def _watch_input_channels(model):
    from mmengine.model import is_model_wrapper
    from torch import nn
    model = model.module if is_model_wrapper(model) else model
    networks = [('model', model)]
    if hasattr(model, 'architecture') and hasattr(model, 'teacher'):
        networks = [('model.architecture', model.architecture),
                    ('model.teacher', model.teacher)]
    handles = []
    for key, network in networks:
        backbone = getattr(network, 'backbone', None)
        if not isinstance(backbone, nn.Module):
            continue
        conv = next((m for m in backbone.modules()
                     if isinstance(m, nn.Conv2d)), None)
        if conv is None:
            continue
        own = []  # this hook's handle: it removes itself after one batch
        own.append(backbone.register_forward_pre_hook(_channel_hook(
            f'{key}.backbone', type(backbone).__name__, conv.in_channels,
            own)))
        handles += own
    return handles


def _channel_hook(key, name, expected, handles):

    def hook(module, args):
        x = args[0] if args else None
        if isinstance(x, torch.Tensor) and x.dim() == 4:
            if x.shape[1] != expected:
                raise ValueError(
                    f'{key} ({name}) takes in_channels={expected}, but the '
                    f'first batch holds {x.shape[1]} channel(s) per image '
                    f'(inputs {tuple(x.shape)}). Set {key}.in_channels='
                    f'{x.shape[1]} to fit the data, or convert the images '
                    "(e.g. LoadImageFromFile(color_type='grayscale') for "
                    "1 channel, 'color' for 3), and check the data "
                    "preprocessor's mean/std (one value per channel).")
            for handle in handles:  # checked once: no cost afterwards
                handle.remove()

    return hook


# ---------------------------------------------------------------------------
# 15. mmengine: a misspelt top-level config key is silently ignored.
# ---------------------------------------------------------------------------
#: Top-level keys read outside ``Runner.__init__``'s arguments: by
#: ``Runner.from_cfg``/``train``/``wrap_model`` (MMEngine), MMEngine's
#: ``Config``, ``tools/train.py`` and relkd_mm (``load_from_strict``), and
#: the OpenMMLab config conventions that tools read (``test_pipeline`` by
#: mmdeploy and ``tools/export_student.py``).
READ_TOP_LEVEL_KEYS = {
    'model_wrapper_cfg', 'compile', 'find_unused_parameters',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'runner_type',
    'gpu_ids', 'custom_imports', 'work_dir', 'launcher', 'sync_bn',
    'resource_limit', 'load_from_strict', 'strategy', 'train_pipeline',
    'val_pipeline', 'test_pipeline', 'dataset_type', 'data_root',
    'vis_backends'}


def patch_unknown_config_keys():
    """Warn about top-level config keys that nothing reads, naming the
    closest valid key.

    Why: MMEngine 0.10.7 passes only the keys it knows to the runner and
    ignores the others: ``optim_wraper = dict(...)`` (a typo) trains with
    the base config's optimizer without a word. Upstream: none found.

    Fix: ``Runner.from_cfg`` logs a warning, with the closest valid key
    (``difflib``), for each top-level key that is neither an argument of
    ``Runner`` nor in :data:`READ_TOP_LEVEL_KEYS`, whose value is not used
    inside a key that is read (a helper variable such as ``teacher_ckpt =
    '...'``), and that is close to a valid key or set by the config file
    itself (bases define helpers that a child may leave unused).
    """
    import functools

    from mmengine.runner import Runner
    original = Runner.__dict__['from_cfg'].__func__
    if getattr(original, '_relkd_mm_patched', False):
        return

    @functools.wraps(original)
    def from_cfg(cls, cfg):
        runner = original(cls, cfg)
        for message in unknown_config_keys(cfg):
            runner.logger.warning(message)
        return runner

    from_cfg._relkd_mm_patched = True
    Runner.from_cfg = classmethod(from_cfg)
    _mark('unknown_config_keys')


def unknown_config_keys(cfg):
    """The warnings :func:`patch_unknown_config_keys` logs for ``cfg``."""
    import difflib
    import inspect

    from mmengine.runner import Runner
    valid = set(inspect.signature(Runner.__init__).parameters) - {
        'self', 'cfg'} | READ_TOP_LEVEL_KEYS
    read = [cfg[k] for k in cfg if k in valid]
    own = _assigned_names(getattr(cfg, 'filename', None))
    messages = []
    for key in cfg:
        if key in valid or key.startswith('_') or _used_in(cfg[key], read):
            continue
        close = difflib.get_close_matches(key, sorted(valid), n=1,
                                          cutoff=0.75)
        # Bases define helpers (student_model, rrd_distiller) that their
        # children may leave unused: only a likely typo, or a key the
        # config file itself sets, is worth a warning.
        if not close and key not in own:
            continue
        hint = f' Did you mean {close[0]!r}?' if close else ''
        messages.append(
            f'config: the top-level key {key!r} is read by no part of '
            f'MMEngine or relkd_mm, so it has no effect.{hint}')
    return messages


def _assigned_names(filename):
    """Top-level names a Python config file assigns itself."""
    import ast
    if not filename or not str(filename).endswith('.py') or \
            not os.path.isfile(filename):
        return set()
    try:
        with open(filename) as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, ast.AnnAssign) else [])
        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


def _used_in(value, containers, depth=0):
    """Whether ``value`` occurs in one of ``containers`` (nested dicts and
    lists), compared by equality."""
    for item in containers:
        if item is value or (type(item) is type(value) and item == value):
            return True
        if depth < 12:
            children = list(item.values()) if isinstance(item, dict) else (
                list(item) if isinstance(item, (list, tuple)) else [])
            if children and _used_in(value, children, depth + 1):
                return True
    return False


# ---------------------------------------------------------------------------
# 16. mmrazor: CRDLoss ignores its loss_weight.
# ---------------------------------------------------------------------------
def patch_crd_loss_weight():
    """Apply ``CRDLoss``'s ``loss_weight``.

    Why: mmrazor 1.0.0's ``CRDLoss.__init__`` stores ``loss_weight`` and
    its ``forward`` returns ``s_loss + t_loss`` without it
    (``mmrazor/models/losses/crd_loss.py``): the CRD baseline's
    ``loss_weight=0.8`` (RepDistiller's ``-b 0.8``,
    ``configs/kd/crd_resnet32x4_resnet8x4_1xb64_cifar100.py``) trains as
    1.0, so the baseline compared against RRD is not the published one, and
    ``loss_weight=0`` does not switch CRD off. Every other MMRazor loss
    multiplies by its weight. Upstream: none found (the defect is still in
    mmrazor's main branch).

    Fix: ``CRDLoss.forward`` returns ``loss_weight`` times the original
    value. Applied only where the original ``forward`` does not read
    ``self.loss_weight``.
    """
    import functools
    import inspect

    from mmrazor.models.losses import CRDLoss
    forward = CRDLoss.forward
    if getattr(forward, '_relkd_mm_patched', False) or \
            'loss_weight' in inspect.getsource(forward):
        return

    @functools.wraps(forward)
    def weighted_forward(self, s_feats, t_feats, data_samples):
        return self.loss_weight * forward(self, s_feats, t_feats,
                                          data_samples)

    weighted_forward._relkd_mm_patched = True
    _UNPATCHED.setdefault('CRDLoss.forward', forward)
    CRDLoss.forward = weighted_forward
    _mark('crd_loss_weight')


# ---------------------------------------------------------------------------
# 17. mmrazor: the frozen teacher evaluated at every validation, a bad
# teacher found only after training.
# ---------------------------------------------------------------------------
def patch_teacher_evaluation():
    """Evaluate a frozen teacher once, and check it before training.

    Why (a): mmrazor 1.0.0's ``SingleTeacherDistillValLoop`` (every
    distillation config of relkd_mm uses it) runs the teacher over the
    whole validation set at every validation, although a frozen teacher's
    metrics never change: each validation costs a teacher pass on top of
    the student's (the teacher is the larger network: resnet32x4 vs
    resnet8x4, ResNet-34 vs ResNet-18; see docs/benchmarks.md). Upstream:
    none found.

    Why (b): a teacher that loads but is bad (a class-count or label-order
    change, a released checkpoint scoring 70.27 instead of the 74.31
    claimed: RepDistiller, MMRazor issue trackers) trains for the whole
    schedule; its accuracy appears only at the first validation, and
    nothing compares it with what was expected. Upstream: none found.

    Fix (a): the loop keeps the teacher's metrics of its first evaluation
    and reuses them (``teacher.accuracy/top1`` is logged at every
    validation as before) while the teacher's tensors are unchanged (their
    identities and version counters: an optimizer step, a load or BatchNorm
    statistics in train mode invalidate it) and the validation dataloader
    and data set are the same (identity, length). Not when the teacher
    trains (``model.teacher_trainable``) or with ``val_cfg.teacher_cache=
    False``. A reused validation draws the random number iterating the
    dataloader would, so the training that follows is bit-identical to
    upstream's. Patched in MMRazor's class rather than registered as a
    relkd_mm loop of the same name: every config and every piece of code
    that builds ``SingleTeacherDistillValLoop`` gets it, with no
    registration order to depend on.

    Fix (b): ``SingleTeacherDistill`` (hence ``VRMDistill`` and
    ``RefilledDistill``) accepts ``teacher_expected_top1`` (percent, None:
    no check; ``'metafile'``: the top-1 MMPretrain's metafile gives for the
    zoo ``teacher_ckpt``) and ``teacher_top1_margin`` (points, default 1.0).
    When the first is set, ``Runner.train`` evaluates the teacher on the
    validation set after ``load_from``/resume, before the first iteration
    (random state and model mode left as they were), logs the value and
    raises
    :class:`~relkd_mm.runner.teacher_eval.TeacherAccuracyError` naming the
    expected and measured values, the margin and the keys when it is more
    than the margin below; the validation loop reuses that evaluation.
    """
    import functools
    import inspect

    from mmengine.runner import Runner
    from mmrazor.engine import SingleTeacherDistillValLoop
    from mmrazor.models import SingleTeacherDistill

    from relkd_mm.runner import teacher_eval
    loop_init = SingleTeacherDistillValLoop.__init__
    if 'teacher_cache' not in inspect.signature(loop_init).parameters:

        @functools.wraps(loop_init)
        def __init__(self, runner, dataloader, evaluator, fp16=False,
                     teacher_cache=True):
            loop_init(self, runner, dataloader, evaluator, fp16)
            self.teacher_cache = bool(teacher_cache)
            self.teacher_evaluations = 0

        __init__.__signature__ = inspect.signature(__init__,
                                                   follow_wrapped=False)
        SingleTeacherDistillValLoop.__init__ = __init__
        SingleTeacherDistillValLoop.run = teacher_eval.run
        _mark('teacher_val_cache')

    init = SingleTeacherDistill.__init__
    signature = inspect.signature(init)
    if 'teacher_expected_top1' not in signature.parameters:

        @functools.wraps(init)
        def distill_init(self, *args, teacher_expected_top1=None,
                         teacher_top1_margin=1.0, **kwargs):
            init(self, *args, **kwargs)
            if teacher_expected_top1 == 'metafile':
                teacher_expected_top1 = _metafile_expectation(
                    self, signature.bind(self, *args, **kwargs).arguments.get(
                        'teacher_ckpt'))
            for key, value in (('teacher_expected_top1',
                                teacher_expected_top1),
                               ('teacher_top1_margin', teacher_top1_margin)):
                if value is None and key == 'teacher_expected_top1':
                    continue
                if not _is_number(value) or not 0 <= value <= 100:
                    raise ConfigValueError(
                        f'{type(self).__name__}: {key}={value!r} must be a '
                        'number of percent (points) between 0 and 100, '
                        "e.g. the teacher's top-1 of configs/teachers/"
                        'README.md or of its MMPretrain metafile.')
            self.teacher_expected_top1 = teacher_expected_top1
            self.teacher_top1_margin = float(teacher_top1_margin)

        params = list(signature.parameters.values())
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                   default=default)
                 for name, default in (('teacher_expected_top1', None),
                                       ('teacher_top1_margin', 1.0))]
        distill_init.__signature__ = signature.replace(
            parameters=params[:-1] + extra + params[-1:])
        SingleTeacherDistill.__init__ = distill_init
        _mark('teacher_expected_top1')

    if not getattr(Runner.train, '_relkd_mm_teacher_check', False):
        original_train = Runner.train

        def train(self):
            from mmengine.model import is_model_wrapper
            model = self.model.module if is_model_wrapper(self.model) \
                else self.model
            hook = None
            if getattr(model, 'teacher_expected_top1', None) is not None:
                hook = teacher_eval.TeacherCheckHook()
                self.register_hook(hook)
            try:
                return original_train(self)
            finally:
                if hook is not None and hook in self._hooks:
                    self._hooks.remove(hook)

        train = functools.wraps(original_train)(train)
        # functools.wraps copies the flags of the patches below (14).
        train._relkd_mm_teacher_check = True
        Runner.train = train
        _mark('teacher_check')


def _metafile_expectation(model, teacher_ckpt):
    """``teacher_expected_top1='metafile'``: the top-1 that MMPretrain's
    metafile gives for the zoo checkpoint ``teacher_ckpt``."""
    from mmengine.logging import print_log

    from relkd_mm.runner.teacher_eval import metafile_top1
    found = metafile_top1(teacher_ckpt) if teacher_ckpt else None
    if found is None:
        raise ConfigValueError(
            f"{type(model).__name__}: teacher_expected_top1='metafile' "
            f'looks the teacher_ckpt up in the metafiles of MMPretrain\'s '
            f'model zoo, but teacher_ckpt={teacher_ckpt!r} is in none of '
            'them (a zoo URL or a local copy with the same file name is). '
            'Give the number instead, e.g. model.teacher_expected_top1=74.31 '
            '(configs/teachers/README.md lists the CIFAR-100 teachers).')
    top1, where = found
    print_log(f'teacher_expected_top1={top1} from the metafile {where}',
              logger='current')
    return top1


# ---------------------------------------------------------------------------
# 18. mmengine: load_state_dict prints its mismatch report.
# ---------------------------------------------------------------------------
def patch_load_state_dict_logger():
    """Send MMEngine's state-dict mismatch report through the logger.

    Why: ``Runner.load_checkpoint`` calls
    ``mmengine.runner.checkpoint.load_state_dict`` with ``logger=None``, so
    "The model and loaded state dict do not match exactly ..." goes to
    ``print()``: it is missing from the run's log file, has no timestamp,
    and a console filter cannot explain an expected one (REFILLED stage 2
    loading stage 1, which has no class centres yet). Upstream: none found
    (``mmengine/runner/runner.py`` of 0.10.7 passes no logger).

    Fix: ``logger=None`` becomes ``'current'`` (the runner's logger);
    messages, levels and strictness are unchanged.
    """
    import functools

    from mmengine.runner import checkpoint
    original = checkpoint.load_state_dict
    if getattr(original, '_relkd_mm_patched', False):
        return

    @functools.wraps(original)
    def load_state_dict(module, state_dict, strict=False, logger=None):
        return original(module, state_dict, strict,
                        'current' if logger is None else logger)

    load_state_dict._relkd_mm_patched = True
    _UNPATCHED.setdefault('load_state_dict', original)
    checkpoint.load_state_dict = load_state_dict
    _mark('load_state_dict_logger')


def apply_all():
    """Apply every patch whose breakage is present; safe to call again."""
    patch_torchvision_fake_kernels()
    patch_numpy_in1d()
    patch_mmrazor_quantization_helpers()
    patch_mmengine_checkpoint_loading()
    patch_mmengine_config_scope()
    patch_mmengine_installed_path()
    patch_cfg_path_errors()
    patch_strict_checkpoint_loading()
    patch_registry_argument_errors()
    patch_distiller_errors()
    patch_load_image_errors()
    patch_mmengine_cpu_launcher()
    patch_mmengine_atomic_checkpoints()
    patch_dataset_errors()
    patch_input_channel_check()
    patch_unknown_config_keys()
    patch_crd_loss_weight()
    patch_teacher_evaluation()
    patch_load_state_dict_logger()
    # Student-only checkpoints (MMRazor #157, #594): the patch and its
    # reasons live with the hook it registers.
    from relkd_mm.runner.teacher_checkpoint import patch_runner_default_hook
    patch_runner_default_hook(_mark)
    return list(APPLIED)


__all__ = ['APPLIED', 'apply_all', 'patch_torchvision_fake_kernels',
           'patch_mmrazor_quantization_helpers', 'patch_numpy_in1d',
           'patch_mmengine_checkpoint_loading', 'patch_mmengine_config_scope',
           'patch_mmengine_installed_path', 'patch_cfg_path_errors',
           'patch_strict_checkpoint_loading',
           'patch_registry_argument_errors', 'patch_distiller_errors',
           'patch_load_image_errors', 'patch_mmengine_cpu_launcher',
           'patch_onnx_export_default', 'patch_mmengine_atomic_checkpoints',
           'patch_dataset_errors', 'patch_input_channel_check',
           'patch_unknown_config_keys', 'unknown_config_keys',
           'patch_crd_loss_weight', 'patch_teacher_evaluation',
           'patch_load_state_dict_logger',
           'ConfigArgumentError', 'CorruptImageError', 'RandomTeacherError',
           'ResumeConfigError', 'EmptyDatasetError', 'ConfigValueError',
           'NonFiniteTeacherError']

"""Every patch relkd_mm applies to upstream code, numbered 1-18 (6 and
8-18 are gone: they are extension points now, see below).

Two kinds, one function each, each with the reason and the upstream issue
in its docstring:

* :mod:`.stack`: breakages of the pinned OpenMMLab stack on current PyTorch
  and NumPy (1-5): without them nothing imports, loads or resolves a
  ``relkd_mm::`` config path. Patch 4 also makes every checkpoint load
  safe (no full unpickling, whatever the torch version or environment).
* :mod:`.behaviour`: upstream defects that let a run go silently wrong,
  unsafe or fail obscurely, by subject: ``config_errors`` (5's
  ``patch_cfg_path_errors``) and ``onnx_export`` (7: torch >= 2.9's
  exporter, for mmdeploy; applied by ``tools/deploy.py``, not by
  :func:`apply_all`).

Former patches that are extension points now, which configs name (a config
without them gets upstream's behaviour, also in a process that imports
relkd_mm): :class:`~relkd_mm.runner.relkd_runner.RelKDRunner`
(``runner_type``) loads ``load_from`` and resumes strictly and checks the
teacher and the resume (6, 17), writes checkpoints atomically and resumes
from the newest intact one (12), registers ``TeacherCheckpointHook``
(student-only checkpoints), runs ``--launcher pytorch`` without CUDA (11),
sends MMEngine's state-dict report to the log (18) and names wrong
arguments and values (8) and empty or missing data sets (13); its
:class:`~relkd_mm.engine.hooks.AtomicCheckpointHook` removes an old
checkpoint only after the new one is complete (12). 6's strict
``teacher_ckpt`` and 17's arguments of ``SingleTeacherDistill``
(``teacher_ckpt_strict``, ``allow_random_teacher``,
``teacher_expected_top1``) are
:class:`~relkd_mm.models.algorithms.CheckedSingleTeacherDistill`'s, 6's
strict ``Pretrained`` init the ``StrictPretrained`` initializer
(:class:`~relkd_mm.models.utils.StrictPretrainedInit`); the rules they
enforce are :mod:`relkd_mm.models.utils.strict_loading`. 9 (distiller
misconfigurations) is
:class:`~relkd_mm.models.distillers.CheckedConfigurableDistiller`, 10
(undecodable images) :class:`~relkd_mm.datasets.CheckedLoadImageFromFile`,
14 (image channels) and 15 (ignored top-level keys) are
:class:`~relkd_mm.engine.hooks.TrainCheckHook`'s, 16 (``CRDLoss`` ignores
its ``loss_weight``) is :class:`~relkd_mm.models.losses.WeightedCRDLoss`,
and 17's frozen teacher evaluated at every validation is
:class:`~relkd_mm.engine.loops.TeacherCachedDistillValLoop`. The runner's
errors stay importable from here (those of the models from
:mod:`relkd_mm.models.utils` and :mod:`relkd_mm.datasets`).

Each patch

* checks that its breakage is actually present and does nothing otherwise
  (on a stack where upstream is fixed, or torch and torchvision match); the
  defect patches apply to every stack that still has the defect, and
* is idempotent: applying it twice changes nothing the second time.

Importing this package applies nothing: :func:`apply_all` runs the patches
in dependency order. It must run before any ``mm*`` package is imported:
MMRazor registers its modules at import time (its own ``tools/train.py``
imports ``mmrazor.models`` before it reads ``custom_imports``, so a plugin
loaded through ``custom_imports`` would be too late; where its
quantization tables fail to build, it keeps placeholders that raise on
first use), and mmpretrain imports torchvision at module level, which
fails without patch 1.
``import relkd_mm`` calls it, and so does every script in ``tools/`` before
its first ``mm*`` import. So none of the modules here imports an ``mm*``
package at module level.
"""
from relkd_mm.runner.build_errors import ConfigArgumentError, ConfigValueError
from relkd_mm.runner.dataset_errors import EmptyDatasetError
from relkd_mm.runner.load_checks import (RandomTeacherError,
                                         TeacherConflictError)
from relkd_mm.runner.resume_checks import ResumeConfigError
from .behaviour.config_errors import patch_cfg_path_errors
from .behaviour.onnx_export import patch_onnx_export_default
from .stack import (APPLIED, patch_mmengine_checkpoint_loading,
                    patch_mmengine_config_scope, patch_mmengine_installed_path,
                    patch_mmrazor_quantization_helpers, patch_numpy_in1d,
                    patch_torchvision_fake_kernels)

# Private names, as the single module had them: tests restore the originals
# a patch replaced.
from .stack import _UNPATCHED  # noqa: F401 isort: skip


#: Every upstream attribute that runs relkd_mm code after ``import
#: relkd_mm``, with the patch that sets it: what
#: ``tools/analysis/upstream_patches.py`` measures in a fresh interpreter
#: (``tests/test_upstream_patches.py`` keeps the two equal, and
#: docs/architecture.md's table). Issue 20's target: at most 16, only the
#: pinned stack's breakages (patches 1-5); the rest move to extension points
#: that configs name. 46 before issue 20's first step, 13 now: only 1-5.
PATCHED_ATTRIBUTES = {
    # stack.py and behaviour/config_errors.py (1-5): the pinned stack does
    # not import or run without them.
    'mmengine.config.config:get_installed_path': 'mmengine_installed_path',
    'mmengine.hub.hub:get_installed_path': 'mmengine_installed_path',
    'mmengine.utils.package_utils:get_installed_path':
        'mmengine_installed_path',
    'mmengine.utils:get_installed_path': 'mmengine_installed_path',
    'mmengine.runner.checkpoint:load_from_http':
        'mmengine_checkpoint_loading',
    'mmrazor.structures.quantization.backend_config.'
    'common_operator_config_utils:reverse_sequential_wrapper2':
        'mmrazor_quantization_helpers',
    'torch.ao.quantization.fuser_method_mappings:'
    'reverse_sequential_wrapper2': 'mmrazor_quantization_helpers',
    'torch.ao.quantization.backend_config.backend_config:'
    'BackendPatternConfig._set_input_output_observed':
        'mmrazor_quantization_helpers',
    'torch.ao.quantization.backend_config.backend_config:'
    'BackendPatternConfig._set_overwrite_output_fake_quantize':
        'mmrazor_quantization_helpers',
    'torch.ao.quantization.backend_config.backend_config:'
    'BackendPatternConfig._set_overwrite_output_observer':
        'mmrazor_quantization_helpers',
    'numpy:in1d': 'numpy_in1d',
    'mmengine.hub.hub:get_config': 'cfg_path_errors',
    'mmengine.hub:get_config': 'cfg_path_errors',
}


def apply_all():
    """Apply every patch whose breakage is present; safe to call again."""
    patch_torchvision_fake_kernels()
    patch_numpy_in1d()
    patch_mmrazor_quantization_helpers()
    patch_mmengine_checkpoint_loading()
    patch_mmengine_config_scope()
    patch_mmengine_installed_path()
    patch_cfg_path_errors()
    return list(APPLIED)


__all__ = ['APPLIED', 'PATCHED_ATTRIBUTES', 'apply_all',
           'patch_torchvision_fake_kernels',
           'patch_mmrazor_quantization_helpers', 'patch_numpy_in1d',
           'patch_mmengine_checkpoint_loading', 'patch_mmengine_config_scope',
           'patch_mmengine_installed_path', 'patch_cfg_path_errors',
           'patch_onnx_export_default',
           'ConfigArgumentError', 'RandomTeacherError', 'ResumeConfigError',
           'EmptyDatasetError', 'ConfigValueError', 'TeacherConflictError']

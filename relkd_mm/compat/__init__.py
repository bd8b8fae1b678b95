"""Every patch relkd_mm applies to upstream code, numbered 1-18 (9, 10 and
14-16 are gone: they are extension points now, see below).

Two kinds, one function each, each with the reason and the upstream issue
in its docstring:

* :mod:`.stack`: breakages of the pinned OpenMMLab stack on current PyTorch
  and NumPy (1-5): without them nothing imports, loads or resolves a
  ``relkd_mm::`` config path. Patch 4 also makes every checkpoint load
  safe (no full unpickling, whatever the torch version or environment).
* :mod:`.behaviour`: upstream defects that let a run go silently wrong,
  unsafe or fail obscurely, by subject: ``config_errors`` (5's
  ``patch_cfg_path_errors``, 8: arguments and values),
  ``data_errors`` (13: data sets), ``onnx_export`` (7: torch >= 2.9's
  exporter, for mmdeploy), ``launcher`` (11: ``--launcher pytorch``
  without CUDA), ``checkpoints`` (12: checkpoints a kill or a full disk
  destroys), ``teacher_evaluation``
  (17: a bad teacher found only after training), ``state_dict_logger``
  (18). Former patches that are extension points now, which configs name
  (a config without them gets upstream's behaviour): 9 (distiller
  misconfigurations) is
  :class:`~relkd_mm.models.distillers.CheckedConfigurableDistiller`, 10
  (undecodable images) :class:`~relkd_mm.datasets.CheckedLoadImageFromFile`,
  14 (image channels) and 15 (ignored top-level keys) are
  :class:`~relkd_mm.engine.hooks.TrainCheckHook`'s, 16 (``CRDLoss``
  ignores its ``loss_weight``) is
  :class:`~relkd_mm.models.losses.WeightedCRDLoss`, 17's frozen
  teacher evaluated at every validation is
  :class:`~relkd_mm.engine.loops.TeacherCachedDistillValLoop`, and 6's
  and 17's arguments of ``SingleTeacherDistill`` (``teacher_ckpt_strict``,
  ``allow_random_teacher``, ``teacher_expected_top1``) and 6's strict
  ``Pretrained`` init are
  :class:`~relkd_mm.models.algorithms.CheckedSingleTeacherDistill` and the
  ``StrictPretrained`` initializer
  (:class:`~relkd_mm.models.utils.StrictPretrainedInit`). The rest of the
  strict-loading patch (6: ``load_from``, resume, random teachers, resumes
  that change the run) is :mod:`relkd_mm.runner.strict_loading_patches`
  (its resume checks in :mod:`relkd_mm.runner.resume_checks`); the rules
  it enforces are :mod:`relkd_mm.models.utils.strict_loading`.

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
from relkd_mm.runner.resume_checks import ResumeConfigError
from relkd_mm.runner.strict_loading_patches import (
    RandomTeacherError, TeacherConflictError, patch_strict_checkpoint_loading)
from .behaviour.checkpoints import patch_mmengine_atomic_checkpoints
from .behaviour.config_errors import (ConfigArgumentError, ConfigValueError,
                                      patch_cfg_path_errors,
                                      patch_registry_argument_errors)
from .behaviour.data_errors import EmptyDatasetError, patch_dataset_errors
from .behaviour.launcher import patch_mmengine_cpu_launcher
from .behaviour.onnx_export import patch_onnx_export_default
from .behaviour.state_dict_logger import patch_load_state_dict_logger
from .behaviour.teacher_evaluation import patch_teacher_evaluation
from .stack import (APPLIED, _mark, patch_mmengine_checkpoint_loading,
                    patch_mmengine_config_scope, patch_mmengine_installed_path,
                    patch_mmrazor_quantization_helpers, patch_numpy_in1d,
                    patch_torchvision_fake_kernels)

# Private names, as the single module had them: tests restore the originals
# a patch replaced and call the random-teacher check on its own.
from relkd_mm.runner.strict_loading_patches import (  # noqa: F401 isort: skip
    _check_teacher_loaded)
from .stack import _UNPATCHED  # noqa: F401 isort: skip


#: Every upstream attribute that runs relkd_mm code after ``import
#: relkd_mm``, with the patch that sets it: what
#: ``tools/analysis/upstream_patches.py`` measures in a fresh interpreter
#: (``tests/test_upstream_patches.py`` keeps the two equal, and
#: docs/architecture.md's table). Issue 20's target: at most 16, only the
#: pinned stack's breakages (patches 1-5); the rest move to extension points
#: that configs name. 46 before issue 20's first step.
PATCHED_ATTRIBUTES = {
    # stack.py (1-5): the pinned stack does not import or run without them.
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
    # behaviour/ (8, 11, 13): no extension point used yet.
    'mmengine.registry.registry:Registry.build': 'registry_argument_errors',
    'mmengine.dataset.base_dataset:BaseDataset._serialize_data':
        'dataset_errors',
    'mmengine.dataset.base_dataset:BaseDataset.full_init': 'dataset_errors',
    'mmpretrain.datasets.custom:CustomDataset.load_data_list':
        'dataset_errors',
    'mmengine.dist.utils:_init_dist_pytorch': 'mmengine_cpu_launcher',
    'mmengine.runner.runner:Runner.wrap_model': 'mmengine_cpu_launcher',
    # Checkpoints, strict loading, resume, teacher checkpoints (6, 12, 18,
    # runner/teacher_checkpoint.py) and the teacher check (17).
    'mmengine.hooks.checkpoint_hook:'
    'CheckpointHook._save_checkpoint_with_step':
        'mmengine_atomic_checkpoints',
    'mmengine.runner.checkpoint:find_latest_checkpoint':
        'mmengine_atomic_checkpoints',
    'mmengine.runner.runner:find_latest_checkpoint':
        'mmengine_atomic_checkpoints',
    'mmengine.runner:find_latest_checkpoint': 'mmengine_atomic_checkpoints',
    'mmengine.runner.checkpoint:save_checkpoint':
        'mmengine_atomic_checkpoints',
    'mmengine.runner.runner:save_checkpoint': 'mmengine_atomic_checkpoints',
    'mmengine.runner:save_checkpoint': 'mmengine_atomic_checkpoints',
    'mmrazor.implementations.pruning.group_fisher.hook:save_checkpoint':
        'mmengine_atomic_checkpoints',
    'mmengine.runner.checkpoint:load_state_dict': 'load_state_dict_logger',
    'mmengine.runner.runner:Runner.load_checkpoint':
        'strict_runner_load_checkpoint',
    'mmengine.runner.runner:Runner.resume': 'strict_runner_load_checkpoint',
    'mmengine.runner.runner:_load_checkpoint_to_model':
        'strict_runner_load_checkpoint',
    'mmengine.runner.runner:Runner.train':
        'strict_runner_load_checkpoint, teacher_check',
    'mmengine.runner.runner:Runner.register_hooks':
        'student_only_checkpoints',
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
    patch_strict_checkpoint_loading()
    patch_registry_argument_errors()
    patch_mmengine_cpu_launcher()
    patch_mmengine_atomic_checkpoints()
    patch_dataset_errors()
    patch_teacher_evaluation()
    patch_load_state_dict_logger()
    # Student-only checkpoints (MMRazor #157, #594): the patch and its
    # reasons live with the hook it registers.
    from relkd_mm.runner.teacher_checkpoint import patch_runner_default_hook
    patch_runner_default_hook(_mark)
    return list(APPLIED)


__all__ = ['APPLIED', 'PATCHED_ATTRIBUTES', 'apply_all',
           'patch_torchvision_fake_kernels',
           'patch_mmrazor_quantization_helpers', 'patch_numpy_in1d',
           'patch_mmengine_checkpoint_loading', 'patch_mmengine_config_scope',
           'patch_mmengine_installed_path', 'patch_cfg_path_errors',
           'patch_strict_checkpoint_loading',
           'patch_registry_argument_errors', 'patch_mmengine_cpu_launcher',
           'patch_onnx_export_default', 'patch_mmengine_atomic_checkpoints',
           'patch_dataset_errors',
           'patch_teacher_evaluation',
           'patch_load_state_dict_logger',
           'ConfigArgumentError', 'RandomTeacherError', 'ResumeConfigError',
           'EmptyDatasetError', 'ConfigValueError', 'TeacherConflictError']

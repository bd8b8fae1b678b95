"""Every patch relkd_mm applies to upstream code, numbered 1-18.

Two kinds, one function each, each with the reason and the upstream issue
in its docstring:

* :mod:`.stack`: breakages of the pinned OpenMMLab stack on current PyTorch
  and NumPy (1-5): without them nothing imports, loads or resolves a
  ``relkd_mm::`` config path. Patch 4 also makes every checkpoint load
  safe (no full unpickling, whatever the torch version or environment).
* :mod:`.behaviour`: upstream defects that let a run go silently wrong,
  unsafe or fail obscurely, by subject: ``config_errors`` (5's
  ``patch_cfg_path_errors``, 8: arguments and values, 15: ignored
  top-level keys), ``distiller_errors`` (9), ``data_errors`` (10: images,
  13: data sets, 14: channels), ``onnx_export`` (7: torch >= 2.9's
  exporter, for mmdeploy), ``launcher`` (11: ``--launcher pytorch``
  without CUDA), ``checkpoints`` (12: checkpoints a kill or a full disk
  destroys), ``crd_loss`` (16: ``CRDLoss`` ignores its ``loss_weight``),
  ``teacher_evaluation`` (17: the frozen teacher evaluated at every
  validation, a bad teacher found only after training),
  ``state_dict_logger`` (18). The strict-loading patches (6: non-strict
  and random teachers, resumes that change the run) are
  :mod:`relkd_mm.runner.strict_loading_patches` (its resume checks in
  :mod:`relkd_mm.runner.resume_checks`), next to the rules they enforce
  (:mod:`relkd_mm.runner.strict_loading`).

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
    NonFiniteTeacherError, RandomTeacherError, TeacherConflictError,
    patch_strict_checkpoint_loading)
from .behaviour.checkpoints import patch_mmengine_atomic_checkpoints
from .behaviour.config_errors import (ConfigArgumentError, ConfigValueError,
                                      check_config_values,
                                      patch_cfg_path_errors,
                                      patch_registry_argument_errors,
                                      patch_unknown_config_keys,
                                      unknown_config_keys)
from .behaviour.crd_loss import patch_crd_loss_weight
from .behaviour.data_errors import (CorruptImageError, EmptyDatasetError,
                                    patch_dataset_errors,
                                    patch_input_channel_check,
                                    patch_load_image_errors)
from .behaviour.distiller_errors import patch_distiller_errors
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
           'check_config_values',
           'patch_crd_loss_weight', 'patch_teacher_evaluation',
           'patch_load_state_dict_logger',
           'ConfigArgumentError', 'CorruptImageError', 'RandomTeacherError',
           'ResumeConfigError', 'EmptyDatasetError', 'ConfigValueError',
           'NonFiniteTeacherError', 'TeacherConflictError']

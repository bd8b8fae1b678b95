"""The runner of relkd_mm's configs: MMEngine's Runner with strict,
checked checkpoint loading, crash-safe checkpoint files, student-only
distillation checkpoints, the teacher checked before training, a CPU
``--launcher pytorch`` and configuration and data errors that name the key.

A config turns it on with one line (every relkd_mm config has it, through
``configs/_base_/default_runtime.py``)::

    runner_type = 'mmrazor.RelKDRunner'

It is a registered subclass, not a patch: a config without that line runs
MMEngine's :class:`~mmengine.runner.Runner` unchanged, also in a process
that imports relkd_mm. ``tools/train.py`` and ``tools/test.py`` build the
class ``runner_type`` names under their quiet console
(:class:`~relkd_mm.utils.tool_runner.ToolRunner`); other code builds it with
MMEngine's ``RUNNERS.build(cfg)``.
"""
import datetime
import inspect

import torch
from mmengine.dist import is_distributed
from mmengine.fileio import LocalBackend, register_backend
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from mmrazor.models import SingleTeacherDistill
from mmrazor.registry import HOOKS, RUNNERS
from torch.nn.parallel import DistributedDataParallel

from relkd_mm.runner.build_errors import (check_argument_values,
                                          explained_build_errors)
from relkd_mm.runner.checkpoint import atomic_write, latest_intact_checkpoint
from relkd_mm.runner.dataset_errors import (check_not_empty,
                                            explained_dataset_errors)
from relkd_mm.runner.load_checks import check_teacher_loaded, load_checked
from relkd_mm.runner.resume_checks import (check_resume_matches_config,
                                           drop_executable_config,
                                           extend_resumed_schedules)
from relkd_mm.runner.teacher_eval import TeacherCheckHook

#: The file backend :meth:`RelKDRunner.save_checkpoint` writes local
#: checkpoints with.
ATOMIC_BACKEND = 'relkd_mm_atomic_local'


@register_backend(ATOMIC_BACKEND)
class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend whose ``put`` writes a temporary file,
    fsyncs it and renames it over the target
    (:func:`~relkd_mm.runner.checkpoint.atomic_write`).

    Why: mmengine 0.10.7 writes a checkpoint with a plain ``open(path,
    'wb')``: a kill or a full disk during the save leaves a truncated
    ``epoch_N.pth`` that a later ``--resume`` picks and fails on with a bare
    miniz ``failed finding central directory`` or ``EOFError``. Upstream:
    none found. A full disk raises
    :class:`~relkd_mm.runner.checkpoint.CheckpointWriteError` naming the
    work dir, the previous files untouched.
    """

    def put(self, obj, filepath):
        atomic_write(str(filepath), lambda f: f.write(obj))


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@RUNNERS.register_module()
class RelKDRunner(Runner):
    """MMEngine's :class:`~mmengine.runner.Runner` (same arguments) with
    the checks and fixes a distillation run needs, each for an upstream
    defect that lets a run go silently wrong, unsafe or fail obscurely
    (the modules named say why, and which upstream version):

    * ``load_from`` and ``--resume`` load strictly, never leave a
      distiller's teacher random, non-finite or replaced, and refuse a
      resume that changes the optimizer or the schedule
      (:mod:`~relkd_mm.runner.load_checks`,
      :mod:`~relkd_mm.runner.resume_checks`); MMEngine's key mismatch
      report goes to the run's log.
    * checkpoint files are written atomically (:class:`AtomicLocalBackend`)
      and a plain ``--resume`` continues from the newest intact one
      (:func:`~relkd_mm.runner.checkpoint.latest_intact_checkpoint`); a
      distiller's checkpoints omit its frozen teacher
      (``mmrazor.TeacherCheckpointHook`` registered unless the config lists
      one, :mod:`~relkd_mm.runner.teacher_checkpoint`).
    * a teacher with ``teacher_expected_top1`` is evaluated before the
      first iteration (:mod:`~relkd_mm.runner.teacher_eval`).
    * ``--launcher pytorch`` runs without CUDA (gloo, CPU DDP).
    * misspelt arguments, numbers written as strings, negative loss
      weights, zero stds (:mod:`~relkd_mm.runner.build_errors`) and empty
      or missing data sets (:mod:`~relkd_mm.runner.dataset_errors`) fail
      naming the key and the fix.
    """

    def __init__(self, *args, **kwargs):
        # Before anything is built or written: a wrong value fails naming
        # its key, not at the first step (or never).
        arguments = inspect.signature(Runner.__init__).bind(
            self, *args, **kwargs).arguments
        check_argument_values(
            {k: v for k, v in arguments.items() if k not in ('self', 'cfg')},
            arguments.get('default_scope', 'mmengine'))
        self._resuming = False
        self._checks_teacher = False
        with explained_build_errors():
            super().__init__(*args, **kwargs)

    # -- distributed: --launcher pytorch without CUDA.
    def setup_env(self, env_cfg):
        """Without CUDA, start the pytorch launcher's process group with
        gloo and no ``torch.cuda.set_device``, then set up as MMEngine does.

        Why: mmengine 0.10.7's ``_init_dist_pytorch`` calls
        ``torch.cuda.set_device(local_rank)`` unconditionally, which fails
        on a CPU-only torch (``module 'torch._C' has no attribute
        '_cuda_setDevice'``), and the shared runtime's ``backend='nccl'``
        does not exist there. Upstream: no mmengine issue found;
        MMDetection's OpenVINO fork fixed the same in its ``tools/train.py``
        (openvinotoolkit/mmdetection#77).
        """
        dist_cfg = dict(env_cfg.get('dist_cfg', {}))
        if self.distributed and self.launcher == 'pytorch' and \
                dist_cfg.pop('init_backend', 'torch') == 'torch' and \
                not torch.cuda.is_available() and not is_distributed():
            _init_cpu_process_group(**dist_cfg)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg, model):
        """MMEngine's, with ``device_ids=None`` for a CPU DDP wrapper: it
        gives DDP ``device_ids=[LOCAL_RANK]``, which torch refuses for CPU
        modules."""
        if self.distributed and not torch.cuda.is_available():
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
        return super().wrap_model(model_wrapper_cfg, model)

    # -- hooks: student-only checkpoints and the teacher check.
    def register_hooks(self, default_hooks=None, custom_hooks=None):
        """MMEngine's, and a ``TeacherCheckpointHook`` with its defaults for
        a distiller whose config lists none (a listed one, e.g.
        ``save_teacher=True``, is used instead): every epoch's checkpoint
        would otherwise carry a copy of the frozen teacher
        (open-mmlab/mmrazor#157, #594)."""
        super().register_hooks(default_hooks, custom_hooks)
        # By its registered name, as configs name it (the hook's module
        # imports this layer).
        hook = HOOKS.get('TeacherCheckpointHook')
        if isinstance(_unwrap(self.model), SingleTeacherDistill) and \
                not any(isinstance(h, hook) for h in self._hooks):
            self.register_hook(hook())

    def train(self):
        """MMEngine's, with the teacher checked after ``load_from``/resume:
        loaded and finite (:func:`~relkd_mm.runner.load_checks.
        check_teacher_loaded`, whatever hooks the config lists) and, where
        the model sets ``teacher_expected_top1``, scoring what is expected
        (:class:`~relkd_mm.runner.teacher_eval.TeacherCheckHook`, not
        listed in configs, so that configs without the key resolve as
        before)."""
        hook = None
        if getattr(_unwrap(self.model), 'teacher_expected_top1',
                   None) is not None:
            hook = TeacherCheckHook()
            self.register_hook(hook)
        self._checks_teacher = True
        try:
            with explained_build_errors():
                return super().train()
        finally:
            self._checks_teacher = False
            if hook is not None and hook in self._hooks:
                self._hooks.remove(hook)

    def val(self):
        with explained_build_errors():
            return super().val()

    def test(self):
        with explained_build_errors():
            return super().test()

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        """MMEngine's, with the errors of its components explained and an
        empty data set refused (:mod:`~relkd_mm.runner.dataset_errors`)."""
        with explained_build_errors(), explained_dataset_errors():
            loader = Runner.build_dataloader(dataloader, seed, diff_rank_seed)
        check_not_empty(loader.dataset)
        return loader

    # -- checkpoints: strict and checked loading, atomic writing.
    def load_or_resume(self):
        """MMEngine's, but a plain ``--resume`` continues from the newest
        intact checkpoint when the one ``last_checkpoint`` names is damaged
        (:func:`~relkd_mm.runner.checkpoint.latest_intact_checkpoint`), and
        a training run checks its teacher right after loading."""
        if not self._has_loaded and self._resume and self._load_from is None:
            latest = latest_intact_checkpoint(self.work_dir)
            self.logger.info(
                f'Auto resumed from the latest checkpoint {latest}.')
            if latest is not None:
                self.resume(latest)
                self._has_loaded = True
        else:
            super().load_or_resume()
        if self._checks_teacher:
            check_teacher_loaded(self)

    def load_checkpoint(self, filename, map_location='cpu', strict=None,
                        revise_keys=[(r'^module\.', '')]):
        """MMEngine's, strict by default: ``load_from`` checks the
        networks' keys (``load_from_strict=False`` in the config opts out),
        a resume every key and that the config keeps the checkpoint's
        optimizer and schedule (:mod:`~relkd_mm.runner.load_checks`,
        :mod:`~relkd_mm.runner.resume_checks`). An explicit ``strict`` is
        MMEngine's load as it is."""
        if strict is not None:
            return super().load_checkpoint(filename, map_location, strict,
                                           revise_keys)
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
        policy = dict(filename=filename, resume=self._resuming,
                      strict=bool(self.cfg.get('load_from_strict', True)))
        checkpoint = load_checked(_unwrap(self.model), checkpoint, policy,
                                  revise_keys)
        self._has_loaded = True
        self.logger.info(f'Load checkpoint from {filename}')
        if self._resuming:
            drop_executable_config(checkpoint, filename)
            check_resume_matches_config(self, checkpoint, filename)
        return checkpoint

    def resume(self, filename, resume_optimizer=True,
               resume_param_scheduler=True, map_location='default'):
        """MMEngine's, loading through :meth:`load_checkpoint` as a resume,
        then giving a scheduler whose only change is ``end`` (a longer
        ``max_epochs``) the config's, so that the schedule goes on."""
        self._resuming = True
        try:
            super().resume(filename, resume_optimizer,
                           resume_param_scheduler, map_location)
        finally:
            self._resuming = False
        extend_resumed_schedules(self)

    def save_checkpoint(self, out_dir, filename, file_client_args=None,
                        save_optimizer=True, save_param_scheduler=True,
                        meta=None, by_epoch=True, backend_args=None):
        """MMEngine's, a local file written atomically
        (:class:`AtomicLocalBackend`); other backends as configured."""
        if file_client_args is None and '://' not in str(out_dir) and \
                (backend_args or {}).get('backend', 'local') == 'local':
            backend_args = dict(backend_args or {}, backend=ATOMIC_BACKEND)
        return super().save_checkpoint(
            out_dir, filename, file_client_args, save_optimizer,
            save_param_scheduler, meta, by_epoch, backend_args)


def _init_cpu_process_group(backend='nccl', timeout=None, **kwargs):
    """MMEngine's ``init_dist('pytorch', **dist_cfg)`` without CUDA: gloo
    instead of nccl (said on stdout: the logger does not exist yet), no
    ``set_device``."""
    import torch.distributed as dist
    import torch.multiprocessing as mp
    if backend == 'nccl':
        print('relkd_mm: no CUDA on this machine: using the gloo backend '
              'instead of nccl.', flush=True)
        backend = 'gloo'
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    if mp.get_start_method(allow_none=True) is None:
        mp.set_start_method('spawn')
    dist.init_process_group(backend=backend, **kwargs)

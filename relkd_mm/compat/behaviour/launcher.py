"""``--launcher pytorch`` on machines without CUDA (patch 11 of
:mod:`relkd_mm.compat`)."""
import torch

from ..stack import _mark


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

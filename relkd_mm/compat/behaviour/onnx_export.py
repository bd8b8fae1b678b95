"""The TorchScript ONNX exporter as ``torch.onnx.export``'s default again,
for mmdeploy (patch 7 of :mod:`relkd_mm.compat`; applied by
``tools/deploy.py`` only, not by :func:`~relkd_mm.compat.apply_all`)."""
from ..stack import _mark


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

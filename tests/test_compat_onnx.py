"""relkd_mm.compat.patch_onnx_export_default: torch >= 2.9 exports with the
dynamo exporter unless told otherwise; mmdeploy 1.3.1 needs TorchScript's."""
import inspect

import pytest
import torch
import torch.onnx

from relkd_mm import compat

DYNAMO_DEFAULT = inspect.signature(
    torch.onnx.export).parameters.get('dynamo')


@pytest.fixture
def restore_export():
    original = torch.onnx.export
    applied = list(compat.APPLIED)
    yield
    torch.onnx.export = original
    compat.APPLIED[:] = applied


def test_not_applied_on_import():
    import relkd_mm  # noqa: F401
    assert not getattr(torch.onnx.export, '_relkd_mm_patched', False)
    assert 'onnx_export_default' not in compat.apply_all()


def test_default_becomes_torchscript(restore_export, monkeypatch):
    seen = []

    def new_export(model, args=(), f=None, *, dynamo=True, **kwargs):
        """torch >= 2.9's signature: dynamo by default."""
        seen.append(dict(kwargs, dynamo=dynamo))

    monkeypatch.setattr(torch.onnx, 'export', new_export)
    compat.patch_onnx_export_default()
    patched = torch.onnx.export
    assert patched is not new_export
    patched('model', ('x', ), 'f.onnx', opset_version=11)
    patched('model', ('x', ), 'f.onnx', dynamo=True)
    assert seen == [dict(opset_version=11, dynamo=False),
                    dict(dynamo=True)]
    assert compat.APPLIED.count('onnx_export_default') == 1
    compat.patch_onnx_export_default()  # idempotent
    assert torch.onnx.export is patched
    assert compat.APPLIED.count('onnx_export_default') == 1


def test_no_op_when_torchscript_is_default(restore_export, monkeypatch):
    def old_export(model, args=(), f=None, *, dynamo=False, **kwargs):
        return kwargs

    monkeypatch.setattr(torch.onnx, 'export', old_export)
    compat.patch_onnx_export_default()
    assert torch.onnx.export is old_export
    assert 'onnx_export_default' not in compat.APPLIED


@pytest.mark.skipif(DYNAMO_DEFAULT is None or DYNAMO_DEFAULT.default
                    is not True, reason='needs torch >= 2.9')
def test_real_export_without_onnxscript(restore_export, tmp_path):
    """The observed breakage and its fix, on the real exporter."""
    pytest.importorskip('onnx')
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
    x = torch.randn(1, 1, 8, 8)
    try:
        import onnxscript  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match='onnxscript'):
            torch.onnx.export(model, (x, ), str(tmp_path / 'a.onnx'))
    compat.patch_onnx_export_default()
    torch.onnx.export(model, (x, ), str(tmp_path / 'b.onnx'),
                      opset_version=11)
    import onnx
    assert onnx.load(str(tmp_path / 'b.onnx')).opset_import[0].version == 11

# mmdeploy 1.3.1 deploy config: an MMPretrain classifier to ONNX (opset 11,
# the TorchScript exporter) for onnxruntime, with the input shape of the
# image used at export. Used by tools/deploy.py (see docs/deploy.md); the
# wheel of mmdeploy does not ship its own configs.
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=11,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=None,
    optimize=True)
codebase_config = dict(type='mmpretrain', task='Classification')
backend_config = dict(type='onnxruntime')

# As classification_onnxruntime_static.py, with a dynamic batch size and
# image size (onnxruntime accepts any N x C x H x W the network supports).
_base_ = ['./classification_onnxruntime_static.py']
onnx_config = dict(
    dynamic_axes=dict(
        input=dict({
            0: 'batch',
            2: 'height',
            3: 'width'
        }),
        output=dict({0: 'batch'})))

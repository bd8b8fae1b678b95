# resnet8 alone on Fashion-MNIST: the quick start's student without a
# teacher (the shared base's `model` is the distillation: replaced here).
_base_ = [
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime.py',
    './_base_.py',
]
default_hooks = dict(logger=dict(interval=50))
model = dict(_delete_=True, **_base_.student_model)
val_cfg = dict(_delete_=True)

# fmnist-lowdata protocol: VRM (relkd_mm VRMLoss on the logits of the real
# and virtual views). Preset values: docs/tuning.md.
_base_ = ['../quickstart/vrm_wrn-16-2_resnet8_fmnist.py']
# Linear warm-up of the VRM weight (custom_hooks.3; warmup_iters=1: none).
custom_hooks = _base_.custom_hooks + [
    dict(type='mmrazor.DistillWarmupHook', warmup_iters=1)
]
